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
