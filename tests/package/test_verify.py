"""``steadyml package --verify`` from a fresh folder: a clean virtual environment from the
package's own requirements (pip's cache keeps a re-run fast), the service started with the
Dockerfile's command, the golden requests answered as the registry answers. About a minute:
most of it is pip installing the pinned requirements into the new environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from steadyml.cli.app import app


@pytest.mark.slow
def test_package_then_verify_from_a_fresh_folder(
    release_project: Path, tmp_path: Path, wheel: Path
) -> None:
    out = tmp_path / "fresh"
    result = CliRunner().invoke(app, [
        "-p", str(release_project), "package", "--out", str(out), "--wheel", str(wheel),
        "--verify", "--no-docker", "--json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    verify = json.loads(result.stdout)["verify"]
    assert verify["passed"], verify["checks"]
    names = [c["name"] for c in verify["checks"]]
    assert names == [
        "files match the manifest",
        "a clean environment installs",
        "the service starts and is ready",
        "golden answers from the service equal the registry's (to 1e-09)",
    ]
    golden = verify["checks"][-1]["detail"]
    assert "answered as the registry answers" in golden and "refused by the contract" in golden
    assert verify["env_mb"] > 50  # the environment really was installed
    assert verify["docker"] == "not asked"
