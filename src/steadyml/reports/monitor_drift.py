"""The monitoring report's drift section: the table per feature, its histograms and the
window-by-feature heat map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from steadyml.reports._charts import COLORS, Charts, number_or_none, plain_text
from steadyml.reports._format import (
    MISSING,
    as_list,
    as_map,
    fmt_int,
    fmt_metric,
    fmt_value,
    is_number,
)

_TESTS = {
    "ks": "KS test",
    "chi_square": "chi-square test",
    "wasserstein": "Wasserstein distance",
    "jensen_shannon": "Jensen-Shannon distance",
}


def drift_section(windows: list[dict[str, Any]], axis: list[str], charts: Charts) -> dict[str, Any]:
    """Every window's drift table; histograms only for the latest window that has a check."""
    drifts = [as_map(w.get("drift")) for w in windows]
    with_data = [
        i for i, d in enumerate(drifts) if as_list(d.get("features")) or d.get("prediction")
    ]
    chosen = with_data[-1] if with_data else None
    views = []
    for i, (w, d) in enumerate(zip(windows, drifts, strict=True)):
        drifted = {str(x) for x in as_list(d.get("drifted"))}
        rows = [_drift_row(as_map(f), drifted) for f in as_list(d.get("features"))]
        pred = None
        if d.get("prediction"):
            pred = _drift_row(as_map(d.get("prediction")), set()) | {"is_prediction": True}
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
        "histogram": as_map(f.get("histogram")),
        "chart": None,
        "is_prediction": False,
    }


def _fmt_p(value: Any) -> str:
    if is_number(value) and 0 < value < 0.001:
        return f"{value:.1e}"
    return fmt_metric(value)


def _histogram(row: Mapping[str, Any], charts: Charts) -> Markup | None:
    hist = row["histogram"]
    ref, cur = as_list(hist.get("reference")), as_list(hist.get("current"))
    if "categories" in hist:
        x = [plain_text(c) for c in as_list(hist.get("categories"))]
    else:
        edges = [e for e in as_list(hist.get("edges")) if is_number(e)]
        x = [f"{_edge(edges[i])} to {_edge(edges[i + 1])}" for i in range(len(edges) - 1)]
    if not x or not (ref or cur):
        return None
    bars = [
        {"type": "bar", "name": side, "x": x, "y": [number_or_none(v) for v in values[: len(x)]]}
        | {"marker": {"color": COLORS[side]}}
        for side, values in (("reference", ref), ("current", cur))
    ]
    layout = {"barmode": "group", "yaxis": {"tickformat": ".0%", "title": {"text": "share"}}}
    return charts.add(bars, layout, height=240)


def _edge(value: float) -> str:
    """A bin edge, short: ``1234.5`` -> ``1,234``, ``0.12345`` -> ``0.123``."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _drift_heatmap(
    windows: list[dict[str, Any]], axis: list[str], drifts: list[Mapping[str, Any]], charts: Charts
) -> Markup:
    cells: dict[str, dict[int, tuple[int, str]]] = {}
    score = {"drift": 2, "ok": 1}
    for i, d in enumerate(drifts):
        drifted = {str(x) for x in as_list(d.get("drifted"))}
        entries = [as_map(f) for f in as_list(d.get("features"))]
        if d.get("prediction"):
            entries.append({**as_map(d.get("prediction")), "feature": "(prediction)"})
        for f in entries:
            row = _drift_row(f, drifted)
            z = 2 if row["drifted"] else score.get(row["status"], 0)
            cells.setdefault(row["name"], {})[i] = (z, row["statistic"])
    names = list(cells)[::-1]
    empty = (0, "")
    data = {
        "type": "heatmap",
        "x": [plain_text(a) for a in axis],
        "y": [plain_text(n) for n in names],
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
