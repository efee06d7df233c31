"""The Jinja2 side shared by every report: one environment per output kind, and the
section headings a template shows.

Templates live in ``reports/templates``. HTML templates autoescape; Markdown ones do not and
use the ``md`` filter for table cells. A missing variable is an error, never an empty string.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from steadyml.reports._format import md_cell

if TYPE_CHECKING:
    import jinja2

__all__ = ["TEMPLATES", "environment", "sections"]

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment(kind: str) -> jinja2.Environment:
    """The environment for ``kind`` (``"html"`` or ``"md"``), built once."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    return env


def sections(spec: tuple[tuple[str, str, str], ...]) -> dict[str, dict[str, str]]:
    """``(anchor, heading, intro)`` triples as the templates read them, by anchor."""
    return {key: {"id": key, "title": title, "intro": intro} for key, title, intro in spec}
