"""The decision rule: from class probabilities to each row's predicted class and score.

One rule for every place a model's probabilities become answers: the API and batch scoring
(``registry.scoring``), training's grading and the threshold search (``training.evaluate``),
and monitoring's grading of live predictions. numpy only, so a server holding a serving form
uses it without importing scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["DEFAULT_THRESHOLD", "class_labels", "decide", "plain"]

DEFAULT_THRESHOLD = 0.5  # a yes/no model trained before thresholds were chosen


def plain(value: Any) -> Any:
    """numpy scalars as plain Python values (JSON-friendly)."""
    return value.item() if hasattr(value, "item") else value


def class_labels(classes: Sequence[Any]) -> np.ndarray:
    """The class labels as an array predictions are taken from: plain values, in an object
    array when they are text or of mixed types (numbers keep a numeric array)."""
    values = [plain(c) for c in classes]
    mixed = len({type(v) for v in values}) > 1 or any(isinstance(v, str) for v in values)
    return np.asarray(values, dtype=object if mixed else None)


def decide(
    proba: np.ndarray, classes: Sequence[Any], positive_label: Any, threshold: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """The decision rule, vectorised: each row's predicted class and its score.

    ``proba`` has one column per class of ``classes``. With two classes and a known
    ``positive_label`` the score is that class's probability and the prediction is the
    positive class when the score is at least ``threshold`` (0.5 when none was chosen), else
    the other class. Otherwise the prediction is the most probable class and the score its
    probability.
    """
    labels = class_labels(classes)
    known = labels.tolist()
    if len(known) == 2 and positive_label in known:
        pos = known.index(positive_label)
        cut = DEFAULT_THRESHOLD if threshold is None else threshold
        scores = proba[:, pos]
        return np.where(scores >= cut, labels[pos], labels[1 - pos]), scores
    best = proba.argmax(axis=1)
    return labels[best], proba[np.arange(len(proba)), best]
