"""What covariate shift along one feature would do to the estimates, measured on held-out rows.

Estimates before labels (``monitoring.estimate``) read each calibrated score as the chance
that the row is positive. A calibrator fitted on the score alone makes that true over the
held-out rows as a whole; along a feature it can still be off (the sickest people ranked
worse than their scores promise, one plan's chances too high). A live window that holds more
rows where the scores are off gets a biased estimate, which no interval made from the
labels' chance covers. On a public data set (statsmodels' RAND health insurance rows, split
by person) the estimated ROC AUC of windows shifted towards the sickest people held the
realised value in 52 % of them, accuracy under a shift in coinsurance in 85 %.

``shift_table`` keeps, per feature, the held-out rows' sums by slice (numeric: the deciles of
the held-out values, and missing; categorical: the most frequent categories, the others,
and missing) and by score bin: realised and expected (from the calibrated chances) positives
and negatives. No row is kept. ``monitoring.estimate_shift`` reweights these sums to a
window's share of rows per slice (the window's counted feature values) and measures, on the
held-out rows so reweighted, how far CBPE would be from the realised value: the bias a shift
like the window's along that feature gives the estimate. The interval is widened on that side
by the largest such bias over the features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DECILES", "MAX_CATEGORIES", "MAX_FEATURES", "SCORE_BINS", "shift_table"]

DECILES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MAX_CATEGORIES = 20  # a categorical feature's most frequent categories kept as slices
SCORE_BINS = 20  # the held-out raw scores' quantile bins (ROC AUC from the histogram)
MAX_FEATURES = 40  # the first features (in the project's order) kept: the table's size
OTHER, MISSING = "(other)", "(missing)"


def _sums(
    slices: np.ndarray, k: int, bins: np.ndarray, y: np.ndarray, p: np.ndarray, s: int
) -> dict[str, Any]:
    """Per slice: per score bin [realised pos, realised neg, expected pos, expected neg]."""
    idx = slices * s + bins
    cells = k * s
    hist = np.stack(
        [
            np.bincount(idx, weights=y.astype(float), minlength=cells),
            np.bincount(idx, weights=(~y).astype(float), minlength=cells),
            np.bincount(idx, weights=p, minlength=cells),
            np.bincount(idx, weights=1.0 - p, minlength=cells),
        ],
        axis=-1,
    ).reshape(k, s, 4)
    return {
        "rows": np.bincount(slices, minlength=k).astype(int).tolist(),
        "hist": np.round(hist, 4).tolist(),
    }


def shift_table(
    X: pd.DataFrame,
    truth: np.ndarray,
    scores: np.ndarray,
    chances: np.ndarray,
    threshold: float,
    *,
    numeric: list[str] | tuple[str, ...],
    categorical: list[str] | tuple[str, ...],
) -> dict[str, Any]:
    """The held-out rows ``X`` (truth ``truth``, raw positive-class ``scores``, calibrated
    ``chances``) summed per feature slice and score bin (see the module docstring). Score
    bins never straddle the decision ``threshold``: bin ``i`` holds the scores from
    ``score_cuts[i - 1]`` up to ``score_cuts[i]``, answered positive where that start is at
    least the threshold."""
    from steadyml.training.reference import category_labels

    y = np.asarray(truth, dtype=bool)
    raw = np.asarray(scores, dtype=float)
    p = np.asarray(chances, dtype=float)
    cuts = np.unique(np.quantile(raw, np.linspace(0, 1, SCORE_BINS + 1)[1:-1]))
    cuts = np.unique(np.r_[cuts, threshold])  # a bin starts at the threshold
    bins = np.searchsorted(cuts, raw, side="right")
    s = len(cuts) + 1
    features: dict[str, Any] = {}
    for name in numeric:
        if name not in X.columns:
            continue
        x = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float)
        present = ~np.isnan(x)
        if present.sum() < 20:
            continue
        edges = np.unique(np.quantile(x[present], DECILES))
        slices = np.where(present, np.searchsorted(edges, x, side="right"), len(edges) + 1)
        k = len(edges) + 2
        features[name] = {"kind": "numeric", "edges": edges.tolist(),
                          **_sums(slices, k, bins, y, p, s)}  # fmt: skip
    for name in categorical:
        if name not in X.columns:
            continue
        labels = category_labels(X[name])
        kept = [str(c) for c in labels.value_counts().head(MAX_CATEGORIES).index]
        order = {c: i for i, c in enumerate(kept)}
        present = labels.notna().to_numpy()
        codes = np.array([order.get(str(v), len(kept)) if ok else len(kept) + 1
                          for v, ok in zip(labels.tolist(), present, strict=True)])  # fmt: skip
        features[name] = {"kind": "categorical", "categories": kept,
                          **_sums(codes, len(kept) + 2, bins, y, p, s)}  # fmt: skip
    return {"score_cuts": cuts.tolist(), "threshold": float(threshold), "features": features}
