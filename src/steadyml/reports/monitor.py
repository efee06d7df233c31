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

import html
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from steadyml.reports._format import (
    MISSING,
    fmt_date,
    fmt_diff,
    fmt_int,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    fmt_value,
    is_number,
    label,
)
from steadyml.reports._view import _list, _lower_is_better, _map
from steadyml.reports.card import _environment

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
_COLORS = {
    "live": "#0b5cad",
    "batch": "#8250df",
    "canary": "#bf8700",
    "shadow": "#8c959f",
    "reference": "#afb8c1",
    "current": "#0b5cad",
}
_TESTS = {
    "ks": "KS test",
    "chi_square": "chi-square test",
    "wasserstein": "Wasserstein distance",
    "jensen_shannon": "Jensen-Shannon distance",
}
_PALETTE = ("#0b5cad", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#57606a")
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif'
_AXIS = {"gridcolor": "#eaeef2", "linecolor": "#d1d9e0", "zerolinecolor": "#d1d9e0"}
_XAXIS = {**_AXIS, "type": "category"}  # window labels, not dates for Plotly to re-space
_CONFIG = {"displaylogo": False, "responsive": True}


def render_monitor_report(result: Mapping[str, Any]) -> str:
    """The monitoring result as one self-contained HTML page (Plotly inlined once, no links)."""
    if not isinstance(result, Mapping):
        raise TypeError(f"result must be a mapping. Got {type(result).__name__} instead.")
    charts = _Charts()
    view = _build(result, charts)
    plotly_js = Markup("")
    if charts.count:
        from plotly.offline import get_plotlyjs

        plotly_js = Markup(get_plotlyjs())
    sections = {key: {"id": key, "title": t, "intro": i} for key, t, i in MONITOR_SECTIONS}
    template = _environment("html").get_template("monitor.html.j2")
    return template.render(m=view, sections=sections, plotly_js=plotly_js)


class _Charts:
    """Turns Plotly figure specs into HTML snippets with stable ids, and counts them."""

    def __init__(self) -> None:
        self.count = 0

    def add(
        self, data: list[dict[str, Any]], layout: Mapping[str, Any], height: int = 280
    ) -> Markup:
        import plotly.io as pio

        self.count += 1
        full: dict[str, Any] = {
            "template": "none",
            "font": {"family": _FONT, "size": 12, "color": "#1f2328"},
            "margin": {"l": 56, "r": 24, "t": 36, "b": 44},
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "hovermode": "x unified",
            "showlegend": True,
            **layout,
        }
        full["xaxis"] = {**_XAXIS, "automargin": True, **_map(layout.get("xaxis"))}
        full["yaxis"] = {**_AXIS, "automargin": True, **_map(layout.get("yaxis"))}
        div = pio.to_html(
            {"data": data, "layout": full},
            include_plotlyjs=False,
            full_html=False,
            div_id=f"chart-{self.count}",
            default_height=height,
            config=_CONFIG,
        )
        return Markup(f'<div class="chart">{div}</div>')


def _text(value: Any) -> str:
    """Text for inside a chart: Plotly reads a little HTML there, so escape it."""
    return html.escape(str(value), quote=False)


def _is_lower(name: str, result: Mapping[str, Any]) -> bool:
    if name and name == result.get("success_metric") and "higher_is_better" in result:
        return result.get("higher_is_better") is False
    return _lower_is_better(name)


def _compare(value: Any, reference: Any, lower: bool) -> tuple[str, str]:
    """(difference text, css class): red when the value is worse than the reference."""
    if not (is_number(value) and is_number(reference)):
        return MISSING, ""
    diff = value - reference
    if round(diff, 3) == 0:
        return fmt_diff(diff), ""
    return fmt_diff(diff), "good" if (diff < 0) == lower else "bad"


def _build(result: Mapping[str, Any], charts: _Charts) -> dict[str, Any]:
    windows = [dict(_map(w)) for w in _list(result.get("windows"))]
    for w in windows:
        start, end = (
            fmt_date(w.get("start"), with_time=False),
            fmt_date(w.get("end"), with_time=False),
        )
        w["_label"] = str(w.get("label") or f"{start} to {end}")
    axis = _axis_labels(windows)
    settings = _map(result.get("settings"))
    alerts = _alerts(_list(result.get("alerts")), windows)
    live = [a for a in alerts if a["status"] != "resolved"]
    metric = str(result.get("success_metric") or "")
    train = _map(_map(result.get("training")).get("metrics"))
    drift = _drift(windows, axis, charts)
    volumes = [_map(w.get("system")).get("volume") for w in windows]
    labelled = [_map(w.get("performance")).get("labelled") for w in windows]
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
        "lower": _is_lower(metric, result),
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
        "performance": _performance(windows, axis, result, train, charts),
        "segments": _segments(windows, metric),
        "fairness": _fairness(windows, axis, result, charts),
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
    volume = _map(w.get("system")).get("volume")
    if is_number(volume) and volume == 0:
        parts.append("no predictions")
    drift = _map(w.get("drift"))
    drifted = [str(x) for x in _list(drift.get("drifted"))]
    if drifted:
        names = ", ".join(drifted[:3]) + (
            f" and {len(drifted) - 3} more" if len(drifted) > 3 else ""
        )
        parts.append(f"{len(drifted)} feature{'s' if len(drifted) != 1 else ''} drifted ({names})")
        level = "bad"
    elif _list(drift.get("features")):
        parts.append("no drift")
    if _map(drift.get("prediction")).get("status") == "drift":
        parts.append("predictions drifted")
        level = "bad"
    warnings = [f for f in map(_map, _list(_map(w.get("quality")).get("features"))) if _flag(f)]
    if warnings:
        parts.append(f"{len(warnings)} data quality warning{'s' if len(warnings) != 1 else ''}")
        level = "bad" if level == "bad" else "warn"
    perf = _map(w.get("performance"))
    value = _map(perf.get("metrics")).get(metric)
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


def _system(windows: list[dict[str, Any]], axis: list[str], charts: _Charts) -> dict[str, Any]:
    systems = [_map(w.get("system")) for w in windows]
    seen = {str(k) for s in systems for k in _map(s.get("by_route"))}
    routes = [r for r in (*_ROUTES, *sorted(seen - set(_ROUTES))) if r in seen]
    rows = []
    for w, s in zip(windows, systems, strict=True):
        latency, by_route = _map(s.get("latency_ms")), _map(s.get("by_route"))
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
        x = [_text(a) for a in axis]
        bars = [
            {
                "type": "bar",
                "name": _text(r),
                "x": x,
                "y": [_num(_map(s.get("by_route")).get(r)) for s in systems],
                "marker": {"color": _COLORS.get(r, "#6e7781")},
            }
            for r in routes
        ] or [
            {
                "type": "bar",
                "name": "predictions",
                "x": x,
                "y": [_num(s.get("volume")) for s in systems],
            }
        ]
        figures.append(
            charts.add(bars, {"barmode": "stack", "yaxis": {"title": {"text": "predictions"}}})
        )
        lat = [_map(s.get("latency_ms")) for s in systems]
        if any(is_number(v) for m in lat for v in m.values()):
            lines = [_line(p, x, [_num(m.get(p)) for m in lat]) for p in ("p50", "p95", "p99")]
            figures.append(charts.add(lines, {"yaxis": {"title": {"text": "latency (ms)"}}}))
        rates = [
            _line(name, x, [_num(s.get(key)) for s in systems])
            for name, key in (("error rate", "error_rate"), ("fallback rate", "fallback_rate"))
        ]
        figures.append(
            charts.add(rates, {"yaxis": {"title": {"text": "share"}, "tickformat": ".1%"}})
        )
    return {"routes": routes, "rows": rows, "figures": figures}


def _num(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _line(name: str, x: list[str], y: Sequence[float | None], **extra: Any) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": _text(name),
        "x": x,
        "y": y,
        **extra,
    }


def _quality(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for w in windows:
        quality = _map(w.get("quality"))
        rows: list[dict[str, Any]] = []
        for f in map(_map, _list(quality.get("features"))):
            unseen = [str(c) for c in _list(f.get("unseen_categories"))]
            more = f" and {len(unseen) - 5} more" if len(unseen) > 5 else ""
            rows.append(
                {
                    "name": fmt_value(f.get("feature")),
                    "missing": fmt_pct(f.get("missing_rate"), 1),
                    "reference": fmt_pct(f.get("reference_missing_rate"), 1),
                    "unseen": ", ".join(unseen[:5]) + more if unseen else "none",
                    "unseen_rate": fmt_pct(f.get("unseen_rate"), 1),
                    "out_of_range": fmt_pct(f.get("out_of_range_rate"), 1),
                    "status": str(f.get("status") or "ok"),
                    "flag": _flag(f),
                    "message": str(f.get("message") or ""),
                }
            )
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


def _drift(windows: list[dict[str, Any]], axis: list[str], charts: _Charts) -> dict[str, Any]:
    """Every window's drift table; histograms only for the latest window that has a check."""
    drifts = [_map(w.get("drift")) for w in windows]
    with_data = [i for i, d in enumerate(drifts) if _list(d.get("features")) or d.get("prediction")]
    chosen = with_data[-1] if with_data else None
    views = []
    for i, (w, d) in enumerate(zip(windows, drifts, strict=True)):
        drifted = {str(x) for x in _list(d.get("drifted"))}
        rows = [_drift_row(_map(f), drifted) for f in _list(d.get("features"))]
        pred = None
        if d.get("prediction"):
            pred = _drift_row(_map(d.get("prediction")), set()) | {"is_prediction": True}
        if i == chosen:
            for row in [*rows, *([pred] if pred else [])]:
                row["chart"] = _histogram(row, charts)
        views.append(
            {
                "label": w["_label"],
                "rows": rows,
                "prediction": pred,
                "n_drifted": sum(r["drifted"] for r in rows),
                "chosen": i == chosen,
            }
        )
    return {
        "windows": views,
        "chosen": views[chosen] if chosen is not None else None,
        "others": [v for i, v in enumerate(views) if i != chosen][::-1],
        "heatmap": _drift_heatmap(windows, axis, drifts, charts) if with_data else None,
    }


def _drift_row(f: Mapping[str, Any], drifted: set[str]) -> dict[str, Any]:
    name = str(f.get("feature") or "prediction")
    status = str(f.get("status") or "not enough data")
    kind = f.get("threshold_kind")
    threshold = fmt_metric(f.get("threshold"))
    if kind == "p_value":
        threshold = f"p < {threshold}"
    elif kind == "distance":
        threshold = f"> {threshold}"
    test = f.get("test")
    return {
        "name": name,
        "kind": fmt_value(f.get("kind")),
        "test": _TESTS.get(str(test), str(test)) if test else MISSING,
        "statistic": fmt_metric(f.get("statistic")),
        "p_value": _fmt_p(f.get("p_value")),
        "threshold": threshold,
        "n_reference": fmt_int(f.get("n_reference")),
        "n_current": fmt_int(f.get("n_current")),
        "psi": fmt_metric(f.get("psi")),
        "status": status,
        "drifted": status == "drift" or f.get("drifted") is True or name in drifted,
        "message": str(f.get("message") or ""),
        "histogram": _map(f.get("histogram")),
        "chart": None,
        "is_prediction": False,
    }


def _fmt_p(value: Any) -> str:
    if is_number(value) and 0 < value < 0.001:
        return f"{value:.1e}"
    return fmt_metric(value)


def _histogram(row: Mapping[str, Any], charts: _Charts) -> Markup | None:
    hist = row["histogram"]
    ref, cur = _list(hist.get("reference")), _list(hist.get("current"))
    if "categories" in hist:
        x = [_text(c) for c in _list(hist.get("categories"))]
    else:
        edges = [e for e in _list(hist.get("edges")) if is_number(e)]
        x = [f"{_edge(edges[i])} to {_edge(edges[i + 1])}" for i in range(len(edges) - 1)]
    if not x or not (ref or cur):
        return None
    bars = [
        {"type": "bar", "name": side, "x": x, "y": [_num(v) for v in values[: len(x)]]}
        | {"marker": {"color": _COLORS[side]}}
        for side, values in (("reference", ref), ("current", cur))
    ]
    layout = {"barmode": "group", "yaxis": {"tickformat": ".0%", "title": {"text": "share"}}}
    return charts.add(bars, layout, height=240)


def _edge(value: float) -> str:
    """A bin edge, short: ``1234.5`` -> ``1,234``, ``0.12345`` -> ``0.123``."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _drift_heatmap(
    windows: list[dict[str, Any]], axis: list[str], drifts: list[Mapping[str, Any]], charts: _Charts
) -> Markup:
    cells: dict[str, dict[int, tuple[int, str]]] = {}
    score = {"drift": 2, "ok": 1}
    for i, d in enumerate(drifts):
        drifted = {str(x) for x in _list(d.get("drifted"))}
        entries = [_map(f) for f in _list(d.get("features"))]
        if d.get("prediction"):
            entries.append({**_map(d.get("prediction")), "feature": "(prediction)"})
        for f in entries:
            row = _drift_row(f, drifted)
            z = 2 if row["drifted"] else score.get(row["status"], 0)
            cells.setdefault(row["name"], {})[i] = (z, row["statistic"])
    names = list(cells)[::-1]
    empty = (0, "")
    data = {
        "type": "heatmap",
        "x": [_text(a) for a in axis],
        "y": [_text(n) for n in names],
        "z": [[cells[n].get(i, empty)[0] for i in range(len(windows))] for n in names],
        "text": [[cells[n].get(i, empty)[1] for i in range(len(windows))] for n in names],
        "texttemplate": "%{text}",
        "hovertemplate": "%{y}, %{x}: statistic %{text}<extra></extra>",
        "zmin": 0,
        "zmax": 2,
        "showscale": False,
        "xgap": 2,
        "ygap": 2,
        "colorscale": [
            [0, "#eaeef2"], [0.33, "#eaeef2"], [0.34, "#dafbe1"],
            [0.66, "#dafbe1"], [0.67, "#ffcecb"], [1, "#ffcecb"],
        ],
    }  # fmt: skip
    layout = {"hovermode": "closest", "showlegend": False, "yaxis": {"type": "category"}}
    return charts.add([data], layout, height=max(200, 60 + 30 * len(names)))


def _performance(
    windows: list[dict[str, Any]],
    axis: list[str],
    result: Mapping[str, Any],
    train: Mapping[str, Any],
    charts: _Charts,
) -> dict[str, Any]:
    metric = str(result.get("success_metric") or "")
    perfs = [_map(w.get("performance")) for w in windows]
    found = [*train, *(k for p in perfs for k in _map(p.get("metrics")))]
    names = [n for n in dict.fromkeys([metric, *found]) if n and n in found]
    names = [
        n for n in names if all(not isinstance(_map(p.get("metrics")).get(n), str) for p in perfs)
    ]
    rows = []
    for w, p in zip(windows, perfs, strict=True):
        values = _map(p.get("metrics"))
        cells = []
        for n in names:
            diff, cls = _compare(values.get(n), train.get(n), _is_lower(n, result))
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
    charts: _Charts,
) -> Markup | None:
    """Each metric per window with its training score as a dashed line; only the success
    metric shows at first, the others are one click on the legend away."""
    if not any(is_number(_map(p.get("metrics")).get(metric)) for p in perfs):
        return None
    x = [_text(a) for a in axis]
    hover = [f"{fmt_int(p.get('labelled'))} labelled" for p in perfs]
    data = []
    for i, name in enumerate(names):
        y = [_num(_map(p.get("metrics")).get(name)) for p in perfs]
        style = {"color": _PALETTE[i % len(_PALETTE)], "width": 3 if name == metric else 2}
        shown: Any = True if name == metric else "legendonly"
        extra = {"visible": shown, "legendgroup": name, "line": style}
        data.append(
            _line(label(name), x, y, text=hover, hovertemplate="%{y:.3f}, %{text}", **extra)
        )
        if is_number(train.get(name)):
            dashed = {**extra, "line": {**style, "dash": "dash", "width": 2}, "mode": "lines"}
            flat = [float(train[name])] * len(x)
            data.append(_line(f"{label(name)} at training", x, flat, **dashed))
    notes = [
        {"x": _text(a), "y": 0.05, "yref": "paper", "text": _text(why), "showarrow": False}
        for a, why in waiting
    ]
    layout = {"annotations": notes, "yaxis": {"title": {"text": label(metric)}}}
    return charts.add(data, layout, height=300)


def _hline(y: float, color: str) -> dict[str, Any]:
    return {
        "type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
        "line": {"dash": "dash", "color": color, "width": 2},
    }  # fmt: skip


def _note(text: str, y: float) -> dict[str, Any]:
    return {
        "x": 1, "xref": "paper", "xanchor": "right", "y": y, "yanchor": "bottom",
        "text": _text(text), "showarrow": False, "font": {"color": "#59636e"},
    }  # fmt: skip


def _segments(windows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per segment column: one row per value, one cell per window (the success metric)."""
    segs = [_map(w.get("segments")) for w in windows]
    out = []
    for column in dict.fromkeys(str(k) for s in segs for k in s):
        values = list(dict.fromkeys(str(v) for s in segs for v in _map(s.get(column))))
        rows = []
        for value in values:
            cells = []
            for s in segs:
                entry = _map(_map(s.get(column)).get(value))
                scores = _map(entry.get("metrics"))
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


def _fairness(
    windows: list[dict[str, Any]], axis: list[str], result: Mapping[str, Any], charts: _Charts
) -> dict[str, Any]:
    fair = [_map(w.get("fairness")) for w in windows]
    train = _map(_map(result.get("training")).get("fairness"))
    limit = _map(result.get("settings")).get("max_fairness_gap")
    attrs = list(dict.fromkeys(str(k) for f in fair for k in f))
    tables = []
    for attr in attrs:
        rows = []
        for w, f in zip(windows, fair, strict=True):
            entry = _map(f.get(attr))
            groups = _map(entry.get("groups"))
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
            {"attr": attr, "training": fmt_metric(_map(train.get(attr)).get("gap")), "rows": rows}
        )
    figure = None
    x = [_text(a) for a in axis]
    lines = [_line(a, x, [_num(_map(f.get(a)).get("gap")) for f in fair]) for a in attrs]
    if any(v is not None for trace in lines for v in trace["y"]):
        layout: dict[str, Any] = {"yaxis": {"title": {"text": "fairness gap"}}}
        if is_number(limit):
            layout["shapes"] = [_hline(float(limit), "#cf222e")]
            layout["annotations"] = [_note(f"limit {fmt_metric(limit)}", float(limit))]
        figure = charts.add(lines, layout, height=260)
    return {
        "tables": tables,
        "figure": figure,
        "limit": fmt_metric(limit),
        "has_limit": is_number(limit),
    }


def _alerts(alerts: list[Any], windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts as the page shows them: open first, then acknowledged, then resolved."""
    labels = {str(w.get("start")): w["_label"] for w in windows}
    out: list[dict[str, Any]] = []
    order: list[tuple[int, int, str]] = []
    for a in map(_map, alerts):
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
                    for h in map(_map, _list(a.get("history")))
                ],
            }
        )
        order.append((_STATUS.get(status, 3), _SEVERITY.get(severity, 3), str(a.get("last_seen"))))
    ranked = sorted(zip(order, out, strict=True), key=lambda p: p[0][2], reverse=True)
    ranked.sort(key=lambda p: p[0][:2])  # open first, then the most severe; stable
    return [alert for _, alert in ranked]
