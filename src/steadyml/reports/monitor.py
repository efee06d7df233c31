"""Render the monitoring report: one self-contained HTML page that shows how a model in use
is doing, window by window: traffic, data quality, drift, performance, segments, fairness
and alerts.

    from steadyml.reports import render_monitor_report
    Path("monitor.html").write_text(render_monitor_report(result), encoding="utf-8")

The monitor builds the ``result`` mapping; this module only turns it into a page. Charts are
Plotly figures with Plotly's JavaScript inlined once, so the page works opened from disk
with no network. Any value may be missing: a gap shows as a dash or a plain sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from steadyml.reports._charts import COLORS, Charts, line_trace, number_or_none, plain_text
from steadyml.reports._format import (
    MISSING,
    as_list,
    as_map,
    first_few,
    fmt_date,
    fmt_int,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    fmt_value,
    is_number,
    label,
)
from steadyml.reports._templates import environment, sections
from steadyml.reports.monitor_drift import drift_section
from steadyml.reports.monitor_estimate import estimate_section
from steadyml.reports.monitor_performance import (
    fairness_section,
    is_lower_better,
    performance_section,
    segments_section,
)

__all__ = ["MONITOR_SECTIONS", "render_monitor_report"]

# (anchor, heading, the one sentence that tells a beginner what the section is for)
MONITOR_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("summary", "Summary", "The period covered, the alerts to act on, and one line per window."),
    (
        "system",
        "System over time",
        "How many predictions were made, how fast, and how many failed.",
    ),
    (
        "quality",
        "Data quality",
        "Whether the incoming rows look like valid input: missing values, new categories, "
        "values outside the training range.",
    ),
    (
        "drift",
        "Drift",
        "Whether the incoming data looks different from the training data. Drift does not "
        "prove the model is worse, but it is the first warning that it might be.",
    ),
    (
        "performance",
        "Performance",
        "How good the predictions were once the real answers (labels) came in, next to the "
        "score the model had at training time.",
    ),
    (
        "estimate",
        "Estimated performance",
        "Before the labels come: the model's metrics estimated from its calibrated scores, "
        "with a 95 % interval and the checks the estimate rests on; once labels arrive, each "
        "estimate beside the realised value.",
    ),
    (
        "segments",
        "Segments and fairness",
        "Scores for slices of the data and for groups of people, because a good average can "
        "hide a group where the model fails.",
    ),
    ("alerts", "Alerts", "Every alert raised in the period, with who did what about it."),
)

_SEVERITY = {"critical": 0, "warning": 1, "info": 2}

_STATUS = {"open": 0, "acknowledged": 1, "resolved": 2}

_ROUTES = ("live", "batch", "canary", "shadow")


def render_monitor_report(result: Mapping[str, Any]) -> str:
    """The monitoring result as one self-contained HTML page (Plotly inlined once, no links)."""
    if not isinstance(result, Mapping):
        raise TypeError(f"result must be a mapping. Got {type(result).__name__} instead.")
    charts = Charts()
    view = _build(result, charts)
    plotly_js = Markup("")
    if charts.count:
        from plotly.offline import get_plotlyjs

        plotly_js = Markup(get_plotlyjs())
    template = environment("html").get_template("monitor.html.j2")
    return template.render(m=view, sections=sections(MONITOR_SECTIONS), plotly_js=plotly_js)


def _build(result: Mapping[str, Any], charts: Charts) -> dict[str, Any]:
    windows = [dict(as_map(w)) for w in as_list(result.get("windows"))]
    for w in windows:
        start, end = (
            fmt_date(w.get("start"), with_time=False),
            fmt_date(w.get("end"), with_time=False),
        )
        w["_label"] = str(w.get("label") or f"{start} to {end}")
    axis = _axis_labels(windows)
    settings = as_map(result.get("settings"))
    alerts = _alerts(as_list(result.get("alerts")), windows)
    live = [a for a in alerts if a["status"] != "resolved"]
    metric = str(result.get("success_metric") or "")
    train = as_map(as_map(result.get("training")).get("metrics"))
    drift = drift_section(windows, axis, charts)
    volumes = [as_map(w.get("system")).get("volume") for w in windows]
    labelled = [as_map(w.get("performance")).get("labelled") for w in windows]
    version = result.get("model_version")
    return {
        "project": fmt_value(result.get("project") or "model"),
        "version": f"v{version}" if version is not None else "no version recorded",
        "generated": fmt_date(result.get("generated_at")),
        "period": f"{fmt_date(result.get('since'))} to {fmt_date(result.get('until'))}",
        "window": fmt_value(result.get("window")),
        "time_basis": _time_basis(result.get("time_basis")),
        "metric": label(metric) if metric else MISSING,
        "metric_training": fmt_metric(train.get(metric)),
        "lower": is_lower_better(metric, result),
        "n_windows": len(windows),
        "predictions": fmt_int(sum(v for v in volumes if is_number(v))),
        "labelled": fmt_int(sum(v for v in labelled if is_number(v))),
        "open": [a for a in alerts if a["status"] == "open"],
        "closed": {s: sum(a["status"] == s for a in alerts) for s in ("acknowledged", "resolved")},
        "verdicts": [_verdict(w, metric, train, live) for w in windows],
        "system": _system(windows, axis, charts),
        "quality": _quality(windows),
        "drift": drift,
        "settings": _settings(settings),
        "performance": performance_section(windows, axis, result, train, charts),
        "estimate": estimate_section(windows, axis, result, charts),
        "segments": segments_section(windows, metric),
        "fairness": fairness_section(windows, axis, result, charts),
        "alerts": alerts,
    }


def _axis_labels(windows: list[dict[str, Any]]) -> list[str]:
    """Short, unique x-axis labels: the start date, or date and time if dates repeat."""
    labels = [fmt_date(w.get("start"), with_time=False) for w in windows]
    if len(set(labels)) < len(labels):
        labels = [fmt_date(w.get("start")) for w in windows]
    if len(set(labels)) < len(labels):
        labels = [f"{i}. {x}" for i, x in enumerate(labels, 1)]
    return labels


def _time_basis(value: Any) -> str:
    text = str(value or "logged")
    if text.startswith("event:"):
        return f"the event time in column '{text.removeprefix('event:')}'"
    return "the time each prediction was logged"


def _settings(settings: Mapping[str, Any]) -> dict[str, str]:
    return {
        key: fmt_int(settings.get(key))
        if key in ("min_samples", "large_sample")
        else fmt_metric(settings.get(key))
        for key in ("p_value", "distance", "psi", "min_samples", "large_sample", "max_fairness_gap")
    }


def _verdict(
    w: Mapping[str, Any], metric: str, train: Mapping[str, Any], alerts: list[dict[str, Any]]
) -> dict[str, Any]:
    """One line per window; red for drift or an unresolved critical alert in that window."""
    parts, level = [], "ok"
    volume = as_map(w.get("system")).get("volume")
    if is_number(volume) and volume == 0:
        parts.append("no predictions")
    drift = as_map(w.get("drift"))
    drifted = [str(x) for x in as_list(drift.get("drifted"))]
    if drifted:
        names = first_few(drifted, 3)
        parts.append(f"{len(drifted)} feature{'s' if len(drifted) != 1 else ''} drifted ({names})")
        level = "bad"
    elif as_list(drift.get("features")):
        parts.append("no drift")
    if as_map(drift.get("prediction")).get("status") == "drift":
        parts.append("predictions drifted")
        level = "bad"
    features = map(as_map, as_list(as_map(w.get("quality")).get("features")))
    warnings = [f for f in features if _flag(f)]
    if warnings:
        parts.append(f"{len(warnings)} data quality warning{'s' if len(warnings) != 1 else ''}")
        level = "bad" if level == "bad" else "warn"
    perf = as_map(w.get("performance"))
    value = as_map(perf.get("metrics")).get(metric)
    if is_number(value):
        text = f"{label(metric)} {fmt_metric(value)}"
        if is_number(train.get(metric)):
            text += f" (training {fmt_metric(train[metric])})"
        parts.append(text)
    else:
        parts.append(str(perf.get("status") or "no labels yet"))
    raised = {a["severity"] for a in alerts if a["start"] == str(w.get("start"))}
    if raised - {"warning", "info"}:
        level = "bad"
    elif raised and level == "ok":
        level = "warn"
    return {"label": w["_label"], "text": ", ".join(parts), "level": level}


def _flag(row: Mapping[str, Any]) -> bool:
    return str(row.get("status") or "ok") != "ok"


def _system(windows: list[dict[str, Any]], axis: list[str], charts: Charts) -> dict[str, Any]:
    systems = [as_map(w.get("system")) for w in windows]
    seen = {str(k) for s in systems for k in as_map(s.get("by_route"))}
    routes = [r for r in (*_ROUTES, *sorted(seen - set(_ROUTES))) if r in seen]
    rows = []
    for w, s in zip(windows, systems, strict=True):
        latency, by_route = as_map(s.get("latency_ms")), as_map(s.get("by_route"))
        rows.append(
            {
                "label": w["_label"],
                "volume": fmt_int(s.get("volume")),
                "routes": [fmt_int(by_route.get(r)) for r in routes],
                "latency": [fmt_ms(latency.get(p)) for p in ("p50", "p95", "p99")],
                "error": fmt_pct(s.get("error_rate"), 1),
                "fallback": fmt_pct(s.get("fallback_rate"), 1),
            }
        )
    figures = []
    if any(s for s in systems):
        x = [plain_text(a) for a in axis]
        bars = [
            {
                "type": "bar",
                "name": plain_text(r),
                "x": x,
                "y": [number_or_none(as_map(s.get("by_route")).get(r)) for s in systems],
                "marker": {"color": COLORS.get(r, "#6e7781")},
            }
            for r in routes
        ] or [
            {
                "type": "bar",
                "name": "predictions",
                "x": x,
                "y": [number_or_none(s.get("volume")) for s in systems],
            }
        ]
        figures.append(
            charts.add(bars, {"barmode": "stack", "yaxis": {"title": {"text": "predictions"}}})
        )
        lat = [as_map(s.get("latency_ms")) for s in systems]
        if any(is_number(v) for m in lat for v in m.values()):
            lines = [
                line_trace(p, x, [number_or_none(m.get(p)) for m in lat])
                for p in ("p50", "p95", "p99")
            ]
            figures.append(charts.add(lines, {"yaxis": {"title": {"text": "latency (ms)"}}}))
        rates = [
            line_trace(name, x, [number_or_none(s.get(key)) for s in systems])
            for name, key in (("error rate", "error_rate"), ("fallback rate", "fallback_rate"))
        ]
        figures.append(
            charts.add(rates, {"yaxis": {"title": {"text": "share"}, "tickformat": ".1%"}})
        )
    return {"routes": routes, "rows": rows, "figures": figures}


def _quality(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for w in windows:
        quality = as_map(w.get("quality"))
        rows: list[dict[str, Any]] = []
        for f in map(as_map, as_list(quality.get("features"))):
            unseen = [str(c) for c in as_list(f.get("unseen_categories"))]
            rows.append(
                {
                    "name": fmt_value(f.get("feature")),
                    "missing": fmt_pct(f.get("missing_rate"), 1),
                    "reference": fmt_pct(f.get("reference_missing_rate"), 1),
                    "unseen": first_few(unseen, 5) if unseen else "none",
                    "unseen_rate": fmt_pct(f.get("unseen_rate"), 1),
                    "out_of_range": fmt_pct(f.get("out_of_range_rate"), 1),
                    "status": str(f.get("status") or "ok"),
                    "flag": _flag(f),
                    "message": str(f.get("message") or ""),
                }
            )
        repaired = quality.get("text_repaired")
        if is_number(repaired) and repaired:
            rows.append(_repaired_row(int(repaired)))
        out.append(
            {
                "label": w["_label"],
                "rows": rows,
                "n_rows": fmt_int(quality.get("rows")),
                "violations": fmt_pct(quality.get("contract_violation_rate"), 1),
                "warnings": sum(r["flag"] for r in rows),
            }
        )
    return out


def _repaired_row(count: int) -> dict[str, Any]:
    """A quality row for logged text that could not be read as it was stored."""
    rows = f"{count:,} row{'s' if count != 1 else ''}"
    return {
        "name": "(logged text)",
        "missing": MISSING,
        "reference": MISSING,
        "unseen": "none",
        "unseen_rate": MISSING,
        "out_of_range": MISSING,
        "status": "warning",
        "flag": True,
        "message": f"{rows} held characters no text can (a lone surrogate such as \\ud800): "
        "they are shown as backslash escapes. Find the client that sends them.",
    }


def _alerts(alerts: list[Any], windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts as the page shows them: open first, then acknowledged, then resolved."""
    labels = {str(w.get("start")): w["_label"] for w in windows}
    out: list[dict[str, Any]] = []
    order: list[tuple[int, int, str]] = []
    for a in map(as_map, alerts):
        severity, status = str(a.get("severity") or "warning"), str(a.get("status") or "open")
        start = str(a.get("window_start"))
        window = labels.get(start) or (
            f"{fmt_date(a.get('window_start'), with_time=False)} to "
            f"{fmt_date(a.get('window_end'), with_time=False)}"
        )
        value = fmt_metric(a.get("value"))
        if is_number(a.get("threshold")):
            value += f" {a.get('comparison') or 'vs'} {fmt_metric(a.get('threshold'))}"
        out.append(
            {
                "id": fmt_value(a.get("id")),
                "start": start,
                "rule": str(a.get("rule") or a.get("metric") or "alert"),
                "severity": severity,
                "status": status,
                "subject": str(a.get("subject")) if a.get("subject") else None,
                "metric": label(a.get("metric") or MISSING),
                "value": value,
                "window": window,
                "owner": fmt_value(a.get("owner")),
                "message": str(a.get("message") or ""),
                "next_step": str(a.get("next_step") or ""),
                "first_seen": fmt_date(a.get("first_seen")),
                "last_seen": fmt_date(a.get("last_seen")),
                "times_seen": fmt_int(a.get("times_seen")),
                "history": [
                    {
                        "at": fmt_date(h.get("at")),
                        "event": fmt_value(h.get("event")),
                        "by": fmt_value(h.get("by")),
                        "note": fmt_value(h.get("note")),
                    }
                    for h in map(as_map, as_list(a.get("history")))
                ],
            }
        )
        order.append((_STATUS.get(status, 3), _SEVERITY.get(severity, 3), str(a.get("last_seen"))))
    ranked = sorted(zip(order, out, strict=True), key=lambda p: p[0][2], reverse=True)
    ranked.sort(key=lambda p: p[0][:2])  # open first, then the most severe; stable
    return [alert for _, alert in ranked]
