"""``steadyml retrain`` on a real project: version 1 in production, two weeks of live traffic
scored in batch and labelled, then a retrain through the CLI (SQLite store, real artifacts)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import steadyml
from steadyml.samples.churn import make_churn_weeks

Invoke = Any  # the invoke fixture (tests/cli/conftest.py)


@pytest.fixture(scope="module")
def live_project(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained sample project, v1 in production, two weeks scored and labelled."""
    root = tmp_path_factory.mktemp("retrain") / "churn"
    shutil.copytree(trained_template, root)
    features, labels = make_churn_weeks(n_customers=1000, weeks=2, drift_from_week=2, seed=5)
    features["tenure_months"] = features["tenure_months"].astype(object)
    features.loc[features.index[:5], "tenure_months"] = "abc"  # refused: not a number
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="the champion", by="test")
        features.to_csv(root / "live.csv", index=False)
        project.score_batch(root / "live.csv", root / "live.scored.parquet")
        labels[["customer_id", "churned"]].to_csv(root / "labels.csv", index=False)
        project.record_feedback_file(root / "labels.csv", id_column="customer_id",
                                     label_column="churned")  # fmt: skip
    return root


@pytest.fixture(scope="module")
def retrained(live_project: Path) -> dict[str, Any]:
    from typer.testing import CliRunner

    from steadyml.cli.app import app

    runner = CliRunner()
    args = ["--project", str(live_project), "retrain", "--json"]
    first = runner.invoke(app, args, catch_exceptions=False)
    second = runner.invoke(app, args, catch_exceptions=False)
    return {"first": first, "second": second}


@pytest.mark.slow  # trains a challenger on a real project (~30 s)
def test_retrain_json_records_lineage_challenger_and_decision(
    retrained: dict[str, Any], live_project: Path
) -> None:
    result = retrained["first"]
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["up_to_date"] is False
    dv = data["dataset_version"]
    lineage = dv["lineage"]
    assert dv["created"] is True and dv["version"] == 2
    assert lineage["parent_version"] == 1 and lineage["champion_version"] == 1
    labelled = lineage["labelled_rows"] - 5
    assert labelled > 1000 and lineage["rows_refused"] == 5
    assert lineage["refused_reasons"] == {"refused by the service when it was sent": 5}
    assert lineage["holdout_rows"] == -(-labelled * 2 // 10)  # the latest 20 %, rounded up
    assert lineage["rows_added"] == labelled - lineage["holdout_rows"]
    assert lineage["feedback_window"]["labels_since"] == "30d"
    with steadyml.open(live_project, env={}) as project:
        parent_rows = project.dataset_versions()[0].rows
    assert dv["rows"] == parent_rows + lineage["rows_added"]  # the champion's rows + added
    decision = data["decision"]
    assert data["outcome"] == decision["outcome"] in {"PROMOTE", "REJECT", "INCONCLUSIVE"}
    assert decision["champion"]["version"] == 1 and decision["challenger"]["version"] == 2
    names = [c["name"] for c in decision["checks"]]
    assert names[0] == "labels" and "success metric (recent)" in names
    assert "success metric (test)" in names and names[-2:] == ["latency", "gates"]
    assert all(c["sentence"] and c["verdict"] for c in decision["checks"])
    recent = next(s for s in decision["sets"] if s["name"] == "recent")
    assert recent["rows"] == lineage["holdout_rows"]
    auc = recent["metrics"]["roc_auc"]
    assert auc["interval"][0] <= auc["difference"] <= auc["interval"][1]
    with steadyml.open(live_project, env={}) as project:
        run = project.run(data["run"]["number"])
        assert run.summary["decision"]["outcome"] == decision["outcome"]  # kept with the run
        mv = project.model_version(2)
        assert mv.stage == "candidate"  # a decision never promotes
        assert project.production().version == 1
        test_rows = run.summary["split"]["test_rows"]
        champion_test = project.run(1).summary["split"]["test_rows"]
        assert test_rows == champion_test  # the challenger is tested on the champion's rows


@pytest.mark.slow
def test_retrain_twice_on_the_same_inputs_reuses_the_dataset_version(
    retrained: dict[str, Any], live_project: Path
) -> None:
    first = json.loads(retrained["first"].output)
    second = json.loads(retrained["second"].output)
    assert second["up_to_date"] is True
    assert second["dataset_version"]["created"] is False
    assert second["dataset_version"]["version"] == first["dataset_version"]["version"]
    assert second["dataset_version"]["content_hash"] == first["dataset_version"]["content_hash"]
    assert second["run"]["number"] == first["run"]["number"]
    assert second["decision"] == first["decision"]
    with steadyml.open(live_project, env={}) as project:
        assert len(project.dataset_versions()) == 2
        assert len(project.model_versions()) == 2


@pytest.mark.slow
def test_runs_compare_and_the_text_output_show_the_decision(
    retrained: dict[str, Any], live_project: Path, invoke: Invoke
) -> None:
    run = json.loads(retrained["first"].output)["run"]["number"]
    shown = invoke("runs", "compare", "1", str(run), project=live_project)
    assert shown.exit_code == 0, shown.output
    assert "Retrain decision:" in shown.output and "against champion version 1" in shown.output
    as_json = json.loads(invoke("runs", "compare", "1", str(run), "--json",
                                project=live_project).output)  # fmt: skip
    assert as_json["decision"]["challenger"]["version"] == 2
    show = invoke("runs", "show", str(run), project=live_project)
    assert "Retrain decision:" in show.output
    text = invoke("retrain", project=live_project)
    assert text.exit_code == 0, text.output
    assert "Decision: " in text.output and "never promotes by itself" in text.output
    md = invoke("retrain", "--markdown", project=live_project)
    assert md.output.startswith("## Decision: ")
    card = invoke("models", "card", "2", project=live_project)
    assert card.exit_code == 0, card.output
    decision = json.loads(retrained["first"].output)["decision"]
    assert f"Retrain decision {decision['outcome']}: success metric (recent)" in card.output
    champion_card = invoke("models", "card", "1", project=live_project).output
    assert "Retrain decision" not in champion_card  # a trained (not retrained) version


def test_a_bad_window_names_the_flag(trained_project_dir: Path, invoke: Invoke) -> None:
    result = invoke("retrain", "--labels-since", "soon", project=trained_project_dir)
    assert result.exit_code == 1
    assert "--labels-since" in result.output and "'soon' is not a window length" in result.output


@pytest.mark.slow  # two real trainings (~60 s)
def test_a_first_model_says_so_and_no_labels_is_inconclusive(
    trained_project_dir: Path, invoke: Invoke
) -> None:
    first = invoke("retrain", "--json", project=trained_project_dir)
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert data["decision"]["champion"] is None
    assert "no production model (champion) yet" in data["decision"]["checks"][0]["sentence"]
    assert data["dataset_version"]["version"] == 1  # nothing added: the same data version
    assert data["dataset_version"]["created"] is False
    with steadyml.open(trained_project_dir, env={}) as project:
        project.promote(1, "production", reason="the champion", by="test")
    second = invoke("retrain", "--json", project=trained_project_dir)
    decision = json.loads(second.output)["decision"]
    assert decision["outcome"] == "INCONCLUSIVE"
    assert decision["needed_rows"] == 200
    assert "0 of 0 labelled in the window" in decision["checks"][0]["sentence"]
    assert "200 more are needed" in decision["checks"][0]["sentence"]
    assert [s["name"] for s in decision["sets"]] == ["test"]  # still compared on the test rows


def test_an_inconclusive_check_on_the_fixed_test_rows_is_not_sent_to_collect_labels() -> None:
    # wagepan (1980-87): the fairness check on the champion's 436 original test rows stayed
    # inconclusive however many labels arrived, and the hint said to collect more labels
    from steadyml.cli.retrain_cmd import _inconclusive_steps

    def decision(*names: str) -> dict[str, object]:
        checks = [{"name": n, "verdict": "inconclusive"} for n in names]
        return {"checks": [{"name": "gates", "verdict": "pass"}, *checks]}

    [only] = _inconclusive_steps(decision("fairness (test)"), 3)
    assert "--override" in only and "fairness (test)" in only and "fixed set" in only
    [labels] = _inconclusive_steps(decision("success metric (recent)"), 3)
    assert labels.startswith("collect more labels")
    both = _inconclusive_steps(decision("success metric (recent)", "fairness (test)"), 3)
    assert both[0].startswith("collect more labels") and "--override" in both[1]
