"""Scoring with a model bundle: predictions, scores and class probabilities.

The one scorer for the API, batch scoring and monitoring, so every route answers the same way.
``decide`` (in ``steadyml.forms.decision``, numpy only, so training's grading uses it too) is
the decision rule itself, on an array of class probabilities: for a yes/no model
the score is the positive class's probability and the prediction uses the decision threshold
chosen at training time; with more classes it is the most probable class. ``score_arrays``
runs a bundle and applies it as numpy arrays (what batch scoring writes, chunk by chunk);
``score_frame`` gives the same answers as plain Python values with each row's probabilities
(what the API returns).

A linear pipeline runs as its compiled form (``training.compiled``: the same numbers to 1e-9,
checked when it is compiled, without scikit-learn's per-call cost), and a server may hold only
that form (``forms.serving.ServingForm``): nothing here imports scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steadyml.forms.decision import DEFAULT_THRESHOLD, class_labels, decide, plain

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from steadyml.forms.serving import ServingForm
    from steadyml.registry import ModelBundle

__all__ = [
    "DEFAULT_THRESHOLD",
    "ScoreArrays",
    "ScoreOutput",
    "class_labels",
    "decide",
    "plain",
    "score_arrays",
    "score_frame",
]


@dataclass(frozen=True)
class ScoreOutput:
    """One entry per input row, in input order.

    ``scores`` holds the positive-class probability (binary), the top class's probability
    (more classes) or the predicted number (regression). ``probabilities`` maps each class to
    its probability, or is ``None`` for a regression model.
    """

    predictions: list[Any]
    scores: list[float | None]
    probabilities: list[dict[str, float]] | None = None

    def __len__(self) -> int:
        return len(self.predictions)

    def rows(self, start: int, stop: int) -> ScoreOutput:
        """The output for rows ``start`` to ``stop`` (excluded)."""
        probabilities = self.probabilities
        return ScoreOutput(
            predictions=list(self.predictions[start:stop]),
            scores=list(self.scores[start:stop]),
            probabilities=None if probabilities is None else list(probabilities[start:stop]),
        )


@dataclass(frozen=True)
class ScoreArrays:
    """``score_arrays``'s answer: one entry per row, as numpy arrays.

    ``predictions`` holds class labels (or numbers, for regression), ``scores`` floats (see
    ``ScoreOutput``); ``proba`` the class probabilities, one column per class of ``classes``
    (``None`` and ``[]`` for a regression model).
    """

    predictions: np.ndarray
    scores: np.ndarray
    proba: np.ndarray | None
    classes: list[Any]


def score_arrays(bundle: ModelBundle | ServingForm, frame: pd.DataFrame) -> ScoreArrays:
    """Score ``frame`` with ``bundle``'s scorer and apply ``decide``, as numpy arrays."""
    import numpy as np

    model = bundle.scorer()
    if bundle.task != "classification":
        values = np.asarray(model.predict(frame), dtype=float)
        return ScoreArrays(predictions=values, scores=values, proba=None, classes=[])
    proba = np.asarray(model.predict_proba(frame), dtype=float)
    known = model.classes_ if model.classes_ is not None else bundle.classes or []
    classes = [plain(c) for c in known]
    predictions, scores = decide(proba, classes, bundle.positive_label, bundle.threshold)
    return ScoreArrays(predictions=predictions, scores=scores, proba=proba, classes=classes)


def score_frame(bundle: ModelBundle | ServingForm, frame: pd.DataFrame) -> ScoreOutput:
    """Score ``frame`` as plain Python values, with each row's class probabilities (rounded
    to 6 decimals) for a classifier."""
    out = score_arrays(bundle, frame)
    if out.proba is None:
        return ScoreOutput(
            predictions=out.predictions.tolist(), scores=out.scores.tolist(), probabilities=None
        )
    names = [str(c) for c in out.classes]
    probabilities = [
        {name: round(p, 6) for name, p in zip(names, row, strict=True)}
        for row in out.proba.tolist()
    ]
    return ScoreOutput(
        predictions=out.predictions.tolist(),
        scores=out.scores.tolist(),
        probabilities=probabilities,
    )
