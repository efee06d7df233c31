"""``steadyml demo``: the whole lifecycle end to end; a folder it did not make is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app


@pytest.mark.slow  # the whole lifecycle, real servers included: about 2 minutes
def test_demo_runs_and_shows_the_leak_caught(cli: CliRunner, tmp_path: Path) -> None:
    # the default volume, as `make demo` runs it: the retrain decision depends on it
    result = cli.invoke(app, ["demo", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "The planted leak was caught: 'cancellation_reason'" in out
    assert "Checked again: fit to train on" in out
    assert "records nothing new" in out
    assert "Gates: passed" in out
    assert "Training again with nothing changed: up to date" in out
    # the launch gate refuses while the plan names no release approver, then passes
    assert "✗ Refused: Version 1 cannot go to production while required launch items fail" in out
    assert "owners.release_approver" in out
    assert out.index("✗ Refused") < out.index("promoted to production by head-of-retention")
    assert (
        "Retraining the same snapshot from scratch (steadyml checklist reproduce): the same" in out
    )
    assert "promoted to production by head-of-retention@example.com" in out
    # a value of the wrong type breaks a rule (refused); outside what training showed is
    # answered, each with a warning naming the field
    assert "HTTP 422 — 1 problem in the request: records[0].tenure_months: expects a whole" in out
    assert "a field missing: HTTP 200 — scored (prediction" in out
    assert "with a warning: tenure_months: is missing, and was never missing in training" in out
    assert "with a warning: contract: 'lifetime' was not seen in training" in out
    assert "with a warning: tenure_months: 5000 is above the training range" in out
    assert "HTTP 401" in out
    # the three first records and the three answered with a warning (refused ones aside)
    assert "Stopped the server cleanly (SIGTERM). The prediction log holds 6 prediction(s)" in out
    # three rows broken on purpose: a value of the wrong type breaks a rule (rejected); an
    # unseen contract and a negative charge are only outside what training showed (scored,
    # each with a warning in its _warnings column)
    assert "Read 2,000 rows: 1,999 scored, 1 rejected (2,000 = 1,999 + 1)." in out
    assert "  1 × tenure_months: wrong type\n" in out
    assert "Scored with a warning (outside what training showed), 2 row(s)" in out
    assert "  1 × contract: not seen in training\n" in out
    assert "  1 × monthly_charges: below the training range\n" in out
    rejects = (tmp_path / "demo" / "data" / "new-customers.scored.rejects.csv").read_text("utf-8")
    assert rejects.count("\n") == 2  # the header and line 3
    assert "3,\"tenure_months: expects a whole number (a rule: the column's type)" in rejects
    assert (tmp_path / "demo" / "model-card.html").exists()
    with steadyml.open(tmp_path / "demo", env={}) as project:
        # 1: the checked data; 2: the retrain's (step 8); 3: the bad export (step 10)
        assert [v.version for v in project.dataset_versions()] == [1, 2, 3]
        assert [c.passed for c in project.store.list_checks()] == [False, True]
        assert project.model_version(1).stage != "production"  # replaced in step 9
        # step 6 scored 1,999 rows; step 7 adds four weeks through the API and in batches
        assert project.store.count_predictions(route="live", answered=True) > 3
        assert project.store.count_predictions(route="batch", answered=True) > 1999
        assert project.store.count_predictions(answered=False) > 0  # refused rows are kept
        assert any(a.key == "feature drift|monthly_charges" for a in project.alerts())
    assert "Step 7 · Watch it" in out
    assert "waiting for labels" in out
    assert "alert(s) raised and sent to the log channel" in out
    report = (tmp_path / "demo" / "monitor-report.html").read_text(encoding="utf-8")
    assert "<script src=" not in report
    _assert_updated_safely(tmp_path / "demo", out)
    _assert_checklist(tmp_path / "demo", out)
    # a second run starts fresh in the same folder and still ends well
    again = cli.invoke(app, ["demo", str(tmp_path / "demo"), "--customers", "1500"])
    assert again.exit_code == 0, again.output
    with steadyml.open(tmp_path / "demo", env={}) as project:
        numbers = sorted(r.number for r in project.runs())
    # the first demo made three runs; a store kept would hold more than one demo makes
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) <= 3


def _assert_updated_safely(root: Path, out: str) -> None:
    """Steps 8-11, checked through the store: a retrain decided PROMOTE, its rollout reached
    production; the bad candidate's rollout was rolled back by a guardrail with a deployment
    event and an incident; the incident report holds the timeline."""
    from steadyml.store.rollouts import rollouts_of

    for step in ("Step 8 · Retrain", "Step 9 · Roll it out", "Step 10 · A bad candidate",
                 "Step 11 · Write it down"):  # fmt: skip
        assert step in out
    with steadyml.open(root, env={}) as project:
        decided = [r for r in project.runs() if (r.summary or {}).get("decision")]
        assert len(decided) == 1
        decision = decided[0].summary["decision"]
        assert decision["outcome"] == "PROMOTE"
        assert "Decision: PROMOTE" in out and "Why it won:" in out
        challenger = decided[0].model_version
        assert challenger == 2
        assert project.production().version == challenger  # promoted by its rollout
        rollouts = rollouts_of(project.store).list_rollouts()
        by_candidate = {r.candidate_version: r for r in rollouts}
        assert by_candidate[challenger].status == "completed"
        bad = max(by_candidate)
        assert bad > challenger
        assert project.model_version(bad).stage == "candidate"
        gone = by_candidate[bad]
        assert gone.status == "rolled_back"
        assert "FAIL" in (gone.reason or "")
        events = project.deployment_events()
        assert any(e.action == "rollout:promote" and e.to_version == challenger for e in events)
        back = [e for e in events if e.action == "rollout:rollback"]
        assert [(e.from_version, e.to_version) for e in back] == [(bad, challenger)]
        (incident,) = [a for a in project.alerts() if a.rule == "rollout guardrail"]
        assert incident.severity == "critical" and incident.model_version == bad
        assert project.store.get_traffic().mode == "production"
    assert "Rolled back automatically" in out
    report = (root / "incident-report.md").read_text(encoding="utf-8")
    assert f"alert #{incident.id}, rollout guardrail" in report
    assert "## Timeline" in report
    assert "Retrained: run 2, challenger version 2 against version 1" in report
    assert "Rollout:rollback" in report and "Rollout:promote" in report


def _assert_checklist(root: Path, out: str) -> None:
    """Step 12: the demo's project reaches "reasonably tested" (at least 3.0) with at least
    20 of the 28 tests evidenced automatically, and every required launch item passes."""
    assert "Step 12 · The launch checklist" in out and "ML Test Score: " in out
    with steadyml.open(root, env={}) as project:
        result = project.checklist()
        first = project.deployment_events()[0]
    assert result.score >= 3.0, {t.id: t.evidence for t in result.tests if t.status != "pass"}
    assert result.automated >= 20
    assert result.blocking == []
    assert (first.to_version, first.override) == (1, None)  # passed once the plan was written
    assert "<script" not in (root / "checklist.html").read_text(encoding="utf-8")


def test_demo_refuses_a_folder_it_did_not_make(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    result = cli.invoke(app, ["demo", str(tmp_path / "mine")])
    assert result.exit_code == 1
    assert "was not made by `steadyml demo`; the demo will not touch it" in result.stderr
    assert (tmp_path / "mine" / "notes.txt").exists()
