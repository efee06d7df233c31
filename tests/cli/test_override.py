"""A retrain decision never promotes by itself, and a person overrules it only on the record:
``models promote V --to production`` of a challenger whose stored decision is REJECT or
INCONCLUSIVE is refused with the decision's unmet checks unless ``--override --reason`` is
given; the override is kept with the deployment event and the decision, and shown by
``runs compare`` and the model card. Real project: SQLite store, real artifacts; the decision
is made by the real ``decide_challenge`` and kept with the challenger's run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import steadyml
from steadyml.errors import SteadyMLError
from steadyml.training.challenge import Contender, DecisionSettings, decide_challenge

Invoke = Any  # the invoke fixture (tests/cli/conftest.py)
WHY = "pilot on one region; latency is fine for the nightly batch"


@pytest.fixture(scope="module")
def two_versions(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 in production (the champion), v2 trained after it (the challenger)."""
    root = tmp_path_factory.mktemp("override") / "churn"
    shutil.copytree(trained_template, root)
    cfg = root / "steadyml.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw["training"]["models"] = ["linear"]  # a second, quick model
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.train(force=True)
        project.promote(1, "production", reason="the champion", by="test")
    return root


def decide(project: Any, *, holdout: int, challenger_ms: float) -> dict[str, Any]:
    """The real decision for v2 against v1 (no row sets: labels, latency and gates checks),
    kept with v2's run as ``steadyml retrain`` keeps it."""
    champion, challenger = project.model_version(1), project.model_version(2)
    decision = decide_challenge(
        task="classification", positive_label=1, success_metric="roc_auc", sets=[],
        champion=Contender(1, 1.0, champion.gates_passed, champion.run_number),
        challenger=Contender(2, challenger_ms, challenger.gates_passed, challenger.run_number),
        settings=DecisionSettings(), labelled=holdout * 5, holdout=holdout,
    )  # fmt: skip
    project.store.set_run_decision(challenger.run_number, decision)
    return decision


@pytest.mark.slow  # trains a second model once per module (~5 s)
def test_a_rejected_challenger_needs_an_override_which_is_recorded_and_shown(
    two_versions: Path, tmp_path: Path, invoke: Invoke
) -> None:
    root = tmp_path / "p"
    shutil.copytree(two_versions, root)
    with steadyml.open(root, env={}) as project:
        decision = decide(project, holdout=500, challenger_ms=50.0)  # 50x slower
        run = project.model_version(2).run_number
    assert decision["outcome"] == "REJECT"
    latency = next(c for c in decision["checks"] if c["name"] == "latency")
    assert latency["verdict"] == "fail"

    refused = invoke("models", "promote", "2", "--to", "production", "--reason", "newer data",
                     project=root)  # fmt: skip
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "Version 2's retrain decision is REJECT, so it is not promoted to production:" in text
    assert " ".join(latency["sentence"].split()) in text  # the failed check, quoted
    assert "--override --reason 'why'" in text
    with steadyml.open(root, env={}) as project:
        assert project.production().version == 1
        assert [e.action for e in project.deployment_events()] == ["promote"]

    done = invoke("models", "promote", "2", "--to", "production", "--override", "--reason",
                  WHY, "--by", "ann", project=root)  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "Overridden on the record" in done.output and WHY in done.output
    with steadyml.open(root, env={}) as project:
        assert project.production().version == 2
        event = project.deployment_events()[-1]
        assert (event.action, event.by, event.reason, event.override) == ("promote", "ann",
                                                                         WHY, WHY)  # fmt: skip
        over = project.run(run).summary["decision"]["override"]
    assert over["by"] == "ann" and over["reason"] == WHY and over["outcome"] == "REJECT"
    assert over["stage"] == "production" and over["event"] == event.id

    compare = invoke("runs", "compare", "1", str(run), project=root)
    assert compare.exit_code == 0, compare.output
    shown = " ".join(compare.output.split())
    assert f"Overridden: promoted to production by ann at {over['at'][:16]} despite REJECT" in (
        shown
    )
    as_json = json.loads(invoke("runs", "compare", "1", str(run), "--json", project=root).output)
    assert as_json["decision"]["override"]["reason"] == WHY
    card = invoke("models", "card", "2", project=root).output
    assert f"promote (override: {WHY})" in card
    assert "Retrain decision REJECT: latency" in card


@pytest.mark.slow
def test_an_inconclusive_decision_is_refused_too_but_staging_and_promote_are_free(
    two_versions: Path, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    shutil.copytree(two_versions, root)
    with steadyml.open(root, env={}) as project:
        decision = decide(project, holdout=50, challenger_ms=1.0)  # too few labelled rows
        assert decision["outcome"] == "INCONCLUSIVE"
        with pytest.raises(SteadyMLError) as info:
            project.promote(2, "production", reason="newer data", by="bo")
        assert "retrain decision is INCONCLUSIVE" in info.value.message
        assert "150 more are needed" in info.value.message  # the labels check, quoted
        staged = project.promote(2, "staging", reason="try it in staging", by="bo")
        assert staged.stage == "staging" and staged.override is None

        decide(project, holdout=500, challenger_ms=1.0)
        assert (
            project.run(project.model_version(2).run_number).summary["decision"]["outcome"]
            == "PROMOTE"
        )
        event = project.promote(2, "production", reason="won the decision", by="bo")
        assert event.override is None and project.production().version == 2
        assert (
            "override" not in project.run(project.model_version(2).run_number).summary["decision"]
        )
