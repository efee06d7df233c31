"""Plotly figures for the monitoring report: the shared look, and one collector that inlines
Plotly's JavaScript once per page (no network)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from steadyml.reports._format import as_map, is_number

COLORS = {
    "live": "#0b5cad",
    "batch": "#8250df",
    "canary": "#bf8700",
    "shadow": "#8c959f",
    "reference": "#afb8c1",
    "current": "#0b5cad",
}

PALETTE = ("#0b5cad", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#57606a")

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif'

AXIS = {"gridcolor": "#eaeef2", "linecolor": "#d1d9e0", "zerolinecolor": "#d1d9e0"}

XAXIS = {**AXIS, "type": "category"}  # window labels, not dates for Plotly to re-space

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


class Charts:
    """Turns Plotly figure specs into HTML snippets with stable ids, and counts them."""

    def __init__(self) -> None:
        self.count = 0

    def add(
        self, data: list[dict[str, Any]], layout: Mapping[str, Any], height: int = 280
    ) -> Markup:
        import plotly.io as pio

        self.count += 1
        full: dict[str, Any] = {
            "template": {"layout": {}},  # no theme (plotly's "none"), given as itself
            "font": {"family": FONT, "size": 12, "color": "#1f2328"},
            "margin": {"l": 56, "r": 24, "t": 36, "b": 44},
            "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
            "hovermode": "x unified",
            "showlegend": True,
            **layout,
        }
        full["xaxis"] = {**XAXIS, "automargin": True, **as_map(layout.get("xaxis"))}
        full["yaxis"] = {**AXIS, "automargin": True, **as_map(layout.get("yaxis"))}
        div = pio.to_html(
            {"data": data, "layout": full},
            include_plotlyjs=False,
            full_html=False,
            div_id=f"chart-{self.count}",
            default_height=height,
            config=PLOTLY_CONFIG,
            validate=False,  # plain numbers built here; checking costs ~100 ms per year-long chart
        )
        return Markup(f'<div class="chart">{div}</div>')


def plain_text(value: Any) -> str:
    """Text for inside a chart: Plotly reads a little HTML there, so escape it."""
    return html.escape(str(value), quote=False)


def number_or_none(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def line_trace(name: str, x: list[str], y: Sequence[float | None], **extra: Any) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": plain_text(name),
        "x": x,
        "y": y,
        **extra,
    }


def hline(y: float, color: str) -> dict[str, Any]:
    return {
        "type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": y, "y1": y,
        "line": {"dash": "dash", "color": color, "width": 2},
    }  # fmt: skip


def note_annotation(text: str, y: float) -> dict[str, Any]:
    return {
        "x": 1, "xref": "paper", "xanchor": "right", "y": y, "yanchor": "bottom",
        "text": plain_text(text), "showarrow": False, "font": {"color": "#59636e"},
    }  # fmt: skip
