"""Fairness numbers equal fairlearn's, computed independently on the same arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, mean_absolute_error

from steadyml.training import fairness_report


def binary_case(n: int = 600, seed: int = 5) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    gender = rng.choice(["f", "m", "x"], n, p=[0.5, 0.46, 0.04])
    age = rng.choice(["young", "old"], n).astype(object)
    age[:40] = None
    y_true = rng.choice(["stay", "leave"], n, p=[0.7, 0.3])
    flip = rng.random(n) < np.where(gender == "m", 0.35, 0.15)
    y_pred = np.where(flip, np.where(y_true == "leave", "stay", "leave"), y_true)
    return y_true, y_pred, pd.DataFrame({"gender": gender, "age": age})


def test_binary_fairness_equals_fairlearn() -> None:
    y_true, y_pred, sens = binary_case()
    report = fairness_report(y_true, y_pred, sens, "classification", "leave")
    yt, yp = (y_true == "leave").astype(int), (y_pred == "leave").astype(int)
    gender = sens["gender"].to_numpy()
    frame = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=yt,
        y_pred=yp,
        sensitive_features=gender,
    )
    col = report["columns"]["gender"]
    for group in ("f", "m", "x"):
        g = col["groups"][group]
        assert g["n"] == int((gender == group).sum())
        assert g["selection_rate"] == pytest.approx(frame.by_group.loc[group, "sr"])
        assert g["tpr"] == pytest.approx(frame.by_group.loc[group, "tpr"])
        assert g["fpr"] == pytest.approx(frame.by_group.loc[group, "fpr"])
    # group "x" has fewer than 30 rows: reported, but left out of the gap
    assert col["groups"]["x"]["too_few"] is True
    keep = gender != "x"
    dpd = demographic_parity_difference(yt[keep], yp[keep], sensitive_features=gender[keep])
    eod = equalized_odds_difference(yt[keep], yp[keep], sensitive_features=gender[keep])
    assert col["demographic_parity_difference"] == pytest.approx(dpd)
    assert col["equalized_odds_difference"] == pytest.approx(eod)
    assert col["gap"] == pytest.approx(max(dpd, eod))
    assert any("'gender'" in w and "x" in w for w in report["warnings"])


def test_missing_sensitive_values_are_their_own_group() -> None:
    y_true, y_pred, sens = binary_case()
    report = fairness_report(y_true, y_pred, sens, "classification", "leave")
    groups = report["columns"]["age"]["groups"]
    assert groups["(missing)"]["n"] == 40
    assert sum(g["n"] for g in groups.values()) == len(y_true)
    assert report["largest_gap"] == max(c["gap"] for c in report["columns"].values())


def test_multiclass_gap_is_best_minus_worst_accuracy() -> None:
    rng = np.random.default_rng(2)
    y_true = rng.choice(["a", "b", "c"], 300)
    group = np.repeat(["g1", "g2", "g3"], 100)
    y_pred = np.where(rng.random(300) < np.repeat([0.1, 0.3, 0.5], 100), "a", y_true)
    report = fairness_report(y_true, y_pred, pd.DataFrame({"team": group}), "classification", None)
    acc = MetricFrame(
        metrics=accuracy_score, y_true=y_true, y_pred=y_pred, sensitive_features=group
    )
    col = report["columns"]["team"]
    assert col["gap"] == pytest.approx(acc.difference())
    assert col["groups"]["g2"]["accuracy"] == pytest.approx(acc.by_group["g2"])


def test_regression_gap_and_relative_gap() -> None:
    rng = np.random.default_rng(4)
    y_true = rng.normal(100, 10, 200)
    group = np.repeat(["north", "south"], 100)
    y_pred = y_true + rng.normal(0, np.repeat([2.0, 6.0], 100))
    report = fairness_report(y_true, y_pred, pd.DataFrame({"region": group}), "regression", None)
    mae = MetricFrame(
        metrics=mean_absolute_error, y_true=y_true, y_pred=y_pred, sensitive_features=group
    )
    col = report["columns"]["region"]
    assert col["gap"] == pytest.approx(mae.difference())
    assert col["relative_gap"] == pytest.approx(mae.difference() / mae.by_group.max())
    assert report["largest_gap"] == pytest.approx(col["relative_gap"])
    assert report["largest_gap_measure"] == "relative_gap"


def test_no_sensitive_columns_gives_an_empty_report() -> None:
    report = fairness_report([1, 0], [1, 1], pd.DataFrame(index=range(2)), "classification", 1)
    assert report["columns"] == {} and report["largest_gap"] is None
