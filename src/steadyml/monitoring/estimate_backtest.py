"""The back-test: each window's estimate stored beside its realised value, and how they did.

``record_backtest`` stores, for every window of a monitor result that was estimated, each
estimated metric (``store.estimates``): the estimate made before labels, and the realised
value once the window's labels are in. It returns the block the monitor shows: per metric,
how many windows have both, the mean and largest |estimated - realised|, and the share of
intervals that held the realised value (their coverage; nominal 95 %), with the series over
time for the success metric.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from steadyml.store.estimates import EstimateRecord, PerformanceEstimate, estimates_of

__all__ = ["backtest_records", "backtest_summary", "distinct_spans", "record_backtest"]

SERIES_WINDOWS = 60  # the success metric's last windows shown over time


def backtest_records(result: Mapping[str, Any]) -> list[EstimateRecord]:
    """The estimates (and realised values) of ``result``'s windows, ready to store."""
    out: list[EstimateRecord] = []
    version = result.get("model_version")
    if version is None:
        return out
    for window in result.get("windows", []):
        est = window.get("estimate") or {}
        if est.get("status") != "ok":
            continue
        realised = est.get("realised") or {}
        for name, block in (est.get("metrics") or {}).items():
            if block.get("value") is None:
                continue
            out.append(
                EstimateRecord(
                    model_version=int(version),
                    window=str(result.get("window")),
                    window_start=dt.datetime.fromisoformat(window["start"]),
                    window_end=dt.datetime.fromisoformat(window["end"]),
                    metric=name,
                    estimated=float(block["value"]),
                    lower=block.get("lower"),
                    upper=block.get("upper"),
                    method=block.get("interval"),
                    reliable=bool(est.get("reliable")),
                    rows=int(est.get("rows") or 0),
                    problems=list(est.get("problems") or []),
                    realised=realised.get(name),
                    labelled=est.get("labelled") if name in realised else None,
                )
            )
    return out


def backtest_summary(pairs: list[PerformanceEstimate], success: str | None) -> dict[str, Any]:
    """Per metric: windows estimated, windows realised, mean and largest error, coverage;
    and the success metric's series (oldest first)."""
    metrics: dict[str, Any] = {}
    pairs = distinct_spans(pairs)
    for name in dict.fromkeys(p.metric for p in pairs):
        mine = [p for p in pairs if p.metric == name]
        done = [p for p in mine if p.realised is not None]
        errors = [p.error for p in done if p.error is not None]
        held = [p.covered for p in done if p.covered is not None]
        metrics[name] = {
            "estimated": len(mine),
            "realised": len(done),
            "mean_error": sum(errors) / len(errors) if errors else None,
            "max_error": max(errors) if errors else None,
            "coverage": sum(held) / len(held) if held else None,
            "reliable_coverage": _coverage([p for p in done if p.reliable]),
        }
    shown = success if success in metrics else next(iter(metrics), None)
    series = [p.to_dict() for p in pairs if p.metric == shown][-SERIES_WINDOWS:]
    return {"metric": shown, "metrics": metrics, "series": series, "nominal_coverage": 0.95}


def distinct_spans(pairs: list[PerformanceEstimate]) -> list[PerformanceEstimate]:
    """Per metric, the stored windows that do not overlap a newer one (oldest first).
    Monitor runs with a moving start (``--since 7d`` run again tomorrow) store windows that
    cover the same predictions again; each would count in the back-test as a window of its
    own, its miss or hit counted twice. The newest of overlapping windows is kept: it was
    measured with the most labels."""
    kept: dict[tuple[str, str], PerformanceEstimate] = {}  # the last kept, per metric
    out: list[PerformanceEstimate] = []
    newest_first = sorted(pairs, key=lambda p: (p.window_end, p.estimated_at), reverse=True)
    for p in newest_first:
        last = kept.get((p.metric, p.window))
        if last is not None and p.window_end > last.window_start:
            continue  # ends inside the newer window kept last (equal lengths): overlaps it
        kept[(p.metric, p.window)] = p
        out.append(p)
    return out[::-1]


def _coverage(done: list[PerformanceEstimate]) -> float | None:
    held = [p.covered for p in done if p.covered is not None]
    return sum(held) / len(held) if held else None


def record_backtest(store: Any, result: Mapping[str, Any]) -> dict[str, Any]:
    """Store ``result``'s estimates and realised values; the back-test block for it."""
    repo = estimates_of(store)
    repo.record_estimates(backtest_records(result))
    version = result.get("model_version")
    pairs = repo.list_estimates(model_version=version, window=str(result.get("window")))
    windows = result.get("windows") or []
    success = next(
        (w["estimate"].get("success_metric") for w in windows
         if (w.get("estimate") or {}).get("status") == "ok"),
        result.get("success_metric"),
    )  # fmt: skip
    return backtest_summary(pairs, success)
