"""A rollout against a REJECT or INCONCLUSIVE retrain decision: refused, unless an override
says why; the override is kept with the decision and on the rollout's event (as ``models
promote --override``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rollout_helpers import add_candidate
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app
from steadyml.errors import SteadyMLError

DECISION = {"outcome": "REJECT", "checks": [], "summary": "worse on the recent holdout"}


def _rejected_candidate(root: Path) -> int:
    with steadyml.open(root, env={}) as p:
        p.promote(1, "production", reason="tests", by="tests")
        v = add_candidate(p.store)
        p.store.set_run_decision(v.run_number, dict(DECISION))
        return int(v.version)


def test_a_rejected_candidate_rolls_out_only_with_an_override(trained_project_dir: Path) -> None:
    root = trained_project_dir
    version = _rejected_candidate(root)
    with steadyml.open(root, env={}) as p:
        with pytest.raises(SteadyMLError, match="retrain decision is REJECT") as refused:
            p.start_rollout(version, reason="looks fine to me", by="ana")
        assert "--override" in (refused.value.hint or "")
        with pytest.raises(SteadyMLError, match="override needs a reason"):
            p.start_rollout(version, reason="x", by="ana", override="  ")
        assert p.traffic().mode == "production"  # nothing started

        rollout = p.start_rollout(version, reason="the holdout predates the price change",
                                  by="ana", override="the holdout predates the price change")  # fmt: skip
        assert rollout.status == "running" and p.traffic().mode == "shadow"
        event = [e for e in p.deployment_events() if e.action.startswith("rollout:")][-1]
        assert event.override == "the holdout predates the price change"
        kept = p.store.get_run(p.store.get_model_version(version).run_number).summary["decision"]
        assert kept["outcome"] == "REJECT"  # the decision stays what it was
        assert kept["override"]["stage"] == "rollout" and kept["override"]["by"] == "ana"
        assert kept["override"]["rollout"] == rollout.id


def test_rollout_start_override_on_the_command_line(trained_project_dir: Path,
                                                    cli: CliRunner) -> None:  # fmt: skip
    root = trained_project_dir
    version = _rejected_candidate(root)
    base = ["--project", str(root), "rollout", "start", str(version), "--reason", "why not"]
    refused = cli.invoke(app, base)
    assert refused.exit_code == 1
    assert "retrain decision is REJECT" in refused.output and "--override" in refused.output
    started = cli.invoke(app, [*base, "--override", "--json"])
    assert started.exit_code == 0, started.output
    payload = json.loads(started.output)
    assert payload["override"] == "why not" and payload["step"] == "shadow"
    with steadyml.open(root, env={}) as p:
        assert p.deployment_events()[-1].override == "why not"
