"""Leakage checks and the train/test split, on synthetic data with known answers."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.data.leakage import check_leakage, count_overlap
from steadyml.data.split import split_rows
from steadyml.entities import Roles
from steadyml.errors import DataError

NUMERIC = tuple(f"x{i}" for i in range(7))
CATEGORICAL = ("region", "plan", "channel")


def _clean_classification(n=3000, seed=0):
    """Ten columns, each a little predictive; together decent, none near perfect."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    data = {name: 0.5 * latent + rng.normal(size=n) for name in NUMERIC}
    for name in CATEGORICAL:
        noisy = latent + rng.normal(size=n) * 1.5
        data[name] = np.where(noisy > 0.5, "a", np.where(noisy > -0.5, "b", "c"))
    data["churned"] = (latent + rng.normal(size=n) * 0.8 > 1.0).astype(int)
    return pd.DataFrame(data)


def _roles(**extra):
    base = {"target": "churned", "numeric": NUMERIC, "categorical": CATEGORICAL}
    base.update(extra)
    return Roles(**base)


def _by_rule(findings, rule):
    return [f for f in findings if f.rule == rule]


def test_clean_data_raises_no_false_alarm():
    findings = check_leakage(_clean_classification(), _roles(), task="classification")
    assert [f for f in findings if f.severity == "error"] == []
    assert _by_rule(findings, "single_column_predictor") == []


def test_column_filled_only_for_positives_is_caught_and_named():
    df = _clean_classification()
    rng = np.random.default_rng(5)
    reasons = rng.choice(["price", "service", "moved"], size=len(df))
    df["cancellation_reason"] = np.where(df["churned"] == 1, reasons, None)
    roles = _roles(categorical=(*CATEGORICAL, "cancellation_reason"))
    findings = check_leakage(df, roles, task="classification")
    [leak] = _by_rule(findings, "single_column_predictor")
    assert leak.severity == "error" and leak.column == "cancellation_reason"
    assert "'cancellation_reason' alone predicts 'churned'" in leak.message
    assert leak.details["metric"] == "ROC AUC" and leak.details["score"] >= 0.95
    assert leak.details["baseline"] == pytest.approx(0.5, abs=0.01)
    assert leak.details["missing_hint"] == "only filled when churned = 1"
    assert "drop" in leak.fix and leak.check == "leakage"
    # the name hint is not repeated for a column already flagged as an error
    assert _by_rule(findings, "post_outcome_name") == []


def test_undeclared_column_is_checked_too():
    df = _clean_classification()
    df["refund_amount"] = np.where(df["churned"] == 1, 20.0, 0.0)
    findings = check_leakage(df, _roles(), task="classification")
    assert [f.column for f in _by_rule(findings, "single_column_predictor")] == ["refund_amount"]


def test_multiclass_copy_of_target_is_caught():
    df = _clean_classification()
    df["churned"] = pd.cut(df["x0"] + df["x1"], 3, labels=["low", "mid", "high"]).astype(str)
    df["tier"] = df["churned"].map({"low": "L", "mid": "M", "high": "H"})
    roles = _roles(categorical=(*CATEGORICAL, "tier"))
    findings = check_leakage(df, roles, task="classification")
    assert [f.column for f in _by_rule(findings, "single_column_predictor")] == ["tier"]


def test_regression_noisy_copy_of_target_is_caught():
    rng = np.random.default_rng(2)
    n = 2000
    data = {name: rng.normal(size=n) for name in NUMERIC}
    price = 3 * data["x0"] + data["x1"] + rng.normal(size=n) * 2
    data["price"] = price
    data["price_check"] = price + rng.normal(size=n) * 0.1
    df = pd.DataFrame(data)
    roles = Roles(target="price", numeric=(*NUMERIC, "price_check"))
    findings = check_leakage(df, roles, task="regression", split_method="random")
    [leak] = _by_rule(findings, "single_column_predictor")
    assert leak.column == "price_check" and leak.details["metric"] == "R²"
    assert leak.details["score"] >= 0.95 and abs(leak.details["baseline"]) < 0.05


def test_regression_with_stratified_split_says_what_to_use():
    df = _clean_classification()
    with pytest.raises(DataError, match="random"):
        check_leakage(df, Roles(target="x0", numeric=NUMERIC[1:]), task="regression")


def test_id_like_feature_is_flagged():
    df = _clean_classification()
    df["account_number"] = np.random.default_rng(0).permutation(len(df)) + 10_000
    df["user_id"] = np.arange(len(df)) % 7
    roles = _roles(numeric=(*NUMERIC, "account_number", "user_id"))
    findings = _by_rule(check_leakage(df, roles, task="classification"), "id_like_feature")
    assert {f.column for f in findings} == {"account_number", "user_id"}
    assert all(f.severity == "warning" and "id" in f.fix for f in findings)


def test_declared_post_outcome_columns():
    df = _clean_classification()
    df["closed_date_known"] = np.random.default_rng(0).integers(0, 2, len(df))
    roles = _roles(numeric=(*NUMERIC, "closed_date_known"), drop={"x6": "filled by support"})
    post = {"closed_date_known": "set when the account closes", "x6": "filled by support"}
    findings = _by_rule(
        check_leakage(df, roles, task="classification", post_outcome=post), "declared_post_outcome"
    )
    severity = {f.column: f.severity for f in findings}
    assert severity == {"closed_date_known": "error", "x6": "info"}


def test_post_outcome_name_is_only_a_warning():
    df = _clean_classification()
    df["final_plan"] = df["plan"]
    roles = _roles(categorical=(*CATEGORICAL, "final_plan"))
    findings = check_leakage(df, roles, task="classification")
    [named] = _by_rule(findings, "post_outcome_name")
    assert named.column == "final_plan" and named.severity == "warning"
    assert not [f for f in findings if f.severity == "error"]


def test_train_test_overlap_is_counted_exactly():
    df = _clean_classification(n=1000)
    copies = df.iloc[:100].copy()
    df = pd.concat([df, copies], ignore_index=True)
    roles = _roles()
    train, test = split_rows(df, roles, "random", 0.2, seed=4)
    cols = list(roles.features)
    train_rows = set(map(tuple, df.loc[train, cols].to_numpy().tolist()))
    expected = sum(tuple(r) in train_rows for r in df.loc[test, cols].to_numpy().tolist())
    assert expected > 0
    assert count_overlap(df, cols, train, test) == expected
    findings = check_leakage(df, roles, task="classification", split_method="random", seed=4)
    [overlap] = _by_rule(findings, "train_test_overlap")
    assert overlap.details["count"] == expected
    assert overlap.severity == "warning" and f"{expected} of {len(test)}" in overlap.message
    clean = check_leakage(df.iloc[:1000], roles, task="classification", split_method="random")
    assert _by_rule(clean, "train_test_overlap") == []


def test_time_split_never_tests_on_the_past():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "month": rng.choice(
                pd.date_range("2023-01-01", periods=12, freq="MS").astype(str), 500
            ),
            "churned": rng.integers(0, 2, 500),
        }
    )
    train, test = split_rows(df, Roles(target="churned", timestamp="month"), "time", 0.25)
    assert len(train) + len(test) == len(df) and not set(train) & set(test)
    assert df.loc[test, "month"].min() > df.loc[train, "month"].max()
    assert df.loc[test, "month"].nunique() == 3


def test_time_split_without_timestamp_explains_the_fix():
    df = _clean_classification(n=100)
    with pytest.raises(DataError, match="no timestamp column") as info:
        split_rows(df, _roles(), "time")
    assert "timestamp:" in str(info.value)


def test_stratified_split_on_a_quantity_is_refused():
    df = _clean_classification(n=100)
    with pytest.raises(DataError, match="regression"):
        split_rows(df, Roles(target="x0"), "stratified")


def test_stratified_split_keeps_class_shares():
    df = _clean_classification(n=1000)
    _, test = split_rows(df, _roles(), "stratified", 0.2, seed=1)
    assert df.loc[test, "churned"].mean() == pytest.approx(df["churned"].mean(), abs=0.005)
    assert split_rows(df, _roles(), "stratified", 0.2, seed=1)[1].equals(test)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(20, 200),
    test_size=st.floats(0.1, 0.5),
    method=st.sampled_from(["random", "stratified", "time"]),
    seed=st.integers(0, 1000),
)
def test_split_indexes_partition_the_frame(n, test_size, method, seed):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {"t": rng.integers(0, 6, n), "churned": np.arange(n) % 2}, index=rng.permutation(n) * 3
    )
    train, test = split_rows(df, Roles(target="churned", timestamp="t"), method, test_size, seed)
    assert sorted([*train, *test]) == sorted(df.index)
    assert len(train) > 0 and len(test) > 0


@pytest.mark.slow
def test_large_table_finishes_quickly():
    n = 250_000
    rng = np.random.default_rng(0)
    latent = rng.normal(size=n)
    data = {f"n{i}": 0.3 * latent + rng.normal(size=n) for i in range(12)}
    data.update({f"c{i}": rng.choice(["a", "b", "c", "d"], n) for i in range(5)})
    data["reason"] = np.where(latent > 1, "left", None)
    data["churned"] = (latent > 1).astype(int)
    df = pd.DataFrame(data)
    roles = Roles(
        target="churned",
        numeric=tuple(f"n{i}" for i in range(12)),
        categorical=(*(f"c{i}" for i in range(5)), "reason"),
    )
    start = time.perf_counter()
    findings = check_leakage(df, roles, task="classification")
    assert time.perf_counter() - start < 5.0
    assert [f.column for f in findings if f.severity == "error"] == ["reason"]
    assert check_leakage(df, roles, task="classification") == findings  # deterministic
