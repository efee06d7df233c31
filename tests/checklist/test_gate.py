"""The launch gate: a promotion to production (and a rollout's last step) is refused while a
required launch item fails; an override with a reason passes and is recorded, and the model
card shows it."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from checklist_helpers import edit
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app
from steadyml.entities import PredictionRecord
from steadyml.errors import SteadyMLError

UNWRITTEN = "release_approver: (not written yet) who approves a release"


def test_promotion_is_refused_until_the_plan_is_written(trained_project_dir: Path) -> None:
    edit(trained_project_dir, "release_approver: head-of-retention@example.com", UNWRITTEN)
    with steadyml.open(trained_project_dir, env={}) as project:
        with pytest.raises(SteadyMLError) as caught:
            project.promote(1, "production", reason="first release", by="ann")
        message = caught.value.message
        assert "cannot go to production while required launch items fail" in message
        assert "owners.release_approver" in message
        assert "--override --reason" in (caught.value.hint or "")
        assert project.production() is None
        assert project.store.list_events() == []
        # staging is not production: no gate there
        project.promote(1, "staging", reason="to try it", by="ann")
    edit(trained_project_dir, UNWRITTEN, "release_approver: head-of-retention@example.com")
    with steadyml.open(trained_project_dir, env={}) as project:
        event = project.promote(1, "production", reason="first release", by="ann")
        assert event.override is None
        assert project.production().version == 1


def test_the_override_is_recorded_with_the_items_and_shown_on_the_card(
    trained_project_dir: Path, cli: CliRunner
) -> None:
    edit(trained_project_dir, "release_approver: head-of-retention@example.com", UNWRITTEN)
    args = ["--project", str(trained_project_dir), "models", "promote", "1", "--to",
            "production"]  # fmt: skip
    refused = cli.invoke(app, [*args, "--reason", "first release"])
    assert refused.exit_code == 1
    assert "required launch items fail" in refused.stderr
    passed = cli.invoke(app, [*args, "--override", "--reason", "the approver is on leave"])
    assert passed.exit_code == 0, passed.output
    with steadyml.open(trained_project_dir, env={}) as project:
        (event,) = project.store.list_events()
        assert event.override == ("the approver is on leave [launch checklist overridden: plan]")
        card = project.model_card(1)
    assert "launch checklist overridden: plan" in card


def test_each_required_item_blocks_and_an_empty_list_checks_nothing(
    trained_project_dir: Path,
) -> None:
    edit(trained_project_dir, "strategy: rule ", "strategy: error ")
    with (
        steadyml.open(trained_project_dir, env={}) as project,
        pytest.raises(SteadyMLError) as caught,
    ):
        project.promote(1, "production", reason="r", by="ann")
    text = caught.value.message
    assert "Logging and a fallback in place" in text and "A rollback path exists" in text
    assert "Business goal" not in text  # the plan is written
    path = trained_project_dir / "steadyml.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nlaunch:\n  required: []\n",
                    encoding="utf-8")  # fmt: skip
    with steadyml.open(trained_project_dir, env={}) as project:
        assert project.promote(1, "production", reason="r", by="ann").override is None


def test_an_unknown_required_item_is_refused_with_the_choices(trained_project_dir: Path) -> None:
    from steadyml.errors import ConfigError

    path = trained_project_dir / "steadyml.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nlaunch:\n  required: [plann]\n",
                    encoding="utf-8")  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        steadyml.open(trained_project_dir, env={})
    assert "plann" in str(caught.value) and "rollback_path" in str(caught.value)


@pytest.mark.slow  # trains a second version (~5 s)
def test_a_rollout_holds_at_its_last_step_while_the_plan_is_not_written(
    trained_project_dir: Path,
) -> None:
    from steadyml.flows import rollout as ro

    with steadyml.open(trained_project_dir, env={}) as project:
        project.promote(1, "production", reason="first", by="ann")
        v2 = project.train(force=True).model_version.version
    edit(trained_project_dir, "release_approver: head-of-retention@example.com", UNWRITTEN)
    p: Any = steadyml.open(trained_project_dir, env={})
    try:
        plan = p.config.retraining.rollout_plan
        plan.hold_minutes, plan.min_requests, plan.steps = 1, 20, [0.0]
        t0 = dt.datetime.now(dt.UTC)
        ro.start_rollout(p.store, p.artifacts, p.config, v2, by="t", reason="t", now=t0)
        ids = [os.urandom(16).hex() for _ in range(30)]
        p.store.add_predictions([
            PredictionRecord(request_id=k, at=t0 + dt.timedelta(seconds=10, milliseconds=i),
                             model_version=v, route=route, inputs={}, prediction=i % 2,
                             score=0.5, latency_ms=2.0, fallback=False, error=None)
            for v, route in ((1, "live"), (v2, "shadow")) for i, k in enumerate(ids)
        ])  # fmt: skip
        later = t0 + dt.timedelta(minutes=2)
        held = ro.evaluate_rollout(p.store, p.config, now=later, force=True)
        assert held.action == "held", held.message
        assert "waits for the launch checklist" in held.message
        assert "owners.release_approver" in held.message
        assert p.production().version == 1
    finally:
        p.close()
    edit(trained_project_dir, UNWRITTEN, "release_approver: head-of-retention@example.com")
    with steadyml.open(trained_project_dir, env={}) as project:
        done = ro.evaluate_rollout(project.store, project.config,
                                   now=later + dt.timedelta(seconds=30), force=True)  # fmt: skip
        assert done.action == "promoted", done.message
        assert project.production().version == v2
