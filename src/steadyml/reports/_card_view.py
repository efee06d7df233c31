"""Turn the registry's card mapping into what the templates show: formatted strings, flags.

Everything here is tolerant of gaps (None, empty lists, odd values): a missing value becomes
an em dash rather than an error, because a card with holes is still worth reading.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from steadyml.reports._format import (
    MISSING,
    as_list,
    as_map,
    fmt_bytes,
    fmt_date,
    fmt_diff,
    fmt_int,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    fmt_value,
    is_better,
    is_number,
    is_scalar,
    label,
    lower_is_better,
    short_hash,
)

__all__ = ["build_view"]

_SKIP_METRICS = {"confusion_matrix", "threshold"}
_VERDICTS = {
    True: "meets the target",
    False: "does not meet the target",
    None: "cannot be checked yet (no score or target recorded)",
}
_OWNER_ROLES = (
    ("model", "Model owner", "keeps the model accurate and decides when to retrain"),
    ("deployment", "Deployment owner", "keeps the prediction service or batch job running"),
    ("monitoring", "Monitoring owner", "watches the alerts and makes the first response"),
    ("release_approver", "Release approver", "approves each new version before it goes live"),
)


def build_view(card: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the templates show, already formatted as strings (and a few flags)."""
    if not isinstance(card, Mapping):
        raise TypeError(f"card must be a mapping. Got {type(card).__name__} instead.")
    project, model, data = (
        as_map(card.get("project")),
        as_map(card.get("model")),
        as_map(card.get("data")),
    )
    metrics = as_map(card.get("metrics"))
    primary = str(metrics.get("primary") or "")
    version = model.get("version")
    return {
        "name": project.get("name") or "model",
        "version": fmt_value(version),
        "stage": str(model.get("stage") or "none"),
        "stage_class": re.sub(r"[^a-z0-9]+", "-", str(model.get("stage") or "none").lower()),
        "purpose": _purpose(project, as_map(metrics.get("model"))),
        "owners": _owners(as_map(card.get("owners"))),
        "data": _data(data),
        "features": _features(card),
        "performance": _performance(metrics, model.get("task")),
        "gates": _gates(as_map(card.get("gates")), as_map(card.get("decision"))),
        "segments": _segments(as_map(card.get("segments")), primary),
        "fairness": _fairness(as_map(card.get("fairness")), primary),
        "limitations": _limitations(card, data, model),
        "history": _history(as_list(card.get("history")), version),
        "events": _events(as_list(card.get("events"))),
        "technical": _technical(model, as_map(card.get("latency"))),
    }


def _purpose(project: Mapping[str, Any], model_metrics: Mapping[str, Any]) -> dict[str, Any]:
    success = as_map(project.get("success_metric"))
    name = str(success.get("name") or "")
    threshold, value = success.get("threshold"), model_metrics.get(name)
    lower = lower_is_better(name, success.get("direction"))
    meets: bool | None = None
    if is_number(threshold) and is_number(value):
        meets = value <= threshold if lower else value >= threshold
    target = MISSING
    if name:
        target = f"{label(name)} {'at most' if lower else 'at least'} {fmt_metric(threshold)}"
    return {
        "problem": fmt_value(project.get("problem")),
        "target": fmt_value(project.get("prediction_target")),
        "users": fmt_value(project.get("users")),
        "mode": fmt_value(project.get("mode")),
        "mode_reason": fmt_value(project.get("mode_reason"))
        if project.get("mode_reason")
        else None,
        "success": target,
        "value": fmt_metric(value),
        "meets": meets,
        "verdict": _VERDICTS[meets],
    }


def _owners(owners: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "role": role,
            "duty": duty,
            "name": fmt_value(owners.get(key)),
            "named": bool(owners.get(key)),
        }
        for key, role, duty in _OWNER_ROLES
    ]


def _data(data: Mapping[str, Any]) -> dict[str, Any]:
    split = as_map(data.get("split"))
    known = {"method", "test_size", "seed", "train_rows", "test_rows"}
    extra = [(label(k), fmt_value(v)) for k, v in split.items() if k not in known and is_scalar(v)]
    test_size = split.get("test_size")
    return {
        "version": fmt_value(data.get("version")),
        "hash": short_hash(data.get("content_hash")),
        "rows": fmt_int(data.get("rows")),
        "columns": fmt_int(data.get("columns")),
        "source": fmt_value(data.get("source")),
        "method": fmt_value(split.get("method")),
        "test_size": fmt_pct(test_size)
        if is_number(test_size) and test_size < 1
        else fmt_int(test_size),
        "seed": fmt_value(split.get("seed")),
        "train_rows": fmt_int(split.get("train_rows")),
        "test_rows": fmt_int(split.get("test_rows")),
        "split_extra": extra,
    }


def _features(card: Mapping[str, Any]) -> dict[str, Any]:
    used = [
        {"name": fmt_value(f.get("name")), "role": fmt_value(f.get("role"))}
        for f in map(as_map, as_list(card.get("features")))
    ]
    excluded = [
        {
            "name": fmt_value(f.get("name")),
            "role": fmt_value(f.get("role")),
            "reason": fmt_value(f.get("reason")),
        }
        for f in map(as_map, as_list(card.get("excluded")))
    ]
    sensitive = [f["name"] for f in excluded if "sensitive" in f["role"].lower()]
    return {"used": used, "excluded": excluded, "sensitive": sensitive}


def _performance(metrics: Mapping[str, Any], task: Any) -> dict[str, Any]:
    model, baseline = as_map(metrics.get("model")), as_map(metrics.get("baseline"))
    primary, direction = str(metrics.get("primary") or ""), metrics.get("direction")
    names = [n for n in dict.fromkeys([primary, *model, *baseline]) if n and n not in _SKIP_METRICS]
    rows = []
    for name in names:
        mine, base = model.get(name), baseline.get(name)
        if name not in model and name not in baseline:
            continue
        if not (is_scalar(mine) and is_scalar(base)) or isinstance(mine, bool | str):
            continue
        is_primary = name == primary
        lower = lower_is_better(name, direction if is_primary else None)
        better = None
        if is_number(mine) and is_number(base):
            beats = is_better(mine, base, lower)
            better = "same" if beats is None else ("model" if beats else "baseline")
        rows.append(
            {
                "name": label(name),
                "primary": is_primary,
                "model": fmt_metric(mine),
                "baseline": fmt_metric(base),
                "diff": fmt_diff(mine - base) if is_number(mine) and is_number(base) else MISSING,
                "better": better,
                "lower": lower,
                "bars": _bars(mine, base),
            }
        )
    threshold = model.get("threshold")
    return {
        "rows": rows,
        "primary": label(primary) if primary else MISSING,
        "lower": lower_is_better(primary, direction),
        "threshold": fmt_metric(threshold) if is_number(threshold) else None,
        "confusion": _confusion(model.get("confusion_matrix")),
        "classification": task == "classification",
    }


def _bars(mine: Any, base: Any) -> dict[str, float] | None:
    if not (is_number(mine) and is_number(base)) or min(mine, base) < 0:
        return None
    top = max(mine, base, 1.0) if max(mine, base) <= 1 else max(mine, base)
    return {"model": round(100 * mine / top, 1), "baseline": round(100 * base / top, 1)}


def _confusion(value: Any) -> dict[str, Any] | None:
    cm = as_map(value)
    labels, matrix = as_list(cm.get("labels")), [as_list(r) for r in as_list(cm.get("matrix"))]
    if not labels or len(matrix) != len(labels) or any(len(r) != len(labels) for r in matrix):
        return None
    cells = [c for r in matrix for c in r]
    if not all(is_number(c) for c in cells):
        return None
    total = sum(cells)
    correct = sum(matrix[i][i] for i in range(len(labels)))
    return {
        "labels": [fmt_value(x) for x in labels],
        "rows": [
            {
                "label": fmt_value(labels[i]),
                "cells": [{"count": fmt_int(c), "hit": i == j} for j, c in enumerate(r)],
            }
            for i, r in enumerate(matrix)
        ],
        "total": fmt_int(total),
        "correct": fmt_pct(correct / total, 1) if total else MISSING,
    }


def _gates(gates: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    checks = [
        {
            "name": label(c.get("name") or MISSING),
            "passed": bool(c.get("passed")),
            "value": fmt_value(c.get("value")) if is_scalar(c.get("value")) else MISSING,
            "threshold": fmt_value(c.get("threshold"))
            if is_scalar(c.get("threshold"))
            else MISSING,
            "message": fmt_value(c.get("message")),
        }
        for c in map(as_map, as_list(gates.get("checks")))
    ]
    failed = sum(not c["passed"] for c in checks)
    outcome = decision.get("outcome")  # a retrain's decision against the champion (issue 13)
    checks += [
        {
            "name": f"Retrain decision {outcome}: {c.get('name')}",
            "passed": c.get("verdict") in ("pass", "info"),
            "value": fmt_value(c.get("verdict")),
            "threshold": MISSING,
            "message": fmt_value(c.get("sentence")),
        }
        for c in map(as_map, as_list(decision.get("checks")))
    ]
    return {"passed": bool(gates.get("passed")), "checks": checks, "failed": failed}


def _group_table(groups: Mapping[str, Any], primary: str) -> dict[str, Any]:
    """Rows for a {group: {"n", "too_few", metric...}} mapping, one column per metric."""
    names: dict[str, None] = {}
    for stats in map(as_map, groups.values()):
        names.update(
            {
                k: None
                for k, v in stats.items()
                if k not in ("n", "too_few") and is_scalar(v) and not isinstance(v, bool | str)
            }
        )
    ordered = sorted(names, key=lambda n: n != primary)
    rows = [
        {
            "group": fmt_value(group),
            "n": fmt_int(as_map(stats).get("n")),
            "too_few": bool(as_map(stats).get("too_few")),
            "scores": [fmt_metric(as_map(stats).get(n)) for n in ordered],
        }
        for group, stats in groups.items()
    ]
    return {
        "metrics": [label(n) for n in ordered],
        "rows": rows,
        "primary_first": bool(ordered) and ordered[0] == primary,
    }


def _segments(segments: Mapping[str, Any], primary: str) -> list[dict[str, Any]]:
    return [
        {"column": fmt_value(col), **_group_table(as_map(groups), primary)}
        for col, groups in segments.items()
    ]


def _fairness(fairness: Mapping[str, Any], primary: str) -> list[dict[str, Any]]:
    columns = []
    for col, result in fairness.items():
        result = as_map(result)
        extra = [
            (label(k), fmt_metric(v))
            for k, v in result.items()
            if k not in ("groups", "gap") and is_scalar(v)
        ]
        columns.append(
            {
                "column": fmt_value(col),
                "gap": fmt_metric(result.get("gap")),
                "extra": extra,
                **_group_table(as_map(result.get("groups")), primary),
            }
        )
    return columns


def _limitations(
    card: Mapping[str, Any], data: Mapping[str, Any], model: Mapping[str, Any]
) -> dict[str, Any]:
    recorded = [fmt_value(x) for x in as_list(card.get("limitations")) if x]
    when = data.get("created_at") or model.get("created_at")
    up_to = f" up to {fmt_date(when, with_time=False)}" if when else ""
    rows = f" ({fmt_int(data.get('rows'))} rows)" if data.get("rows") is not None else ""
    standing = (
        f"Trained on data version {fmt_value(data.get('version'))}{up_to}{rows}; "
        "it has not seen data after that."
    )
    return {"recorded": recorded, "standing": standing}


def _history(history: list[Any], current: Any) -> list[dict[str, Any]]:
    return [
        {
            "version": fmt_value(h.get("version")),
            "stage": fmt_value(h.get("stage")),
            "created": fmt_date(h.get("created_at")),
            "metric": fmt_metric(h.get("primary_metric")),
            "current": h.get("version") == current,
        }
        for h in map(as_map, history)
    ]


def _version(v: Any) -> str:
    return MISSING if v is None else f"v{v}"


def _events(events: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "at": fmt_date(e.get("at")),
            "action": fmt_value(e.get("action")),
            "change": f"{_version(e.get('from_version'))} → {_version(e.get('to_version'))}",
            "by": fmt_value(e.get("by")),
            "reason": fmt_value(e.get("reason")),
        }
        for e in map(as_map, events)
    ]


def _technical(model: Mapping[str, Any], latency: Mapping[str, Any]) -> dict[str, Any]:
    commit, dirty = model.get("code_commit"), bool(model.get("code_dirty"))
    code = short_hash(commit) + (" (with uncommitted changes)" if commit and dirty else "")
    warning = None
    if not commit:
        warning = "No code commit was recorded, so the exact training code cannot be traced."
    elif dirty:
        warning = (
            "The code had uncommitted changes when this model was trained, so the "
            "commit alone cannot rebuild it exactly."
        )
    rows = [
        ("Model type", fmt_value(model.get("model_type"))),
        ("Task", fmt_value(model.get("task"))),
        ("Created", f"{fmt_date(model.get('created_at'))} by {fmt_value(model.get('created_by'))}"),
        ("Training run", fmt_value(model.get("run_id"))),
        ("Model digest (SHA-256)", fmt_value(model.get("digest"))),
        ("Model file size", fmt_bytes(model.get("size_bytes"))),
        ("Code commit", code),
        ("Latency, one row", fmt_ms(latency.get("one_row_ms"))),
        ("Latency, 1,000 rows", fmt_ms(latency.get("thousand_rows_ms"))),
    ]
    return {"rows": rows, "warning": warning}
