"""Each of the 28 tests of "The ML Test Score" moves to pass when its evidence appears.

One project is taken from nothing recorded to a monitored, retrained, canaried model, one
real step at a time (the project file written, a training run, a promotion, a data check, a
reproducibility check, a retrain…). Before each step the tests it should earn are not
passing; after it they pass, automatically (1 point each), and no test that passed before
stops passing. The table ``STEPS`` says which step earns which tests; together they are all
28.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from checklist_helpers import edit

import steadyml
from steadyml.entities import PredictionRecord
from steadyml.flows.checklist import Checklist
from steadyml.flows.checklist_items import TESTS

ALL = {t.id for t in TESTS}


def _reopen(ctx: dict[str, Any]) -> Any:
    ctx["project"].close()
    ctx["project"] = steadyml.open(ctx["root"], env={})
    return ctx["project"]


def declare_personal_data(ctx: dict[str, Any]) -> None:
    edit(ctx["root"], "sensitive: []", "sensitive: [gender, age_band]")
    edit(ctx["root"], "pii: []", "pii: [email, phone]")
    _reopen(ctx)


def train(ctx: dict[str, Any]) -> None:
    ctx["project"].train()


def promote(ctx: dict[str, Any]) -> None:
    ctx["project"].promote(1, "production", reason="first release", by="approver")


def check_data(ctx: dict[str, Any]) -> None:
    ctx["project"].check_data()


def reproduce(ctx: dict[str, Any]) -> None:
    assert ctx["project"].reproduce().ok


def full_training(ctx: dict[str, Any]) -> None:
    """Two candidates, segments, the fairness and latency gates: v2, promoted."""
    root = ctx["root"]
    edit(root, "models: [linear]", "models: [linear, hist_gradient_boosting]")
    edit(root, "segments: []", "segments: [contract, region]")
    edit(root, "    min_metric: 0.6", "    min_metric: 0.6\n    max_fairness_gap: 0.15\n"
         "    max_latency_ms: 200")  # fmt: skip
    p = _reopen(ctx)
    version = p.train().model_version.version
    p.promote(version, "production", reason="two candidates, all gates", by="approver")


def rollback_drill(ctx: dict[str, Any]) -> None:
    p = ctx["project"]
    current = p.production().version
    p.rollback(reason="drill", by="approver")
    p.promote(current, "production", reason="after the drill", by="approver")


def serve(ctx: dict[str, Any]) -> None:
    """Answers logged as the API logs them (the production version, finite scores)."""
    p = ctx["project"]
    now = dt.datetime.now(dt.UTC)
    version = p.production().version
    p.store.add_predictions([
        PredictionRecord(request_id=os.urandom(16).hex(), at=now + dt.timedelta(milliseconds=i),
                         model_version=version, route="live", inputs={}, prediction=i % 2,
                         score=0.1 + 0.01 * i, latency_ms=2.0, fallback=False, error=None)
        for i in range(50)
    ])  # fmt: skip


def live_labels_and_monitor(ctx: dict[str, Any]) -> None:
    """Two weeks of customers scored in batch, their true outcomes, the worker's monitor."""
    from steadyml.samples.churn import make_churn_weeks
    from steadyml.worker import run_job

    root, p = ctx["root"], ctx["project"]
    features, labels = make_churn_weeks(n_customers=1000, weeks=2, drift_from_week=2, seed=5)
    features.to_csv(root / "live.csv", index=False)
    p.score_batch(root / "live.csv", root / "live.scored.parquet")
    labels[["customer_id", "churned"]].to_csv(root / "labels.csv", index=False)
    p.record_feedback_file(root / "labels.csv", id_column="customer_id", label_column="churned")
    job = run_job(p, "monitor")
    assert job.ok, job.error
    for alert in p.alerts():  # the drifted week is looked at and dealt with
        p.resolve_alert(alert.id, note="expected: the sample's planted drift", by="owner")


def retrain(ctx: dict[str, Any]) -> None:
    ctx["decision"] = ctx["project"].retrain()


def rollout(ctx: dict[str, Any]) -> None:
    """A copy of production rolled out shadow → canary → production on a logged window."""
    from steadyml.flows import rollout as ro

    p = ctx["project"]
    plan = p.config.retraining.rollout_plan
    plan.hold_minutes, plan.min_requests = 1, 50
    prod = p.production()
    cand = p.store.add_model_version(
        run_number=prod.run_number, artifact_digest=prod.artifact_digest,
        size_bytes=prod.size_bytes, model_type=prod.model_type, task=prod.task,
        gates_passed=True, features=list(prod.features), dataset_version=prod.dataset_version,
        primary_metric=prod.primary_metric, primary_value=prod.primary_value,
        contract=dict(prod.contract), reference=dict(prod.reference),
        serving_digest=prod.serving_digest,
    ).version  # fmt: skip
    t0 = dt.datetime.now(dt.UTC)
    ro.start_rollout(p.store, p.artifacts, p.config, cand, by="t", reason="t", now=t0)
    minute = 0.0
    for _ in range(3):
        shadow = p.store.get_traffic().mode == "shadow"
        at = t0 + dt.timedelta(minutes=minute + 0.5)
        ids = [os.urandom(16).hex() for _ in range(60)]
        rows = [(prod.version, "live", ids), (cand, "shadow" if shadow else "canary",
                ids if shadow else [os.urandom(16).hex() for _ in range(60)])]  # fmt: skip
        p.store.add_predictions([
            PredictionRecord(request_id=k, at=at + dt.timedelta(milliseconds=i), model_version=v,
                             route=route, inputs={}, prediction=i % 2, score=0.5,
                             latency_ms=2.0, fallback=False, error=None)
            for v, route, keys in rows for i, k in enumerate(keys)
        ])  # fmt: skip
        minute += 1.5
        done = ro.evaluate_rollout(p.store, p.config, now=t0 + dt.timedelta(minutes=minute),
                                   force=True)  # fmt: skip
        assert done.action in ("advanced", "promoted"), done.message
    assert p.production().version == cand


Step = Callable[[dict[str, Any]], None]
STEPS: list[tuple[str, Step, set[str]]] = [
    ("the project file declares personal and sensitive data", declare_personal_data,
     {"data-4", "data-5"}),
    ("a training run", train, {"data-6", "monitor-1"}),
    ("v1 promoted", promote,
     {"data-1", "model-1", "model-5", "infra-2", "infra-4", "monitor-4"}),
    ("the training data checked", check_data, {"data-2", "data-7"}),
    ("the run reproduced", reproduce, {"infra-1"}),
    ("two candidates, segments, fairness and latency gates", full_training,
     {"data-3", "model-3", "model-6", "model-7"}),
    ("a rollback drill", rollback_drill, {"infra-7"}),
    ("answers logged", serve, {"infra-3", "infra-5", "monitor-5", "monitor-6"}),
    ("live labels and the worker's monitor", live_labels_and_monitor,
     {"model-2", "monitor-2", "monitor-3", "monitor-7"}),
    ("a retrain against the champion", retrain, {"model-4"}),
    ("a rollout completed", rollout, {"infra-6"}),
]  # fmt: skip


def _passing(result: Checklist) -> set[str]:
    return {t.id for t in result.tests if t.status == "pass"}


def test_the_steps_cover_all_28_tests_once() -> None:
    earned = [i for _name, _step, items in STEPS for i in items]
    assert sorted(earned) == sorted(ALL) and len(earned) == 28


@pytest.mark.slow  # trains three times, retrains once, runs the monitor (~1 min)
def test_each_test_passes_when_its_evidence_appears(untrained_dir: Path) -> None:
    root = untrained_dir
    edit(root, "sensitive: [gender, age_band]", "sensitive: []")
    edit(root, "pii: [email, phone]", "pii: []")
    edit(root, "models: [linear, hist_gradient_boosting]", "models: [linear]")
    edit(root, "segments: [contract, region]", "segments: []")
    edit(root, "    max_fairness_gap: 0.15", "")
    edit(root, "    max_latency_ms: 200", "")
    ctx: dict[str, Any] = {"root": root, "project": steadyml.open(root, env={})}
    try:
        before = ctx["project"].checklist()
        assert _passing(before) == set()
        assert before.score == 0 and before.band.startswith("More of a research project")
        passed: set[str] = set()
        for name, step, items in STEPS:
            result = ctx["project"].checklist()
            assert not (_passing(result) & items), f"before {name}: {_passing(result) & items}"
            step(ctx)
            result = ctx["project"].checklist()
            now = _passing(result)
            earned = {t.id: t for t in result.tests if t.id in items}
            assert {i for i, t in earned.items() if t.status != "pass"} == set(), (
                name,
                {i: t.evidence for i, t in earned.items() if t.status != "pass"},
            )
            assert all(t.how == "automated" and t.points == 1 for t in earned.values())
            assert passed <= now, f"{name} undid {passed - now}"
            passed = now
        final = ctx["project"].checklist()
        assert final.automated == 28 and final.score == 7
        assert final.band == "Exceptional levels of automated testing and monitoring."
        assert [t.id for t in final.tests if not t.evidence or t.at is None] == []
    finally:
        ctx["project"].close()
    shutil.rmtree(root, ignore_errors=True)
