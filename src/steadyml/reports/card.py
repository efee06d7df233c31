"""Render a model card, the one page that says what a model is for, how good it is and
where it falls short, as Markdown or as a self-contained HTML page.

The registry builds the ``card`` mapping; this module only turns it into text. Both
renderers are pure: they read the mapping and return a string. The caller writes the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from steadyml.reports._card_view import build_view
from steadyml.reports._templates import environment, sections

__all__ = ["SECTIONS", "render_card_html", "render_card_markdown"]

# (anchor, heading, the one sentence that tells a beginner what the section is for)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "purpose",
        "Purpose and intended users",
        "What problem this model helps with, who uses its answers, and how we judge success.",
    ),
    (
        "owners",
        "Owners",
        "The people to ask about this model and who must act when something goes wrong.",
    ),
    ("data", "Data", "Which data the model learned from, so any result can be traced back to it."),
    (
        "features",
        "Features",
        "The columns the model reads to make a prediction, and the ones kept out on purpose.",
    ),
    (
        "performance",
        "Performance against the baseline",
        "How well the model scored on held-out test data, next to a simple baseline it must beat.",
    ),
    ("gates", "Gates", "The automatic checks a version must pass before it may be released."),
    (
        "segments",
        "Segments",
        "Scores for slices of the data, because a good average can hide a group where it fails.",
    ),
    ("fairness", "Fairness", "Whether the model serves different groups of people equally well."),
    ("limitations", "Limitations", "Known weak spots: read these before trusting a prediction."),
    (
        "history",
        "Version history",
        "Earlier versions of this model, so you can see whether it is getting better.",
    ),
    (
        "events",
        "Approvals and deployment events",
        "Who released, approved or rolled back which version, when, and why.",
    ),
    (
        "technical",
        "Technical details",
        "Fingerprints and timings that let an engineer find and check this exact model.",
    ),
)


def render_card_markdown(card: Mapping[str, Any]) -> str:
    """The model card as Markdown (table cells have their ``|`` escaped)."""
    template = environment("md").get_template("card.md.j2")
    return template.render(c=build_view(card), sections=sections(SECTIONS))


def render_card_html(card: Mapping[str, Any]) -> str:
    """The model card as one self-contained HTML page: inline CSS, no scripts, no links out."""
    template = environment("html").get_template("card.html.j2")
    return template.render(c=build_view(card), sections=sections(SECTIONS))
