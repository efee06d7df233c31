"""Helpers of the launch checklist tests."""

from __future__ import annotations

from pathlib import Path


def edit(root: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) with ``new`` in the project's steadyml.yaml."""
    path = root / "steadyml.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
