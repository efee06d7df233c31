"""``steadyml rollout``: start, status, pause, advance, abort through the CLI; the effect
checked through the library."""

from __future__ import annotations

import json
from pathlib import Path

from rollout_helpers import add_candidate
from typer.testing import CliRunner, Result

import steadyml
from steadyml.cli.app import app


def test_rollout_commands(trained_project_dir: Path, cli: CliRunner) -> None:
    root = trained_project_dir

    def invoke(*args: str, project: Path) -> Result:
        return cli.invoke(app, ["--project", str(project), *args], catch_exceptions=False)

    with steadyml.open(root, env={}) as p:
        p.promote(1, "production", reason="tests", by="tests")
        add_candidate(p.store)
    started = invoke("rollout", "start", "2", "--reason", "won the retrain", project=root)
    assert started.exit_code == 0, started.output
    assert "v2 against production v1, running at shadow" in started.output
    assert "expected time to production" in started.output
    status = invoke("rollout", "status", "--json", project=root)
    payload = json.loads(status.output)
    assert payload["step"] == "shadow" and payload["rollout"]["status"] == "running"
    checks = {c["name"]: c["verdict"] for c in payload["reading"]["checks"]}
    assert checks["failed_requests"] == "INCONCLUSIVE"  # no traffic: never a pass
    paused = invoke("rollout", "pause", "--reason", "weekend", project=root)
    assert "paused at shadow" in paused.output
    refused = invoke("rollout", "advance", "--reason", "impatient", project=root)
    assert refused.exit_code == 1
    assert "too few requests" in refused.output
    aborted = invoke("rollout", "abort", "--reason", "freeze", project=root)
    assert aborted.exit_code == 0, aborted.output
    assert "aborted at shadow" in aborted.output
    with steadyml.open(root, env={}) as p:
        assert p.traffic().mode == "production"
        assert p.production().version == 1
    again = invoke("rollout", "abort", "--reason", "again", project=root)
    assert again.exit_code == 1 and "No rollout is under way" in again.output
