"""Metrics equal scikit-learn's, computed directly; segments and latency are reported."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, Ridge

from steadyml.entities import Roles
from steadyml.errors import SteadyMLError
from steadyml.training import KNOWN_METRICS, build_pipeline, evaluate, measure_latency
from steadyml.training.evaluate import (
    check_primary_metric,
    choose_positive_label,
    predict_scores,
    segment_metrics,
)


def classification_data(n: int = 400, classes: int = 2, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    score = x1 + 0.5 * x2 + rng.normal(scale=0.8, size=n)
    cuts = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    label = np.digitize(score, cuts)
    names = np.array(["no", "yes"]) if classes == 2 else np.array(["low", "mid", "high"])
    return pd.DataFrame(
        {"x1": x1, "x2": x2, "city": rng.choice(["a", "b", "c"], n), "y": names[label]}
    )


ROLES = Roles(target="y", numeric=("x1", "x2"), categorical=("city",))


def test_binary_metrics_equal_sklearn() -> None:
    df = classification_data()
    pipe = build_pipeline(ROLES, LogisticRegression(max_iter=1000)).fit(df, df["y"])
    m = evaluate(pipe, df, df["y"], "classification", positive_label="yes", threshold=0.4)
    p_yes = pipe.predict_proba(df)[:, list(pipe.classes_).index("yes")]
    pred = np.where(p_yes >= 0.4, "yes", "no")
    y = df["y"].to_numpy()
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, pos_label="yes"))
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred, pos_label="yes"))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, pos_label="yes"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y == "yes", p_yes))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, pipe.predict_proba(df)))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y == "yes", p_yes))
    assert m["threshold"] == 0.4 and m["positive_label"] == "yes"
    assert m["confusion_matrix"]["labels"] == ["no", "yes"]
    assert (
        m["confusion_matrix"]["matrix"]
        == skm.confusion_matrix(y, pred, labels=["no", "yes"]).tolist()
    )
    json.dumps(m)


def test_multiclass_metrics_equal_sklearn() -> None:
    df = classification_data(classes=3)
    pipe = build_pipeline(ROLES, LogisticRegression(max_iter=1000)).fit(df, df["y"])
    m = evaluate(pipe, df, df["y"], "classification")
    proba = pipe.predict_proba(df)
    pred = pipe.classes_[proba.argmax(axis=1)]
    y = df["y"].to_numpy()
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="macro")
    )
    assert m["brier"] is None and m["threshold"] is None
    assert len(m["confusion_matrix"]["matrix"]) == 3


def test_regression_metrics_equal_sklearn_and_mape_is_skipped_with_zeros() -> None:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"x1": rng.normal(size=200), "x2": rng.normal(size=200), "city": "a"})
    df["y"] = 3 * df["x1"] + rng.normal(size=200) + 10
    roles = Roles(target="y", numeric=("x1", "x2"), categorical=("city",))
    pipe = build_pipeline(roles, Ridge()).fit(df, df["y"])
    m = evaluate(pipe, df, df["y"], "regression")
    pred = pipe.predict(df)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(df["y"], pred))
    assert m["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(df["y"], pred)))
    assert m["r2"] == pytest.approx(skm.r2_score(df["y"], pred))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(df["y"], pred))
    with_zero = df["y"].copy()
    with_zero.iloc[0] = 0.0
    m0 = evaluate(pipe, df, with_zero, "regression")
    assert m0["mape"] is None
    assert any("mape" in note for note in m0["notes"])


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0, 1, 1, 1], 1),
        ([True, False, False], True),
        (["no", "yes", "yes"], "yes"),
        (["stay", "leave", "stay"], "leave"),
        (["a", "b", "c"], None),
    ],
)
def test_positive_label_rule(values: list[object], expected: object) -> None:
    assert choose_positive_label(pd.Series(values)) == expected


def test_invalid_primary_metric_lists_the_metrics_for_the_task() -> None:
    with pytest.raises(
        SteadyMLError, match="Metrics available for regression: mae, rmse, r2, mape"
    ):
        check_primary_metric("roc_auc", "regression", "higher_is_better")
    with pytest.raises(SteadyMLError, match="Metric 'auc' cannot grade a classification model"):
        check_primary_metric("auc", "classification", "higher_is_better")


def test_a_metric_read_the_wrong_way_round_is_refused() -> None:
    with pytest.raises(SteadyMLError, match="mae is lower is better"):
        check_primary_metric("mae", "regression", "higher_is_better")


def test_known_metrics_have_directions() -> None:
    assert KNOWN_METRICS["roc_auc"] == "higher_is_better"
    assert KNOWN_METRICS["log_loss"] == "lower_is_better"
    assert set(KNOWN_METRICS) >= {
        "accuracy",
        "precision",
        "recall",
        "f1",
        "brier",
        "mae",
        "rmse",
        "r2",
        "mape",
    }


def test_segment_metrics_mark_small_and_one_class_segments() -> None:
    df = classification_data(n=300)
    pipe = build_pipeline(ROLES, LogisticRegression(max_iter=1000)).fit(df, df["y"])
    seg = pd.DataFrame({"region": ["big"] * 280 + ["small"] * 19 + [None]})
    y = df["y"].to_numpy().copy()
    y[280:299] = "yes"  # the small segment holds a single class
    scores = predict_scores(pipe, df, "classification")
    out = segment_metrics(y, scores, seg, "classification", positive_label="yes")["region"][
        "values"
    ]
    assert out["big"]["n"] == 280 and out["big"]["too_few"] is False
    assert out["small"]["too_few"] is True and out["small"]["roc_auc"] is None
    assert out["(missing)"]["n"] == 1
    mask = np.arange(300) < 280
    assert out["big"]["accuracy"] == pytest.approx(
        skm.accuracy_score(y[mask], pipe.predict(df)[mask])
    )


def test_latency_reports_medians_in_milliseconds() -> None:
    df = classification_data(n=50)
    pipe = build_pipeline(ROLES, DummyClassifier()).fit(df, df["y"])
    lat = measure_latency(pipe, df)
    assert set(lat) == {"one_row_ms", "thousand_rows_ms"}
    assert 0 < lat["one_row_ms"] < 1000 and lat["thousand_rows_ms"] > 0
