"""``data check`` with the user's own train/test split (``training.split.method: column``):
the overlap check splits the rows as training will, and a file without the split column is
still checked."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steadyml.data.check import run_checks
from steadyml.data.contract import infer_contract
from steadyml.data.leakage import check_leakage
from steadyml.entities import Finding, Roles

ROLES = Roles(target="y", numeric=("x1", "x2"), categorical=("c",), drop={"part": "the split"})


def _frame(n: int = 400, copies: int = 12, seed: int = 0) -> pd.DataFrame:
    """``n`` rows, the last quarter marked test in ``part``; ``copies`` of the test rows
    repeat a training row's features exactly."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n).round(4),
            "x2": rng.normal(size=n).round(4),
            "c": rng.choice(["a", "b", "c"], n),
            "y": rng.integers(0, 2, n),
            "part": np.where(np.arange(n) < n * 3 // 4, "train", "Test"),
        }
    )
    test_rows = df.index[df["part"] == "Test"][:copies]
    df.loc[test_rows, ["x1", "x2", "c"]] = df.loc[df.index[:copies], ["x1", "x2", "c"]].to_numpy()
    return df


def _overlap(findings: list[Finding]) -> Finding:
    (found,) = [f for f in findings if f.rule == "train_test_overlap"]
    return found


def test_the_overlap_check_uses_the_users_split() -> None:
    df = _frame()
    findings = check_leakage(
        df, ROLES, task="classification", split_method="column", split_column="part"
    )
    overlap = _overlap(findings)
    assert overlap.details["split_method"] == "column"
    assert overlap.details["test_rows"] == 100  # the rows marked Test (any case), not 20 %
    assert overlap.details["count"] == 12
    assert "12 of 100 test rows" in overlap.message


def test_the_overlap_check_takes_the_users_test_values() -> None:
    df = _frame()
    df["part"] = df["part"].replace({"Test": "holdout-2024"})
    findings = check_leakage(
        df,
        ROLES,
        task="classification",
        split_method="column",
        split_column="part",
        split_test_values=["HOLDOUT-2024"],
    )
    assert _overlap(findings).details["test_rows"] == 100


def test_run_checks_passes_the_split_column_through() -> None:
    df = _frame()
    contract = infer_contract(df, ROLES)
    _report, _quality, leakage, _roles, task = run_checks(
        df, ROLES, contract, split_method="column", split_column="part"
    )
    assert task == "classification"
    overlap = _overlap(leakage)
    assert (overlap.details["split_method"], overlap.details["test_rows"]) == ("column", 100)


def test_a_file_without_the_split_column_is_checked_with_a_random_split() -> None:
    df = _frame()
    contract = infer_contract(df, ROLES)
    scoring = df.drop(columns=["part"])  # a file to score has no split column
    *_, leakage, _roles, task = run_checks(
        scoring, ROLES, contract, split_method="column", split_column="part"
    )
    assert task == "classification"
    assert _overlap(leakage).details["split_method"] == "random"


def test_a_file_holding_only_test_rows_is_checked_with_a_random_split() -> None:
    df = _frame()
    contract = infer_contract(df, ROLES)
    only_test = df[df["part"] == "Test"].reset_index(drop=True)
    only_test = pd.concat([only_test, only_test.iloc[:30]], ignore_index=True)  # repeats
    *_, leakage, _roles, task = run_checks(
        only_test, ROLES, contract, split_method="column", split_column="part"
    )
    assert task == "classification"
    assert _overlap(leakage).details["split_method"] == "random"


def test_a_file_from_a_single_month_is_checked_with_a_random_split() -> None:
    df = _frame().drop(columns=["part"])
    df["month"] = "2024-05"
    roles = Roles(target="y", numeric=("x1", "x2"), categorical=("c",), timestamp="month")
    contract = infer_contract(df, roles)
    *_, leakage, _roles, task = run_checks(df, roles, contract, split_method="time")
    assert task == "classification"
    assert _overlap(leakage).details["split_method"] == "random"
