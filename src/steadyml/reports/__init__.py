"""Reports a person reads: the model card, as Markdown or as a self-contained HTML page.

    from steadyml.reports import render_card_html
    Path("card.html").write_text(render_card_html(card), encoding="utf-8")

The renderers are pure: they take the card mapping the registry builds and return text.
"""

from __future__ import annotations

from steadyml.reports.card import render_card_html, render_card_markdown
from steadyml.reports.monitor import render_monitor_report

__all__ = ["render_card_html", "render_card_markdown", "render_monitor_report"]
