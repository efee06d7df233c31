"""``steadyml data …`` through the library: the check's verdict, snapshots, versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

import steadyml

Invoke = Callable[..., Result]  # the fixtures of conftest.py
MakeProject = Callable[..., Path]


@pytest.mark.slow  # checks and snapshots 6,000 rows
def test_init_template_then_check_and_snapshot(
    invoke: Invoke, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_project("p", n_customers=1500, months=4)
    monkeypatch.chdir(target)

    result = invoke("data", "check", "--json")
    assert result.exit_code == 1  # the planted leak must be fixed first
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["contract"]["created"] is True
    assert [f["column"] for f in payload["findings"] if f["severity"] == "error"] == [
        "cancellation_reason"
    ]

    result = invoke("data", "snapshot")
    assert result.exit_code == 0
    assert result.stdout.startswith("Recorded dataset version 1 (")
    result = invoke("data", "snapshot")
    assert result.stdout.startswith("Unchanged: this data is already dataset version 1 (")

    with steadyml.open(target, env={}) as project:
        assert [v.version for v in project.dataset_versions()] == [1]
        assert len(project.store.list_checks()) == 1

    result = invoke("data", "versions", "--json")
    (version,) = json.loads(result.stdout)
    assert version["version"] == 1 and version["rows"] == 6000


@pytest.mark.slow  # init, then a data check with its leakage models: about 2 s
def test_a_project_with_its_own_split_column_is_checked_with_that_split(
    invoke: Invoke, tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "x1": rng.normal(size=n).round(6),
        "x2": rng.choice(["a", "b", "c"], n),
        "y": np.where(rng.normal(size=n) > 0, "yes", "no"),
        "sample": np.where(np.arange(n) < 300, "train", "test"),
    })  # fmt: skip
    frame.loc[300:306, ["x1", "x2"]] = frame.loc[0:6, ["x1", "x2"]].to_numpy()  # 7 test copies
    frame.to_csv(tmp_path / "table.csv", index=False)
    made = invoke("init", tmp_path / "p", "--data", tmp_path / "table.csv", "--target", "y")
    assert made.exit_code == 0, made.output
    assert "column: sample" in (tmp_path / "p" / "steadyml.yaml").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path / "p")

    result = invoke("data", "check", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    (overlap,) = [f for f in payload["leakage"] if f["rule"] == "train_test_overlap"]
    assert overlap["details"]["split_method"] == "column"
    assert overlap["details"]["test_rows"] == 100  # the rows marked test, not a random 20 %
    assert overlap["details"]["count"] == 7


def test_check_shows_broken_rules_apart_from_broken_expectations(
    invoke: Invoke, trained_project_dir: Path
) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        frame = project.load_data().frame.head(200)  # the file (a snapshot has no pii)
    frame["tenure_months"] = frame["tenure_months"].astype(object)
    frame.loc[0, "tenure_months"] = "abc"  # breaks a rule: the type
    frame.loc[1, "contract"] = "lifetime"  # an unseen category: an expectation
    frame.loc[2, "tenure_months"] = 900  # above the training range: an expectation
    new = trained_project_dir / "new.csv"
    frame.to_csv(new, index=False)

    result = invoke("data", "check", new, project=trained_project_dir)
    assert result.exit_code == 1, result.output
    out = result.stdout
    rules = out.index("Rules broken (rows refused)")
    expectations = out.index("Expectations (rows scored, with a warning)")
    assert rules < expectations
    assert "1 of 200 rows break a rule" in out
    assert "✗ Column 'tenure_months'" in out[rules:expectations]
    assert "! Column 'contract' has categories not seen in training" in out[expectations:]
    assert "2 of 200 rows break only expectations" in out
    assert "copy the bound under `rules:` in contract.yaml, e.g. `rules: [min, max]`" in out
    assert "meet the contract" not in out

    payload = json.loads(invoke("data", "check", new, "--json", project=trained_project_dir).stdout)
    levels = {(v["column"], v["rule"]): v["level"] for v in payload["contract"]["violations"]}
    assert levels[("tenure_months", "type")] == "rule"
    assert levels[("contract", "allowed")] == "expectation"
    assert levels[("tenure_months", "range")] == "expectation"
    assert (payload["contract"]["bad_rows"], payload["contract"]["flagged_rows"]) == (1, 2)
    severity = {f["rule"]: f["severity"] for f in payload["findings"] if f["check"] == "contract"}
    assert severity["type"] == "error" and severity["expectation:allowed"] == "warning"


def test_check_with_only_expectations_broken_passes_and_says_why(
    invoke: Invoke, trained_project_dir: Path
) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        frame = project.load_data().frame.head(200)  # the file (a snapshot has no pii)
    frame.loc[1, "contract"] = "lifetime"
    new = trained_project_dir / "new.csv"
    frame.to_csv(new, index=False)

    result = invoke("data", "check", new, project=trained_project_dir)
    assert result.exit_code == 0, result.output
    assert "Rules broken" not in result.stdout
    assert "Expectations (rows scored, with a warning)" in result.stdout
    assert "1 of 200 rows break only expectations" in result.stdout
    assert "meet the contract" not in result.stdout


def test_a_file_to_score_without_the_target_is_checked_as_scoring_data(
    invoke: Invoke, trained_project_dir: Path
) -> None:
    with steadyml.open(trained_project_dir, env={}) as project:
        frame = project.load_data().frame.head(200)  # the file (a snapshot has no pii)
        target = project.config.data.target
    new = trained_project_dir / "to_score.csv"
    frame.drop(columns=[target]).to_csv(new, index=False)

    result = invoke("data", "check", new, project=trained_project_dir)
    out = result.stdout
    assert result.exit_code == 0, result.output
    assert "checked as new rows to score" in result.output
    assert f"Column '{target}' is missing" not in out
    assert "Result: fit to score" in out
    assert "steadyml batch score to_score.csv" in out
    payload = json.loads(invoke("data", "check", new, "--json", project=trained_project_dir).stdout)
    assert payload["purpose"] == "scoring" and payload["ok"] is True
    assert not [f for f in payload["findings"] if f["column"] == target]
