"""Reports a person reads: the model card (Markdown or a self-contained HTML page) and the
monitoring report (a self-contained HTML page with inline Plotly charts).

    from steadyml.reports import render_card_html
    Path("card.html").write_text(render_card_html(card), encoding="utf-8")

The renderers are pure: they take the mapping the use case builds (the card, the monitor
result) and return text. The caller writes the file.
"""

from __future__ import annotations

from steadyml.reports.card import render_card_html, render_card_markdown
from steadyml.reports.monitor import render_monitor_report

__all__ = ["render_card_html", "render_card_markdown", "render_monitor_report"]
