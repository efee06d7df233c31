"""Training through the Project: lineage, caching, repeatability, and the contract gate."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app
from steadyml.errors import DataContractError


def test_a_run_records_its_lineage_and_registers_a_version(trained_project) -> None:  # type: ignore[no-untyped-def]
    (run,) = trained_project.runs()
    (mv,) = trained_project.model_versions()
    dv = trained_project.dataset_versions()[-1]
    assert run.status == "completed" and run.model_version == mv.version
    assert (run.dataset_version, run.data_hash) == (dv.version, dv.content_hash)
    assert run.config_hash == trained_project.config.hash()
    assert {"python", "scikit-learn", "pandas", "steadyml"} <= set(run.package_versions)
    assert run.duration_s > 0 and run.created_by
    assert {"roc_auc", "accuracy", "log_loss", "brier", "confusion_matrix"} <= set(run.metrics)
    assert run.baseline_metrics["roc_auc"] == pytest.approx(0.5)
    assert mv.stage == "candidate" and mv.run_number == run.number
    assert mv.artifact_digest and mv.size_bytes > 0
    assert {"email", "phone", "gender", "customer_id", "cancellation_reason"}.isdisjoint(
        mv.features
    )
    assert mv.reference and mv.contract["columns"]
    assert run.summary["split"]["method"] == "time"


def test_a_rerun_with_nothing_changed_trains_nothing(trained_project) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = trained_project.train()
    assert result.up_to_date
    assert len(trained_project.runs()) == 1
    assert len(trained_project.model_versions()) == 1
    assert time.perf_counter() - started >= 0  # no timing assertion: only the effect counts


@pytest.mark.slow
def test_forced_rerun_gives_the_same_metrics(trained_project) -> None:  # type: ignore[no-untyped-def]
    first = trained_project.runs()[0]
    second = trained_project.train(force=True).run
    assert second.number == first.number + 1
    skip = {"threshold"}
    for name, value in first.metrics.items():
        if name not in skip:
            assert second.metrics[name] == value, name
    comparison = trained_project.compare_runs(first.number, second.number)
    assert comparison["changes"] == {}
    assert {m["verdict"] for m in comparison["metrics"]} == {"same"}


@pytest.mark.slow
def test_a_settings_change_trains_again_and_compare_names_it(trained_project) -> None:  # type: ignore[no-untyped-def]
    cfg = trained_project.path
    text = cfg.read_text(encoding="utf-8").replace(
        "models: [linear, hist_gradient_boosting]", "models: [hist_gradient_boosting]"
    )
    cfg.write_text(text, encoding="utf-8")
    project = steadyml.open(cfg, env={})
    result = project.train()
    assert not result.up_to_date and result.run.number == 2
    cmp = project.compare_runs(1, 2)
    keys = [c["key"] for c in cmp["changes"]["config"]]
    assert keys == ["training.models"]
    assert all(m["verdict"] in {"improved", "regressed", "same"} for m in cmp["metrics"])
    project.close()


def test_data_breaking_a_rule_stops_training(trained_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = trained_project.load_snapshot(1)
    frame["tenure_months"] = frame["tenure_months"].astype(object)
    frame.loc[0, "tenure_months"] = "abc"  # breaks a rule: the column's type
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    trained_project.snapshot(bad)
    with pytest.raises(DataContractError, match="breaks rules of the data contract") as info:
        trained_project.train()
    assert (
        "Column 'tenure_months' expects a whole number (its type, a rule); got 'abc' in row 1."
        in info.value.message
    )
    assert len(trained_project.runs()) == 1


@pytest.mark.slow  # trains a second model
def test_an_unseen_category_does_not_stop_training(trained_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    frame = trained_project.load_snapshot(1)
    frame.loc[0, "contract"] = "lifetime"  # only an expectation: the categories seen
    new = tmp_path / "new.parquet"
    frame.to_parquet(new, index=False)
    trained_project.snapshot(new)
    result = trained_project.train()
    assert not result.up_to_date
    assert [r.status for r in trained_project.runs()] == ["completed", "completed"]
    assert result.run.dataset_version == 2


@pytest.mark.slow
def test_code_commit_and_dirty_flag_are_recorded(trained_project_dir: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=trained_project_dir, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@e", "-c", "user.name=t", "add", "steadyml.yaml")
    git("-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "plan")
    with steadyml.open(trained_project_dir, env={}) as project:
        run = project.train().run
        assert run.code_commit and len(run.code_commit) == 40
        assert run.code_dirty  # data/ and contract.yaml are not committed
        (trained_project_dir / "notes.txt").write_text("x", encoding="utf-8")
        assert not project.train().up_to_date  # the uncommitted change counts


def test_cli_train_runs_models_and_card(trained_project_dir: Path) -> None:
    cli = CliRunner()
    base = ["--project", str(trained_project_dir)]
    result = cli.invoke(app, [*base, "train"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Up to date: nothing changed since run 1")

    listed = json.loads(cli.invoke(app, [*base, "runs", "list", "--json"]).stdout)
    assert [r["number"] for r in listed] == [1]
    shown = cli.invoke(app, [*base, "runs", "show", "1"])
    assert shown.exit_code == 0 and "Run 1 — " in shown.stdout

    refused = cli.invoke(app, [*base, "models", "promote", "1", "--to", "production"])
    assert refused.exit_code == 2  # --reason is required
    ok = cli.invoke(
        app,
        [*base, "models", "promote", "1", "--to", "production", "--reason", "good", "--by", "ann"],
    )
    assert ok.exit_code == 0, ok.output
    assert "Version 1 is now in production. Recorded: by ann, because 'good'." in ok.stdout
    with steadyml.open(trained_project_dir, env={}) as project:
        assert project.production().version == 1
        assert project.deployment_events()[-1].by == "ann"

    card = cli.invoke(app, [*base, "models", "card", "1"])
    assert card.exit_code == 0 and "roc_auc" in card.stdout
    html = trained_project_dir / "card.html"
    written = cli.invoke(app, [*base, "models", "card", "1", "--html", str(html)])
    assert written.exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "<html" in page and "http://" not in page and "https://" not in page

    missing = cli.invoke(app, [*base, "models", "show", "7"])
    assert missing.exit_code == 1
    assert "Error: Model 'churn' has no version 7. Versions: 1–1. Production: 1." in missing.stderr

    back = cli.invoke(app, [*base, "models", "rollback", "--reason", "x"])
    assert back.exit_code == 1
    assert "there is no earlier one to roll back to" in back.stderr


@pytest.mark.parametrize(
    ("kind", "target"),
    [("binary", "y_bin"), ("multiclass", "y_multi"), ("regression", "y_num"), ("text", "y_bin")],
)
def test_init_from_data_then_train_each_kind(kind: str, target: str, tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(3)
    n = 1200
    x1 = rng.normal(size=n)
    x2 = rng.choice(["a", "b", "c"], n)
    words = np.array("good bad late early broken fine refund thanks slow quick".split())
    frame = pd.DataFrame({
        "x1": x1.round(3),
        "x2": x2,
        "x3": rng.integers(0, 50, n),
        "y_bin": np.where(x1 + (x2 == "a") + rng.normal(scale=0.8, size=n) > 0.5, "yes", "no"),
        "y_multi": np.select([x1 < -0.5, x1 < 0.5], ["low", "mid"], "high"),
        "y_num": (3 * x1 + (x2 == "b") * 2 + rng.normal(size=n)).round(2) * 10 + 100,
    })  # fmt: skip
    if kind == "text":
        frame["comment"] = [" ".join(rng.choice(words, 8)) for _ in range(n)]
    drop = [c for c in ("y_bin", "y_multi", "y_num") if c != target]
    frame = frame.drop(columns=drop)
    src = tmp_path / "table.csv"
    frame.to_csv(src, index=False)
    cli = CliRunner()
    made = cli.invoke(app, ["init", str(tmp_path / "p"), "--data", str(src), "--target", target])
    assert made.exit_code == 0, made.output
    trained = cli.invoke(app, ["--project", str(tmp_path / "p"), "train", "--json"])
    assert trained.exit_code == 0, trained.output
    run = json.loads(trained.stdout)["run"]
    expected_task = "regression" if kind == "regression" else "classification"
    assert run["task"] == expected_task
    metric = "mae" if kind == "regression" else "roc_auc"
    assert run["metrics"][metric] is not None
    if kind == "text":
        assert "comment" in json.loads(trained.stdout)["model_version"]["features"]
