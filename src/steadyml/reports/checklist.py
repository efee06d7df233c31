"""The launch checklist as one self-contained HTML page (``steadyml checklist --html FILE``).

Pure: it takes ``Checklist.to_dict()`` and returns text. The page has inline CSS, no scripts
and no links out, and escapes everything it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steadyml.reports._templates import environment

__all__ = ["render_checklist_html"]

SECTION_TITLES = {
    "data": "Data (features and data)",
    "model": "Model development",
    "infrastructure": "Infrastructure",
    "monitoring": "Monitoring",
}


def render_checklist_html(data: Mapping[str, Any], *, project: str) -> str:
    sections = [
        {"id": key, "title": title, "points": data["sections"][key],
         "tests": [t for t in data["tests"] if t["section"] == key]}
        for key, title in SECTION_TITLES.items()
    ]  # fmt: skip
    return (
        environment("html")
        .get_template("checklist.html.j2")
        .render(r=data, sections=sections, project=project)
    )
