"""Scoring a frame with a model bundle: predictions, scores and class probabilities.

One function for the API, batch scoring and monitoring, so every route answers the same way:
for a yes/no model the score is the positive class's probability and the prediction uses the
decision threshold chosen at training time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.forms.linear import ServingForm
    from steadyml.registry import ModelBundle

__all__ = ["ScoreOutput", "score_frame", "plain"]


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


def plain(value: Any) -> Any:
    """numpy scalars as plain Python values (JSON-friendly)."""
    return value.item() if hasattr(value, "item") else value


def score_frame(bundle: ModelBundle | ServingForm, frame: pd.DataFrame) -> ScoreOutput:
    """Score ``frame``; a linear pipeline runs as its compiled form (training/compiled.py:
    the same numbers to 1e-9, checked when it is compiled, without sklearn's per-call cost),
    and a server may hold only that form (``forms.linear.ServingForm``)."""
    import numpy as np

    model = bundle.scorer()
    if bundle.task != "classification":
        values = np.asarray(model.predict(frame), dtype=float)
        return ScoreOutput(
            predictions=[float(v) for v in values],
            scores=[float(v) for v in values],
            probabilities=None,
        )
    proba = np.asarray(model.predict_proba(frame), dtype=float)
    known = model.classes_ if model.classes_ is not None else bundle.classes or []
    classes = [plain(c) for c in known]
    probabilities = [
        {str(c): round(float(p), 6) for c, p in zip(classes, row, strict=True)} for row in proba
    ]
    if len(classes) == 2 and bundle.positive_label in classes:
        pos = classes.index(bundle.positive_label)
        neg = 1 - pos
        threshold = bundle.threshold if bundle.threshold is not None else 0.5
        positive = [float(row[pos]) for row in proba]
        predictions = [classes[pos] if s >= threshold else classes[neg] for s in positive]
        scores: list[float | None] = list(positive)
    else:
        best = proba.argmax(axis=1)
        predictions = [classes[i] for i in best]
        scores = [float(row[i]) for row, i in zip(proba, best, strict=True)]  # top class
    return ScoreOutput(predictions=predictions, scores=scores, probabilities=probabilities)
