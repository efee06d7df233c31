"""``steadyml init``: a sample project or one around your own file; usage errors exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import Result

import steadyml

Invoke = Callable[..., Result]  # the fixtures of conftest.py
MakeProject = Callable[..., Path]


@pytest.mark.slow  # generates 20,000 customers × 12 months
def test_cli_init_template_writes_a_valid_project(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "x"), "--template", "churn", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["rows"] >= 20_000 * 12 * 0.9
    project = steadyml.open(tmp_path / "x", env={})
    assert project.config.project.name == "x"
    frame = pd.read_csv(project.data_path(), usecols=["customer_id", "snapshot_month"])
    assert frame["customer_id"].nunique() >= 20_000
    assert frame["snapshot_month"].nunique() == 12


def test_init_refuses_to_overwrite(invoke: Invoke, make_project: MakeProject) -> None:
    root = make_project("p")
    result = invoke("init", root, "--template", "churn")
    assert result.exit_code == 1
    assert "Error: " in result.stderr
    assert "already exists; steadyml will not overwrite a project file." in result.stderr
    assert "--force" in result.stderr


def test_init_from_data_then_check(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    n = 400
    words = (
        "left at the door customer asked for a call before delivery package was "
        "damaged sent again late early friendly driver"
    ).split()
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i:05d}" for i in range(n)],
            "placed": pd.date_range("2025-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "amount": rng.gamma(2, 30, n).round(2),
            "store_code": rng.choice([101, 205, 330], n),
            "items": rng.integers(1, 9, n),
            "note": [" ".join(rng.choice(words, rng.integers(5, 12))) for _ in range(n)],
            "returned": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        }
    )
    frame.loc[rng.choice(n, 30, replace=False), "amount"] = np.nan
    src = tmp_path / "orders.csv"
    frame.to_csv(src, index=False)
    result = invoke("init", tmp_path / "orders", "--data", src, "--target", "returned")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "orders" / "steadyml.yaml").read_text(encoding="utf-8")
    assert "# " in text  # each role carries a reason
    project = steadyml.open(tmp_path / "orders", env={})
    roles = project.config.data.roles()
    assert roles.id == "order_id" and roles.timestamp == "placed"
    assert "store_code" in roles.categorical and "amount" in roles.numeric
    assert "note" in roles.text
    rules = {r.metric for r in project.config.monitoring.alerts}  # starting alert rules
    assert {"drift:*", "missing_increase:*", "performance_drop", "error_rate"} <= rules
    monkeypatch.chdir(tmp_path / "orders")
    result = invoke("data", "check", "--json")
    assert result.exit_code == 0, result.output
    assert "Not written yet in steadyml.yaml: project.problem, project.users" in result.stderr
    assert "owners.release_approver" in result.stderr
    payload = json.loads(result.stdout)
    assert payload["task"] == "classification"
    assert payload["rows"] == n


def test_usage_errors_exit_2(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("init", tmp_path / "x")
    assert result.exit_code == 2
    assert "give either --template NAME" in result.output
    result = invoke("init", tmp_path / "x", "--data", "a.csv")
    assert result.exit_code == 2
    assert "--data needs --target COL" in result.output
    result = invoke("data", "chekc")
    assert result.exit_code == 2


def test_a_regression_project_watches_the_drop_as_a_share(invoke: Invoke, tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"rooms": rng.integers(2, 9, 300), "area": rng.gamma(3, 400, 300)})
    frame["price"] = frame["area"] * 120 + rng.normal(0, 5000, 300)
    frame.to_csv(tmp_path / "houses.csv", index=False)
    result = invoke("init", tmp_path / "h", "--data", tmp_path / "houses.csv", "--target", "price")
    assert result.exit_code == 0, result.output
    project = steadyml.open(tmp_path / "h", env={})
    drop = next(r for r in project.config.monitoring.alerts if r.name == "performance drop")
    # the error is in the target's units (dollars): a line of 0.05 on it would fire on noise
    assert (drop.metric, drop.threshold) == ("performance_drop_share", 0.1)
