"""Tests for the churn teaching dataset (steadyml.samples.churn)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier

from steadyml.samples.churn import (
    LEAK_COLUMN,
    NEW_PAYMENT_METHOD,
    TARGET,
    make_churn_history,
    make_churn_live,
)

EXPECTED_COLUMNS = [
    "customer_id",
    "snapshot_month",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "data_usage_gb",
    "support_calls",
    "contract",
    "payment_method",
    "plan",
    "region",
    "gender",
    "age_band",
    "email",
    "phone",
    LEAK_COLUMN,
    TARGET,
]
STRING_COLUMNS = [
    "customer_id",
    "contract",
    "payment_method",
    "plan",
    "region",
    "gender",
    "age_band",
    "email",
    "phone",
]
CATEGORY_VALUES = {
    "contract": {"month-to-month", "one-year", "two-year"},
    "payment_method": {"credit_card", "bank_transfer", "electronic_check", "mailed_check"},
    "plan": {"basic", "standard", "premium"},
    "region": {"north", "south", "east", "west"},
    "gender": {"female", "male", "other"},
    "age_band": {"18-24", "25-34", "35-44", "45-54", "55-64", "65+"},
}
REASONS = {"price", "competitor", "service", "moved", "other"}
SMALL = 2_000


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return make_churn_history(n_customers=SMALL)


@pytest.fixture(scope="module")
def live() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_churn_live(n_customers=SMALL)


def _single_column_auc(values: pd.Series, y: pd.Series) -> float:
    """3-fold CV ROC AUC of a depth-4 tree on one column (ordinal codes, NaN -> -999)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        x = values.astype("int64").to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype=float)
    else:
        codes, _ = pd.factorize(values, sort=True)
        x = np.where(codes < 0, np.nan, codes).astype(float)
    x = np.nan_to_num(x, nan=-999.0).reshape(-1, 1)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    model = DecisionTreeClassifier(max_depth=4, random_state=0)
    return float(cross_val_score(model, x, y, cv=cv, scoring="roc_auc").mean())


def test_columns_and_dtypes(history: pd.DataFrame) -> None:
    assert list(history.columns) == EXPECTED_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(history["snapshot_month"])
    for column in ("tenure_months", "support_calls", TARGET):
        assert pd.api.types.is_integer_dtype(history[column]), column
    for column in ("monthly_charges", "total_charges", "data_usage_gb"):
        assert pd.api.types.is_float_dtype(history[column]), column
    for column in STRING_COLUMNS:
        assert pd.api.types.is_string_dtype(history[column]), column
    for column, allowed in CATEGORY_VALUES.items():
        assert set(history[column].unique()) == allowed, column


def test_value_ranges(history: pd.DataFrame) -> None:
    assert (history["snapshot_month"].dt.day == 1).all()
    assert (history["tenure_months"] >= 0).all()
    charges = history["monthly_charges"]
    assert charges.between(20, 120).all()
    assert (charges.round(2) == charges).all()
    assert (history["total_charges"] >= 0).all()
    assert history["customer_id"].str.fullmatch(r"C\d{7}").all()
    assert history["email"].str.contains("@").all()
    assert history["phone"].str.fullmatch(r"\+1-555-\d{7}").all()
    usage = history["data_usage_gb"]
    assert (usage.dropna() >= 0).all()
    assert 0.01 < usage.isna().mean() < 0.03
    calls = history["support_calls"]
    assert calls.between(-1, 15).all()
    assert 0.002 < (calls == -1).mean() < 0.01
    assert 0.005 < (history["gender"] == "other").mean() < 0.04


def test_population_dynamics(history: pd.DataFrame) -> None:
    per_month = history.groupby("snapshot_month").size()
    assert len(per_month) == 12
    assert (per_month == SMALL).all()
    ordered = history.sort_values(["customer_id", "snapshot_month"])
    steps = ordered.groupby("customer_id")["tenure_months"].diff().dropna()
    assert (steps == 1).all()
    last_month = ordered.groupby("customer_id")["snapshot_month"].transform("max")
    churners = ordered[ordered[TARGET] == 1]
    assert (churners["snapshot_month"] == last_month[churners.index]).all()
    assert not churners["customer_id"].duplicated().any()
    assert history["customer_id"].nunique() > SMALL


def test_default_size() -> None:
    frame = make_churn_history()
    assert frame["customer_id"].nunique() >= 20_000
    assert frame["snapshot_month"].nunique() == 12
    assert frame["snapshot_month"].min() == pd.Timestamp("2025-01-01")


def test_history_is_deterministic() -> None:
    first = make_churn_history(n_customers=500, months=3)
    pd.testing.assert_frame_equal(first, make_churn_history(n_customers=500, months=3))
    other = make_churn_history(n_customers=500, months=3, seed=8)
    assert not first.equals(other)


def test_live_is_deterministic() -> None:
    features, labels = make_churn_live(n_customers=500)
    again_features, again_labels = make_churn_live(n_customers=500)
    pd.testing.assert_frame_equal(features, again_features)
    pd.testing.assert_frame_equal(labels, again_labels)
    other_features, _ = make_churn_live(n_customers=500, seed=12)
    assert not features.equals(other_features)


def test_leak_is_filled_only_for_churners(history: pd.DataFrame) -> None:
    filled = history[LEAK_COLUMN].notna()
    assert (filled == (history[TARGET] == 1)).all()
    assert set(history.loc[filled, LEAK_COLUMN].unique()) == REASONS


def test_churn_rate_in_range(history: pd.DataFrame) -> None:
    assert 0.05 <= history[TARGET].mean() <= 0.09
    monthly = history.groupby("snapshot_month")[TARGET].mean()
    assert monthly.between(0.04, 0.10).all()


def test_leak_alone_predicts_target(history: pd.DataFrame) -> None:
    auc = _single_column_auc(history[LEAK_COLUMN].notna().astype(int), history[TARGET])
    assert auc > 0.99


def test_no_single_honest_column_predicts_target(history: pd.DataFrame) -> None:
    aucs = {
        column: _single_column_auc(history[column], history[TARGET])
        for column in history.columns
        if column not in (TARGET, LEAK_COLUMN)
    }
    too_strong = {column: auc for column, auc in aucs.items() if auc >= 0.80}
    assert not too_strong, too_strong
    assert max(aucs.values()) > 0.65  # there is real signal


def test_all_honest_features_are_learnable(history: pd.DataFrame) -> None:
    features = history.drop(
        columns=[TARGET, LEAK_COLUMN, "customer_id", "snapshot_month", "email", "phone"]
    )
    for column in CATEGORY_VALUES:
        features[column] = features[column].astype("category")
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    auc = cross_val_score(model, features, history[TARGET], cv=cv, scoring="roc_auc").mean()
    assert 0.74 <= auc <= 0.88


def test_live_columns(live: tuple[pd.DataFrame, pd.DataFrame], history: pd.DataFrame) -> None:
    features, labels = live
    expected = [c for c in EXPECTED_COLUMNS if c not in (TARGET, LEAK_COLUMN)]
    assert list(features.columns) == expected
    for column in expected:
        assert features[column].dtype == history[column].dtype, column
    assert list(labels.columns) == ["customer_id", "snapshot_month", TARGET, "label_arrived_at"]
    assert len(labels) == len(features)
    pd.testing.assert_series_equal(labels["customer_id"], features["customer_id"])
    pd.testing.assert_series_equal(labels["snapshot_month"], features["snapshot_month"])
    assert set(labels[TARGET].unique()) == {0, 1}
    months = sorted(features["snapshot_month"].unique())
    assert months[0] == pd.Timestamp("2026-01-01")
    assert len(months) == 4


def test_live_ids_do_not_collide(
    live: tuple[pd.DataFrame, pd.DataFrame], history: pd.DataFrame
) -> None:
    features, _ = live
    assert features["customer_id"].str.fullmatch(r"L\d{7}").all()
    assert not set(features["customer_id"]) & set(history["customer_id"])
    full_history = make_churn_history(n_customers=500, months=2)
    assert not set(features["customer_id"]) & set(full_history["customer_id"])


def test_labels_arrive_late(live: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    _, labels = live
    month_end = labels["snapshot_month"] + pd.DateOffset(months=1)
    delay = labels["label_arrived_at"] - month_end
    assert (delay >= pd.Timedelta(0)).all()
    assert (delay <= pd.Timedelta(days=10)).all()
    assert delay.nunique() > 5


def test_live_drift(live: tuple[pd.DataFrame, pd.DataFrame], history: pd.DataFrame) -> None:
    features, labels = live
    month_index = features["snapshot_month"].dt.to_period("M").astype("int64")
    month_index = month_index - month_index.min()
    before, after = features[month_index < 2], features[month_index >= 2]

    # Before the drift month the data looks like training.
    assert NEW_PAYMENT_METHOD not in set(before["payment_method"])
    assert set(before["payment_method"]) <= CATEGORY_VALUES["payment_method"]
    assert before["data_usage_gb"].isna().mean() < 0.04
    ratio_before = before["monthly_charges"].mean() / history["monthly_charges"].mean()
    assert 0.93 < ratio_before < 1.07

    # From the drift month on: price rise, unseen payment method, missing-value spike.
    assert after["monthly_charges"].mean() > 1.08 * before["monthly_charges"].mean()
    assert NEW_PAYMENT_METHOD not in set(history["payment_method"])
    for _, month in after.groupby("snapshot_month"):
        assert 0.06 < (month["payment_method"] == NEW_PAYMENT_METHOD).mean() < 0.14
        assert 0.28 < month["data_usage_gb"].isna().mean() < 0.42

    # Concept drift: more customers leave after the price rise.
    churn_before = labels.loc[before.index, TARGET].mean()
    churn_after = labels.loc[after.index, TARGET].mean()
    assert churn_after > churn_before


def test_live_drift_month_is_configurable() -> None:
    features, _ = make_churn_live(n_customers=500, months=3, drift_from_month=0)
    for _, month in features.groupby("snapshot_month"):
        assert (month["payment_method"] == NEW_PAYMENT_METHOD).any()
    features, _ = make_churn_live(n_customers=500, months=3, drift_from_month=3)
    assert NEW_PAYMENT_METHOD not in set(features["payment_method"])


@pytest.mark.parametrize(
    ("call", "kwargs", "message"),
    [
        (make_churn_history, {"n_customers": 0}, "n_customers"),
        (make_churn_history, {"months": 0}, "months"),
        (make_churn_live, {"drift_from_month": -1}, "drift_from_month"),
    ],
)
def test_bad_arguments_raise(
    call: Callable[..., object], kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(**kwargs)


def test_weekly_traffic_is_dated_by_week_with_one_row_per_customer_and_week() -> None:
    from steadyml.samples.churn import make_churn_weeks

    features, labels = make_churn_weeks(n_customers=300, weeks=4, drift_from_week=3)
    assert sorted(features["snapshot_month"].unique()) == [
        "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"
    ]  # fmt: skip
    assert features["customer_id"].is_unique and labels["customer_id"].is_unique
    assert set(features["customer_id"]) == set(labels["customer_id"])
    mean = features.groupby("snapshot_month")["monthly_charges"].mean().tolist()
    assert min(mean[2:]) > max(mean[:2])  # the price rise starts in week 3
    with pytest.raises(ValueError, match="drift_from_week must be >= 1"):
        make_churn_weeks(drift_from_week=0)
