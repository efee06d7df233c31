"""The monitoring report's estimated-performance section: estimates before labels, their
checks, and the back-test (each estimate beside the realised value once labels arrived)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from steadyml.reports._charts import COLORS, Charts, line_trace, number_or_none
from steadyml.reports._format import MISSING, as_list, as_map, fmt_int, fmt_metric, fmt_pct, label

__all__ = ["estimate_section"]


def estimate_section(
    windows: list[dict[str, Any]], axis: list[str], result: Mapping[str, Any], charts: Charts
) -> dict[str, Any]:
    """Rows per window, a chart of the estimate's band and the realised value, the
    back-test's summary."""
    blocks = [as_map(w.get("estimate")) for w in windows]
    done = [b for b in blocks if b.get("status") == "ok"]
    reasons = sorted({str(b.get("reason")) for b in blocks if b.get("status") != "ok"})
    if not done:
        return {"rows": [], "figure": None, "reasons": reasons, "backtest": None, "metric": ""}
    metric = str(done[-1].get("success_metric") or "")
    rows = []
    values, lows, highs, real = [], [], [], []
    for w, b in zip(windows, blocks, strict=True):
        m = as_map(as_map(b.get("metrics")).get(metric))
        a = as_map(b.get("assumptions"))
        realised = as_map(b.get("realised")).get(metric)
        check = as_map(b.get("cross_check"))
        covered = as_map(b.get("covered")).get(metric)
        rows.append(
            {
                "label": w["_label"],
                "rows": fmt_int(b.get("rows")),
                "value": fmt_metric(m.get("value")),
                "interval": f"{fmt_metric(m.get('lower'))} – {fmt_metric(m.get('upper'))}",
                "reliable": bool(b.get("reliable")),
                "problems": "; ".join(str(p) for p in as_list(b.get("problems"))),
                "calibration": fmt_metric(a.get("calibration_error")),
                "outside": fmt_pct(a.get("outside_support"), 1),
                "atc": fmt_metric(check.get("accuracy")) if check.get("disagrees") else "",
                "shift": str(m.get("shift_note") or ""),
                "realised": fmt_metric(realised) if realised is not None else MISSING,
                "error": fmt_metric(as_map(b.get("errors")).get(metric)),
                "covered": MISSING if covered is None else ("yes" if covered else "no"),
            }
        )
        values.append(number_or_none(m.get("value")))
        lows.append(number_or_none(m.get("lower")))
        highs.append(number_or_none(m.get("upper")))
        real.append(number_or_none(realised))
    figure = _chart(metric, axis, values, lows, highs, real, charts)
    back = as_map(as_map(as_map(result.get("backtest")).get("metrics")).get(metric))
    backtest = None
    if back:
        backtest = {
            "estimated": fmt_int(back.get("estimated")),
            "realised": fmt_int(back.get("realised")),
            "mean_error": fmt_metric(back.get("mean_error")),
            "max_error": fmt_metric(back.get("max_error")),
            "coverage": fmt_pct(back.get("coverage")),
        }
    return {
        "metric": label(metric),
        "rows": rows,
        "figure": figure,
        "reasons": reasons,
        "backtest": backtest,
    }


def _chart(
    metric: str,
    axis: list[str],
    values: list[float | None],
    lows: list[float | None],
    highs: list[float | None],
    real: list[float | None],
    charts: Charts,
) -> Markup | None:
    if not any(v is not None for v in values):
        return None
    color = COLORS["current"]
    band = [
        line_trace(
            "95 % interval (upper)", axis, highs, mode="lines", line={"width": 0}, showlegend=False
        ),
        line_trace(
            "95 % interval",
            axis,
            lows,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(9,105,218,0.15)",
        ),
        line_trace(f"estimated {label(metric)}", axis, values, line={"color": color}),
        line_trace(f"realised {label(metric)}", axis, real, line={"color": "#1a7f37"}),
    ]
    return charts.add(band, {"yaxis": {"title": {"text": label(metric)}}})
