"""What a person sees when something is wrong: ``Error: …``, what to do, exit 1."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]  # the fixture of conftest.py


def test_outside_a_project_says_what_to_do(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STEADYML_PROJECT", raising=False)
    result = invoke("data", "check")
    assert result.exit_code == 1
    assert f"Error: No project file at {tmp_path.resolve() / 'steadyml.yaml'}." in result.stderr
    assert "steadyml demo" in result.stderr


def test_bad_project_file_lists_each_problem(invoke: Invoke, project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("mode: batch", "mode: nightly"), encoding="utf-8"
    )
    result = invoke("data", "check", project=project_dir)
    assert result.exit_code == 1
    assert "Error: steadyml.yaml has 1 problem:" in result.stderr
    assert "project.mode: got 'nightly'; allowed: realtime, batch, both." in result.stderr


def test_verbose_shows_the_traceback(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("--verbose", "--project", tmp_path, "data", "check")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    quiet = invoke("data", "check", project=tmp_path)
    assert "Traceback" not in quiet.stderr
    assert "--verbose" in quiet.stderr


def test_the_retraining_section_is_no_longer_announced(invoke: Invoke, project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    cfg.write_text(
        cfg.read_text(encoding="utf-8") + "\nretraining:\n  rollout: manual\n", encoding="utf-8"
    )
    result = invoke("data", "versions", project=project_dir)
    assert result.exit_code == 0
    assert "not used yet" not in result.stderr  # used by retrain and its triggers
