"""The measurements of one window, on small hand-made logs (no project, no store)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from steadyml.monitoring.drift import DriftSettings
from steadyml.monitoring.inputs import typed_inputs
from steadyml.monitoring.measures import (
    data_quality,
    system_health,
    window_drift,
)
from steadyml.monitoring.monitor import expand, window_metrics
from steadyml.monitoring.performance import MIN_LABELS, LabelInfo, measure_performance
from steadyml.monitoring.references import (
    CategoricalReference,
    NumericReference,
    prediction_reference,
)

MakeLog = Callable[..., pd.DataFrame]
EVERY = DriftSettings(min_samples=1, large_sample=10**9)
BINARY = LabelInfo(task="classification", classes=[0, 1], positive_label=1, threshold=0.5)
FEATURES = {
    "tenure": {"kind": "numeric", "missing_rate": 0.0, "min": 0.0, "max": 10.0},
    "plan": {"kind": "categorical", "missing_rate": 0.0, "frequencies": {"a": 0.5, "b": 0.5}},
}
CODES = {"tenure": [-1], "plan": ["unknown"]}


def test_system_counts_served_rows_and_failures_not_fallbacks(make_log: MakeLog) -> None:
    log = make_log(
        5,
        route=["live", "live", "batch", "live", "shadow"],
        latency_ms=[1.0, 2.0, 3.0, 4.0, 100.0],
        error=[None, "boom", "timeout", None, None],
        fallback=[False, False, True, False, False],
    )
    system = system_health(log)
    assert system["volume"] == 4  # shadow answers reached nobody
    assert system["by_route"] == {"live": 3, "batch": 1, "shadow": 1}
    assert system["error_rate"] == 0.25  # the fallback answered the timeout
    assert system["fallback_rate"] == 0.25
    assert system["latency_ms"]["p50"] == np.percentile([1.0, 2.0, 3.0, 4.0], 50)


def test_quality_counts_missing_codes_unseen_categories_and_out_of_range(
    make_log: MakeLog,
) -> None:
    log = make_log(
        4, tenure=[-1, 5, 50, "x"], plan=["a", "unknown", "zzz", "b"], extra=[1, 2, 3, 4]
    )
    typed_inputs(log, FEATURES, CODES)
    quality = data_quality(log, 1, 8, {**FEATURES, "gone": {"kind": "numeric"}}, CODES)
    rows = {f["feature"]: f for f in quality["features"]}
    assert quality["rows"] == 4 and quality["contract_violation_rate"] == 1 / 8
    assert rows["tenure"]["missing_rate"] == 0.5  # the code -1 and the text "x"
    assert rows["tenure"]["out_of_range_rate"] == 0.5  # 50 of the two numbers left
    assert rows["plan"]["missing_rate"] == 0.25  # "unknown" is the plan's missing code
    assert rows["plan"]["unseen_categories"] == ["zzz"]
    assert rows["plan"]["unseen_rate"] == pytest.approx(1 / 3)
    assert "not in the logged inputs" in rows["gone"]["message"]
    assert all(f["status"] == "warning" for f in rows.values())


def test_window_drift_names_drifted_and_absent_features_and_tests_predictions(
    make_log: MakeLog,
) -> None:
    rng = np.random.default_rng(3)
    log = make_log(300, tenure=rng.normal(3.0, 1.0, 300), prediction=[1] * 300)
    references = {
        "tenure": NumericReference.from_values(rng.normal(0.0, 1.0, 2000)),
        "plan": CategoricalReference.from_values(["a", "b"] * 100),
    }
    classes = {"kind": "classification", "n": 1000, "class_frequencies": {"0": 0.8, "1": 0.2}}
    prediction = prediction_reference({"prediction": classes})
    assert prediction is not None and prediction.name == "predicted class"
    drift = window_drift(log, log, references, prediction, EVERY)
    assert drift["drifted"] == ["tenure"]
    assert drift["missing_features"] == ["plan"]
    assert drift["prediction"]["feature"] == "predicted class"
    assert drift["prediction"]["drifted"] is True


def test_a_regression_prediction_reference_reads_the_prediction_column() -> None:
    summary = {"kind": "regression", "n": 10, "sample": list(range(10)), "std": 3.0}
    prediction = prediction_reference({"prediction": summary})
    assert prediction is not None
    assert (prediction.name, prediction.column) == ("prediction", "prediction")
    assert prediction_reference({}) is None


def _labelled(make_log: MakeLog, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, n)
    score = np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0, 1)
    return make_log(n, label=[str(v) for v in y], score=score, prediction=(score > 0.5) * 1)


def test_performance_equals_scikit_learn_and_labels_sent_as_text_count(
    make_log: MakeLog,
) -> None:
    scored = _labelled(make_log, 80)
    perf, segments, fairness = measure_performance(
        scored.assign(plan=["a", "b"] * 40), BINARY, {"roc_auc": 0.9}, "roc_auc", ["plan"], []
    )
    expected = roc_auc_score(scored["label"].astype(int), scored["score"])
    assert perf["status"] == "ok" and perf["labelled"] == 80
    assert perf["metrics"]["roc_auc"] == pytest.approx(expected, abs=1e-12)
    assert perf["drop"] == pytest.approx(0.9 - expected)
    assert set(segments["plan"]) == {"a", "b"} and fairness == {}


def test_too_few_or_no_labels_give_a_status_and_no_numbers(make_log: MakeLog) -> None:
    few = measure_performance(_labelled(make_log, MIN_LABELS - 1), BINARY, {}, "f1", [], [])
    none = measure_performance(make_log(50), BINARY, {}, "f1", [], [])
    assert few[0]["status"] == "not enough labels" and few[0]["metrics"] == {}
    assert none[0]["status"] == "waiting for labels" and none[1:] == ({}, {})


def test_window_metrics_name_every_number_and_wildcards_expand(make_log: MakeLog) -> None:
    log = make_log(40, tenure=range(40), plan=["a"] * 40)
    typed_inputs(log, FEATURES, CODES)
    references = {"tenure": NumericReference.from_values(range(40))}
    window = {
        "system": system_health(log),
        "quality": data_quality(log, 0, 40, FEATURES, CODES),
        "drift": window_drift(log, log, references, None, EVERY),
        "performance": measure_performance(log, BINARY, {}, "f1", [], [])[0],
        "fairness": {"sex": {"gap": 0.1}},
    }
    metrics = window_metrics(window)
    assert metrics["volume"] == 40.0 and metrics["drift:tenure"] == 0.0
    assert metrics["drift_share"] == 0.0 and metrics["prediction_drift"] is None
    assert metrics["missing_rate:plan"] == 0.0 and metrics["fairness_gap:sex"] == 0.1
    assert expand("missing_rate:*", metrics) == ["missing_rate:plan", "missing_rate:tenure"]
    assert expand("volume", metrics) == ["volume"]


def test_a_regression_drop_is_also_a_share_of_the_training_value(make_log: MakeLog) -> None:
    # an error in dollars: a line of 0.05 on the absolute drop fires on any noise at all
    from steadyml.config import AlertRule
    from steadyml.monitoring.alerts import describe

    y = np.linspace(100_000, 200_000, 60)
    scored = make_log(60, label=[str(v) for v in y], prediction=y + 30_000.0)
    info = LabelInfo(task="regression", classes=[], positive_label=None, threshold=None)
    perf = measure_performance(scored, info, {"mae": 10_000.0}, "mae", [], [])[0]
    assert perf["metrics"]["mae"] == pytest.approx(30_000.0)
    assert perf["drop"] == pytest.approx(20_000.0) and perf["drop_share"] == pytest.approx(2.0)
    window = {"label": "2026-12-07", "performance": perf, "success_metric": "mae"}
    rule = AlertRule(name="drop", metric="performance_drop_share", comparison=">", threshold=0.1)
    message, next_step = describe("performance_drop_share", None, 2.0, rule, window)
    assert message == (
        "Performance dropped in 2026-12-07: mae 30,000 on 60 labelled predictions, 20,000 "
        "worse than in training (+200%)"
    )
    assert "steadyml retrain" in next_step
