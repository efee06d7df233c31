"""Fixtures of the launch checklist tests: copies of the session's trained sample project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def untrained_dir(trained_template: Path, tmp_path: Path) -> Path:
    """The trained sample project's folder without its store or contract: nothing recorded."""
    root = tmp_path / "fresh"
    shutil.copytree(trained_template, root)
    shutil.rmtree(root / ".steadyml")
    (root / "contract.yaml").unlink()
    return root
