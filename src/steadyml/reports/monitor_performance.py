"""The monitoring report's performance, segments and fairness sections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from steadyml.reports._charts import (
    PALETTE,
    Charts,
    hline,
    line_trace,
    note_annotation,
    number_or_none,
    plain_text,
)
from steadyml.reports._format import (
    MISSING,
    as_map,
    fmt_diff,
    fmt_int,
    fmt_metric,
    is_better,
    is_number,
    label,
    lower_is_better,
)


def performance_section(
    windows: list[dict[str, Any]],
    axis: list[str],
    result: Mapping[str, Any],
    train: Mapping[str, Any],
    charts: Charts,
) -> dict[str, Any]:
    metric = str(result.get("success_metric") or "")
    perfs = [as_map(w.get("performance")) for w in windows]
    found = [*train, *(k for p in perfs for k in as_map(p.get("metrics")))]
    names = [n for n in dict.fromkeys([metric, *found]) if n and n in found]
    names = [
        n for n in names if all(not isinstance(as_map(p.get("metrics")).get(n), str) for p in perfs)
    ]
    rows = []
    for w, p in zip(windows, perfs, strict=True):
        values = as_map(p.get("metrics"))
        cells = []
        for n in names:
            diff, cls = _compare(values.get(n), train.get(n), is_lower_better(n, result))
            cells.append({"value": fmt_metric(values.get(n)), "diff": diff, "cls": cls})
        has_values = any(is_number(values.get(n)) for n in names)
        rows.append(
            {
                "label": w["_label"],
                "status": str(p.get("status") or "no labels yet"),
                "labelled": fmt_int(p.get("labelled")) if p.get("labelled") is not None else "0",
                "cells": cells if has_values else None,
            }
        )
    waiting = [(a, r["status"]) for a, r in zip(axis, rows, strict=True) if r["cells"] is None]
    figure = _performance_chart(names, metric, perfs, train, axis, waiting, charts)
    training = [fmt_metric(train.get(n)) for n in names]
    return {
        "names": [label(n) for n in names],
        "training": training,
        "rows": rows,
        "figure": figure,
    }


def _performance_chart(
    names: list[str],
    metric: str,
    perfs: list[Mapping[str, Any]],
    train: Mapping[str, Any],
    axis: list[str],
    waiting: list[tuple[str, str]],
    charts: Charts,
) -> Markup | None:
    """Each metric per window with its training score as a dashed line; only the success
    metric shows at first, the others are one click on the legend away."""
    if not any(is_number(as_map(p.get("metrics")).get(metric)) for p in perfs):
        return None
    x = [plain_text(a) for a in axis]
    hover = [f"{fmt_int(p.get('labelled'))} labelled" for p in perfs]
    data = []
    for i, name in enumerate(names):
        y = [number_or_none(as_map(p.get("metrics")).get(name)) for p in perfs]
        style = {"color": PALETTE[i % len(PALETTE)], "width": 3 if name == metric else 2}
        shown: Any = True if name == metric else "legendonly"
        extra = {"visible": shown, "legendgroup": name, "line": style}
        data.append(
            line_trace(label(name), x, y, text=hover, hovertemplate="%{y:.3f}, %{text}", **extra)
        )
        if is_number(train.get(name)):
            dashed = {**extra, "line": {**style, "dash": "dash", "width": 2}, "mode": "lines"}
            flat = [float(train[name])] * len(x)
            data.append(line_trace(f"{label(name)} at training", x, flat, **dashed))
    notes = [
        {
            "x": plain_text(a),
            "y": 0.05,
            "yref": "paper",
            "text": plain_text(why),
            "showarrow": False,
        }
        for a, why in waiting
    ]
    layout = {"annotations": notes, "yaxis": {"title": {"text": label(metric)}}}
    return charts.add(data, layout, height=300)


def segments_section(windows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per segment column: one row per value, one cell per window (the success metric)."""
    segs = [as_map(w.get("segments")) for w in windows]
    out = []
    for column in dict.fromkeys(str(k) for s in segs for k in s):
        values = list(dict.fromkeys(str(v) for s in segs for v in as_map(s.get(column))))
        rows = []
        for value in values:
            cells = []
            for s in segs:
                entry = as_map(as_map(s.get(column)).get(value))
                scores = as_map(entry.get("metrics"))
                score = (
                    scores.get(metric) if metric in scores else next(iter(scores.values()), None)
                )
                n = entry.get("labelled")
                cells.append(
                    {"value": fmt_metric(score), "n": fmt_int(n) if n is not None else None}
                )
            rows.append({"value": value, "cells": cells})
        out.append({"column": column, "rows": rows})
    return out


def fairness_section(
    windows: list[dict[str, Any]], axis: list[str], result: Mapping[str, Any], charts: Charts
) -> dict[str, Any]:
    fair = [as_map(w.get("fairness")) for w in windows]
    train = as_map(as_map(result.get("training")).get("fairness"))
    limit = as_map(result.get("settings")).get("max_fairness_gap")
    attrs = list(dict.fromkeys(str(k) for f in fair for k in f))
    tables = []
    for attr in attrs:
        rows = []
        for w, f in zip(windows, fair, strict=True):
            entry = as_map(f.get(attr))
            groups = as_map(entry.get("groups"))
            gap = entry.get("gap")
            rows.append(
                {
                    "label": w["_label"],
                    "metric": label(entry.get("metric") or MISSING),
                    "groups": " · ".join(f"{g} {fmt_metric(v)}" for g, v in groups.items())
                    or MISSING,
                    "gap": fmt_metric(gap),
                    "over": is_number(gap) and is_number(limit) and gap > limit,
                }
            )
        tables.append(
            {"attr": attr, "training": fmt_metric(as_map(train.get(attr)).get("gap")), "rows": rows}
        )
    figure = None
    x = [plain_text(a) for a in axis]
    lines = [
        line_trace(a, x, [number_or_none(as_map(f.get(a)).get("gap")) for f in fair]) for a in attrs
    ]
    if any(v is not None for trace in lines for v in trace["y"]):
        layout: dict[str, Any] = {"yaxis": {"title": {"text": "fairness gap"}}}
        if is_number(limit):
            layout["shapes"] = [hline(float(limit), "#cf222e")]
            layout["annotations"] = [note_annotation(f"limit {fmt_metric(limit)}", float(limit))]
        figure = charts.add(lines, layout, height=260)
    return {
        "tables": tables,
        "figure": figure,
        "limit": fmt_metric(limit),
        "has_limit": is_number(limit),
    }


def _compare(value: Any, reference: Any, lower: bool) -> tuple[str, str]:
    """(difference text, css class): red when the value is worse than the reference."""
    if not (is_number(value) and is_number(reference)):
        return MISSING, ""
    beats = is_better(value, reference, lower)
    return fmt_diff(value - reference), "" if beats is None else ("good" if beats else "bad")


def is_lower_better(name: str, result: Mapping[str, Any]) -> bool:
    if name and name == result.get("success_metric") and "higher_is_better" in result:
        return result.get("higher_is_better") is False
    return lower_is_better(name)
