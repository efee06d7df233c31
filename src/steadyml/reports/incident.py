"""The incident write-up draft (``steadyml alerts report``) as Markdown or one HTML page.

Pure: it takes the mapping ``flows.incident.incident_data`` builds and returns text. The
HTML page is self-contained (inline CSS, no scripts, no links out) and escapes everything.
The blanks a person must finish are marked ``TO FILL IN`` in both forms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from steadyml.reports._format import fmt_value
from steadyml.reports._templates import environment

__all__ = ["TO_FILL", "render_incident_html", "render_incident_markdown"]

TO_FILL = "TO FILL IN"

# The questions under each blank: what a person should answer (the course's incident steps).
BLANKS = {
    "cause": (
        "What was the cause? Confirm it before naming it: was it drift in the inputs, a change "
        "in what they mean (concept drift), a broken pipeline or join, a unit change, a "
        "release? Which evidence shows it (the timeline, the monitoring report, the logs)?"
    ),
    "impact": (
        "Who or what was affected, for how long, and how many predictions? Was the fallback "
        "used? Was anyone told?"
    ),
    "lessons": (
        "What would have caught it sooner or made it smaller? What do we change: a threshold, "
        "a data check, a test, the runbook, an owner?"
    ),
}


def _view(data: Mapping[str, Any]) -> dict[str, Any]:
    measured = dict(data["measured"])
    measured["value_text"] = fmt_value(measured.get("value"))
    measured["threshold_text"] = fmt_value(measured.get("threshold"))
    return {**data, "measured": measured, "blanks": BLANKS, "to_fill": TO_FILL}


_TAG = re.compile(r"<(?=[A-Za-z/!?])")


def _no_markup(value: Any) -> Any:
    """Text that a Markdown viewer shows as written: ``<b>`` in a message stays text."""
    if isinstance(value, str):
        return _TAG.sub("&lt;", value)
    if isinstance(value, Mapping):
        return {k: _no_markup(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_markup(v) for v in value]
    return value


def render_incident_markdown(data: Mapping[str, Any]) -> str:
    """The draft as Markdown (tables for the timeline, blanks marked TO FILL IN)."""
    return environment("md").get_template("incident.md.j2").render(r=_no_markup(_view(data)))


def render_incident_html(data: Mapping[str, Any]) -> str:
    """The draft as one self-contained HTML page."""
    return environment("html").get_template("incident.html.j2").render(r=_view(data))
