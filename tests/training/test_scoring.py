"""The one scorer: the decision rule on probabilities, as arrays and as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from steadyml.registry.scoring import class_labels, decide, score_arrays, score_frame


@dataclass
class _Bundle:
    """The facts a scorer reads, around a plain scikit-learn model."""

    model: Any
    task: str = "classification"
    positive_label: Any = None
    threshold: float | None = None
    classes: list[Any] | None = None

    def scorer(self) -> Any:
        return self.model


def _fitted(labels: list[Any], seed: int = 0) -> tuple[LogisticRegression, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = np.asarray(labels, dtype=object)[(x["a"] + x["b"] > 0).astype(int)]
    if len(labels) > 2:
        y = np.asarray(labels, dtype=object)[np.digitize(x["a"], [-0.5, 0.5])]
    return LogisticRegression().fit(x, list(y)), x


def test_threshold_one_half_gives_scikit_learns_predictions() -> None:
    model, x = _fitted(["no", "yes"])
    proba = model.predict_proba(x)
    predictions, scores = decide(proba, model.classes_, "yes", None)
    assert predictions.tolist() == model.predict(x).tolist()
    assert scores.tolist() == proba[:, 1].tolist()


def test_the_training_threshold_moves_the_cut() -> None:
    model, x = _fitted([0, 1])
    proba = model.predict_proba(x)
    predictions, scores = decide(proba, model.classes_, 0, 0.8)
    assert scores.tolist() == proba[:, 0].tolist()
    assert predictions.tolist() == np.where(proba[:, 0] >= 0.8, 0, 1).tolist()
    assert type(predictions.tolist()[0]) is int


def test_more_classes_take_the_most_probable_one() -> None:
    model, x = _fitted(["a", "b", "c"])
    proba = model.predict_proba(x)
    predictions, scores = decide(proba, model.classes_, "a", 0.1)
    assert predictions.tolist() == model.predict(x).tolist()
    assert scores.tolist() == proba.max(axis=1).tolist()


def test_class_labels_keep_numbers_numeric_and_text_as_objects() -> None:
    assert class_labels(np.array([0, 1])).dtype.kind == "i"
    assert class_labels(["no", "yes"]).dtype == object
    assert class_labels([0, "x"]).tolist() == [0, "x"]


@pytest.mark.parametrize("labels", [["no", "yes"], [False, True], ["a", "b", "c"]])
def test_score_frame_is_score_arrays_as_plain_values(labels: list[Any]) -> None:
    model, x = _fitted(labels)
    bundle = _Bundle(model, positive_label=labels[-1], threshold=0.3)
    arrays, plain = score_arrays(bundle, x), score_frame(bundle, x)
    assert plain.predictions == arrays.predictions.tolist()
    assert plain.scores == arrays.scores.tolist()
    assert plain.probabilities is not None
    assert plain.probabilities[0] == {
        str(c): round(float(p), 6) for c, p in zip(labels, model.predict_proba(x)[0], strict=True)
    }


def test_regression_scores_are_the_predicted_numbers() -> None:
    from sklearn.linear_model import LinearRegression

    x = pd.DataFrame({"a": np.arange(10.0)})
    model = LinearRegression().fit(x, 2 * x["a"] + 1)
    out = score_frame(_Bundle(model, task="regression"), x)
    assert out.probabilities is None
    assert out.predictions == out.scores == pytest.approx((2 * x["a"] + 1).tolist())
