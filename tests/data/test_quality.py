"""Quality report: exact numbers and findings a beginner can act on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from steadyml.data.quality import quality_report
from steadyml.entities import Roles


def _rules(report, rule):
    return [f for f in report.findings if f.rule == rule]


def _frame(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, size=n),
            "income": rng.normal(50_000, 10_000, size=n),
            "calls": rng.poisson(3, size=n),
            "plan": rng.choice(["basic", "plus", "pro"], size=n),
            "y": rng.integers(0, 2, size=n),
        }
    )


def test_sentinel_minus_one_is_reported_with_its_count():
    df = _frame()
    df.loc[[3, 50, 99, 400, 777], "calls"] = -1
    report = quality_report(df, Roles(target="y"))
    [finding] = _rules(report, "sentinel_code")
    assert finding.column == "calls"
    assert finding.details["code"] == -1
    assert finding.details["count"] == 5
    assert "'calls'" in finding.message and "-1" in finding.message and "5 row" in finding.message
    assert "missing_codes" in finding.fix and "calls: [-1]" in finding.fix
    assert finding.check == "quality"


def test_sentinel_999999_in_a_float_column_is_reported():
    df = _frame()
    df["income"] = df["income"].clip(0, 900) + 0.5
    df.loc[range(0, 1000, 100), "income"] = 999999.0
    report = quality_report(df, Roles(target="y"))
    [finding] = _rules(report, "sentinel_code")
    assert (finding.column, finding.details["code"], finding.details["count"]) == (
        "income",
        999999,
        10,
    )
    # the code is not counted again as an outlier
    assert not [f for f in _rules(report, "outliers") if f.column == "income"]


def test_minus_one_among_many_negative_values_is_not_a_sentinel():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"delta": rng.integers(-20, 21, size=2000), "y": rng.integers(0, 2, 2000)})
    assert (df["delta"] == -1).sum() >= 3
    assert _rules(quality_report(df, Roles(target="y")), "sentinel_code") == []


def test_rare_code_and_declared_missing_code():
    df = _frame()
    df.loc[[1, 2], "calls"] = -1  # only twice: not a pattern yet
    assert _rules(quality_report(df, Roles(target="y")), "sentinel_code") == []
    df.loc[[1, 2, 3, 4], "calls"] = -1
    report = quality_report(df, Roles(target="y"), missing_codes={"calls": [-1]})
    assert _rules(report, "sentinel_code") == []
    assert report.missing["calls"] == pytest.approx(4 / 1000)


def test_constant_and_near_constant_columns():
    df = _frame()
    df["country"] = "NL"
    df["flag"] = 0
    df.loc[[5, 6, 7], "flag"] = 1  # 99.7 % zeros
    report = quality_report(df, Roles(target="y"))
    [const] = _rules(report, "constant_column")
    [near] = _rules(report, "near_constant_column")
    assert (const.column, const.details["value"], const.severity) == ("country", "NL", "warning")
    assert near.column == "flag" and near.details["share"] == pytest.approx(0.997)


def test_missing_rates_are_exact_and_graded():
    df = _frame(n=200)
    df["income"] = df["income"].astype(float)
    df.loc[:19, "income"] = np.nan  # 10 %
    df.loc[:119, "plan"] = None  # 60 %
    df.loc[:4, "age"] = np.nan  # 2.5 %: below the threshold
    report = quality_report(df, Roles(target="y"))
    assert report.missing == {"age": 0.025, "income": 0.1, "calls": 0.0, "plan": 0.6, "y": 0.0}
    severities = {f.column: f.severity for f in _rules(report, "missing_values")}
    # gaps in a feature can be imputed, so even 60 % is a warning; only the target blocks
    assert severities == {"income": "warning", "plan": "warning"}
    df.loc[:119, "y"] = None
    target = [
        f
        for f in _rules(quality_report(df, Roles(target="y")), "missing_values")
        if f.column == "y"
    ]
    assert [f.severity for f in target] == ["error"]


def test_duplicates_are_exact():
    df = pd.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3, 3, 4],
            "month": ["2024-01", "2024-01", "2024-01", "2024-01", "2024-02", "2024-02", "2024-01"],
            "x": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "y": [0, 0, 1, 0, 1, 1, 0],
        }
    )
    report = quality_report(df, Roles(target="y", id="customer_id", timestamp="month"))
    assert report.duplicate_rows == 1
    assert report.duplicate_keys == 2
    assert quality_report(df, Roles(target="y", id="customer_id")).duplicate_keys == 3
    assert quality_report(df, Roles(target="y")).duplicate_keys is None
    assert {f.rule for f in report.findings} >= {"duplicate_rows", "duplicate_keys"}


def test_class_balance_and_imbalance():
    df = pd.DataFrame({"x": range(1000), "y": ["stay"] * 960 + ["churn"] * 40})
    report = quality_report(df, Roles(target="y"))
    assert report.class_balance == {"stay": 0.96, "churn": 0.04}
    [finding] = _rules(report, "class_imbalance")
    assert finding.severity == "warning" and "'churn'" in finding.message
    assert "accuracy" in finding.why and "recall" in finding.fix
    json.dumps(report.to_dict())


def test_regression_target_has_no_class_balance():
    df = _frame()
    report = quality_report(df, Roles(target="income"))
    assert report.class_balance is None
    assert _rules(report, "class_imbalance") == []


def test_outliers_are_counted_beyond_three_iqr():
    rng = np.random.default_rng(3)
    values = rng.uniform(0, 100, size=1000)
    values[:30] = 10_000 + np.arange(30)  # 3 % far outliers
    df = pd.DataFrame({"amount": values, "y": rng.integers(0, 2, 1000)})
    [finding] = _rules(quality_report(df, Roles(target="y")), "outliers")
    assert finding.column == "amount" and finding.details["count"] == 30


def test_ids_and_pii_are_not_checked_for_codes():
    df = _frame()
    df["phone"] = df["calls"]
    df.loc[[1, 2, 3, 4], ["calls", "phone"]] = -1
    report = quality_report(df, Roles(target="y", pii=("phone",)))
    assert [f.column for f in _rules(report, "sentinel_code")] == ["calls"]


def test_large_table_is_fast():
    import time

    rng = np.random.default_rng(0)
    n = 250_000
    data = {f"n{i}": rng.normal(size=n) for i in range(12)}
    data.update({f"c{i}": rng.choice(["a", "b", "c"], size=n) for i in range(7)})
    data["y"] = rng.integers(0, 2, n)
    df = pd.DataFrame(data)
    start = time.perf_counter()
    quality_report(df, Roles(target="y"))
    assert time.perf_counter() - start < 2.0


@settings(max_examples=40, deadline=None)
@given(
    data_frames(
        columns=[
            column("a", elements=st.one_of(st.none(), st.floats(-1e6, 1e6))),
            column("b", elements=st.one_of(st.none(), st.sampled_from(["x", "y", "z"]))),
            column("t", elements=st.sampled_from([0, 1, 2])),
        ],
        index=range_indexes(min_size=1, max_size=60),
    )
)
def test_missing_rates_match_pandas(df):
    report = quality_report(df, Roles(target="t"))
    assert report.missing == pytest.approx(df.isna().mean().to_dict())
    assert report.rows == len(df) and report.columns == 3
    assert report.duplicate_rows == int(df.duplicated().sum())
