"""Retrain triggers run by ``steadyml worker``'s ``retrain`` job on a real project: version 1
in production, a week of live traffic scored and labelled (SQLite store, real artifacts), then
each trigger kind fires once, says why, and does not fire again without a new cause."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

import steadyml
from steadyml.flows.rollout import rollout_status
from steadyml.samples.churn import make_churn_weeks
from steadyml.store.monitoring import AlertFiring
from steadyml.worker import planned_jobs, run_job

RULE = "performance drop"  # a rule of the sample project


@pytest.fixture(scope="module")
def live_template(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained sample, v1 in production, one week scored and labelled, one model family
    (so each retrain trains in seconds)."""
    root = tmp_path_factory.mktemp("triggers") / "churn"
    shutil.copytree(trained_template, root)
    features, labels = make_churn_weeks(n_customers=600, weeks=1, drift_from_week=1, seed=3)
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="the champion", by="test")
        features.to_csv(root / "live.csv", index=False)
        project.score_batch(root / "live.csv", root / "live.scored.parquet")
        labels[["customer_id", "churned"]].to_csv(root / "labels.csv", index=False)
        project.record_feedback_file(root / "labels.csv", id_column="customer_id",
                                     label_column="churned")  # fmt: skip
    return root


def with_triggers(template: Path, target: Path, **triggers: Any) -> Path:
    shutil.copytree(template, target)
    cfg = target / "steadyml.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    raw["training"]["models"] = ["linear"]
    raw["retraining"] = {"triggers": triggers}
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return target


def fired(job: Any) -> list[dict[str, Any]]:
    assert job.ok, job.error
    return list(job.summary["fired"])


@pytest.mark.slow  # one real retrain (~10 s)
def test_new_labels_fire_once_with_the_count_then_wait_for_new_ones(
    live_template: Path, tmp_path: Path
) -> None:
    root = with_triggers(live_template, tmp_path / "p", new_labels=500)
    with steadyml.open(root, env={}) as project:
        assert [j.name for j in planned_jobs(project)][-1] == "retrain"
        job = run_job(project, "retrain")
        (why,) = fired(job)
        assert why["kind"] == "labels" and why["count"] == 600
        assert why["reason"] == (
            "600 new labels since the production model was made (trigger: 500)."
        )
        assert job.summary["retrained"] is True and job.summary["up_to_date"] is False
        run = project.run(job.summary["run"])
        assert run.summary["decision"]["triggered_by"] == [why]  # in the decision
        dv = project.dataset_versions()[-1]
        assert dv.version == job.summary["dataset_version"]
        assert dv.lineage["triggered_by"] == [why]  # and in the data's lineage
        assert project.model_version(job.summary["model_version"]).stage == "candidate"

        again = run_job(project, "retrain")  # no new label since: nothing fires
        assert fired(again) == [] and again.summary["retrained"] is False
        assert again.summary["waiting"] == [
            "0 new labels since the last retrain (trigger: 500); 500 more to go."
        ]
        # new labels (for rows never scored: not training rows) fire again; the inputs are
        # the same, so the recorded run is returned instead of training again
        project.record_labels([(f"unknown-{i}", 1) for i in range(500)])
        third = run_job(project, "retrain")
        assert [f["kind"] for f in fired(third)] == ["labels"]
        assert third.summary["up_to_date"] is True and third.summary["run"] == run.number
        assert len(project.model_versions()) == 2
        history = [j.job for j in project.store.list_job_runs()]
        assert history == ["retrain", "retrain", "retrain"]  # each check recorded
    from typer.testing import CliRunner

    from steadyml.cli.app import app

    shown = CliRunner().invoke(app, ["--project", str(root), "worker", "--history"])
    text = " ".join(shown.output.split())
    assert "ok: retrained (600 new labels since the production model was made" in text
    assert "ok: none fired" in text


@pytest.mark.slow  # one real retrain (~10 s)
def test_an_open_alert_of_a_named_rule_fires_once_and_the_alert_says_so(
    live_template: Path, tmp_path: Path
) -> None:
    root = with_triggers(live_template, tmp_path / "p", alerts=[RULE])
    with steadyml.open(root, env={}) as project:
        quiet = run_job(project, "retrain")
        assert fired(quiet) == [] and quiet.summary["waiting"] == [
            f"alert rule '{RULE}': no open alert."
        ]
        firing = AlertFiring(
            key="performance drop", rule=RULE, metric="performance_drop", subject=None,
            severity="critical", owner="ds@example.com", value=0.12, comparison=">",
            threshold=0.08, window_start=None, window_end=None, model_version=1,
            message="Performance dropped: roc_auc 0.70, 0.12 worse than in training",
            next_step="retrain",
        )  # fmt: skip
        alert, _ = project.store.record_firing(firing)
        job = run_job(project, "retrain")
        (why,) = fired(job)
        assert why["kind"] == "alert" and why["rule"] == RULE and why["alert_ids"] == [alert.id]
        assert why["reason"].startswith(f"alert rule '{RULE}': alert {alert.id} (open): ")
        assert job.summary["retrained"] is True
        events = [e.event for e in project.alert(alert.id).history]
        assert events == ["opened", "retrained"]  # the incident shows what was done
        note = project.alert(alert.id).history[-1].note or ""
        assert f"run {job.summary['run']}" in note and job.summary["outcome"] in note

        project.acknowledge_alert(alert.id, by="test")  # still not resolved: no new cause
        again = run_job(project, "retrain")
        assert fired(again) == [] and again.summary["waiting"] == [
            f"alert rule '{RULE}': answered by an earlier retrain."
        ]


@pytest.mark.slow  # one real retrain (~10 s)
def test_the_schedule_fires_when_the_last_retrain_is_old_enough(
    live_template: Path, tmp_path: Path
) -> None:
    root = with_triggers(live_template, tmp_path / "p", every="7d")
    now = dt.datetime.now(dt.UTC)
    with steadyml.open(root, env={}) as project:
        early = run_job(project, "retrain", now=now)
        assert fired(early) == [] and early.summary["waiting"][0].startswith("every 7d: next at ")
        later = now + dt.timedelta(days=8)
        job = run_job(project, "retrain", now=later)
        (why,) = fired(job)
        assert why["kind"] == "schedule"
        assert why["reason"].startswith("every 7d: the production model is 8.0 days old (")
        assert job.summary["retrained"] is True
        an_hour = run_job(project, "retrain", now=later + dt.timedelta(hours=1))
        assert fired(an_hour) == []  # measured from the retrain, not the model
        week = run_job(project, "retrain", now=later + dt.timedelta(days=7))
        (again,) = fired(week)
        assert again["reason"].startswith("every 7d: the last retrain is 7.0 days old (")
        assert week.summary["up_to_date"] is True  # nothing new: not trained again


def test_a_retrain_in_progress_is_not_started_again(trained_project: Any) -> None:
    cfg = trained_project.config.model_copy(deep=True)
    cfg.retraining.triggers.new_labels = 1
    from steadyml.flows.triggers import check_triggers

    trained_project.record_labels([("someone", 1)])
    assert [f.kind for f in check_triggers(cfg, trained_project.store).fired] == ["labels"]
    running = trained_project.store.start_job("retrain")  # another worker's, unfinished
    check = check_triggers(cfg, trained_project.store)
    assert check.fired == [] and check.busy is not None
    assert f"(job run {running}) is still running" in check.busy
    mine = check_triggers(cfg, trained_project.store, job_id=running)
    assert [f.kind for f in mine.fired] == ["labels"]  # the job does not wait for itself


@pytest.mark.slow  # one real retrain (~10 s)
def test_rollout_auto_starts_the_rollout_after_a_promote_decision(
    live_template: Path, tmp_path: Path
) -> None:
    root = with_triggers(live_template, tmp_path / "p", new_labels=100)
    cfg = root / "steadyml.yaml"
    raw = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    # 120 rows held out; wide margins: this test is about what follows a PROMOTE
    raw["retraining"].update(rollout="auto", min_labelled_rows=100, metric_margin=0.2,
                             segment_margin=0.5, fairness_margin=0.5)  # fmt: skip
    cfg.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        job = run_job(project, "retrain")
        assert job.ok, job.error
        assert job.summary["outcome"] == "PROMOTE", job.summary["decision"]
        version = job.summary["model_version"]
        assert job.summary["rollout"].startswith("started: rollout ")
        assert f"of version {version}" in job.summary["rollout"]
        rollout = rollout_status(project.store, project.config, evaluate=False).rollout
        assert rollout is not None and rollout.candidate_version == version
        assert rollout.status == "running" and project.production().version == 1
