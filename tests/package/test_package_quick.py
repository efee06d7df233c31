"""``steadyml package``'s quick checks: pinned requirements, the golden comparison, the
plain word when Docker has no daemon, and the errors of bad arguments."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steadyml.cli.app import app
from steadyml.flows.package import pinned_requirements
from steadyml.flows.package_verify import NO_CLIENT, NO_DAEMON, compare_answer, docker_available


def test_requirements_are_the_installed_versions() -> None:
    from importlib.metadata import version

    pins = dict(p.split("==") for p in pinned_requirements(("fastapi",)))
    assert pins["fastapi"] == version("fastapi")
    assert "starlette" in pins  # what fastapi requires comes along, pinned too


def test_a_golden_answer_is_compared_to_1e9() -> None:
    want = {"expect": "answered", "prediction": 1, "score": 0.25,
            "probabilities": {"0": 0.75, "1": 0.25}}  # fmt: skip
    body = {"results": [{"prediction": 1, "score": 0.25 + 5e-10, "model_version": 3,
                         "probabilities": {"0": 0.75, "1": 0.25}, "fallback": False}]}  # fmt: skip
    assert compare_answer(want, 200, body, 3, 1e-9) is None
    body["results"][0]["score"] = 0.25 + 2e-9
    assert "score" in (compare_answer(want, 200, body, 3, 1e-9) or "")
    assert "model version 3" in (compare_answer(want, 200, body, 4, 1e-9) or "")
    assert compare_answer({"expect": "refused"}, 422, {}, 3, 1e-9) is None
    assert "422" in (compare_answer({"expect": "refused"}, 200, body, 3, 1e-9) or "")


def test_without_a_docker_daemon_it_says_so_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refused:  # what `docker info` answers when the client finds no daemon
        returncode = 1
        stdout = ""

    if shutil.which("docker") is not None:
        assert docker_available(lambda *a, **k: Refused()) == NO_DAEMON
    assert NO_DAEMON == "no Docker daemon: image not built"
    monkeypatch.setenv("PATH", "")
    assert docker_available() == NO_CLIENT


def test_an_unknown_version_names_the_argument_the_value_and_the_fix(
    release_project: Path, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app, ["-p", str(release_project), "package", "9", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 1
    assert "Error: V: " in result.output and "no version 9" in result.output
    assert "steadyml models list" in result.output
    assert not (tmp_path / "p").exists()


def test_an_out_folder_that_is_not_empty_is_refused(release_project: Path, tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "old.txt").write_text("old")
    result = CliRunner().invoke(
        app, ["-p", str(release_project), "package", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 1
    assert "Error: --out: " in result.output and str(tmp_path / "p") in result.output
    assert "not empty" in result.output and "new folder" in result.output
    assert sorted(os.listdir(tmp_path / "p")) == ["old.txt"]  # untouched


def test_verify_options_without_verify_and_a_missing_folder_are_refused(
    release_project: Path, tmp_path: Path
) -> None:
    cli = CliRunner()
    result = cli.invoke(app, ["-p", str(release_project), "package", "--out",
                              str(tmp_path / "p"), "--no-docker"])  # fmt: skip
    assert result.exit_code == 1 and "only change what --verify does" in result.output
    result = cli.invoke(app, ["verify-package", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "no package folder at" in result.output
