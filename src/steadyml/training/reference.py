"""Reference statistics: a compact picture of the training data and of the model's answers.

Monitoring later asks "does live data still look like the data the model learned from?".
To answer without reloading the training table, training keeps this summary with the model:
per feature its missing rate and distribution (bins, category shares, a small sample), and
the distribution of the model's own predictions on the training rows.

Everything is deterministic (the same table gives the same summary) and JSON-safe.

Numeric bins: ``quantiles`` are the (distinct) 10-bin quantile edges of the training values
and ``bin_counts[i]`` counts values in ``[edges[i], edges[i+1])`` (the last bin includes its
right edge). Monitoring should extend the first and last bins to ±infinity so live values
outside the training range are counted. ``std`` is the sample standard deviation (ddof=1);
``std_population`` (ddof=0) is what the normalised Wasserstein distance divides by.

Categorical columns keep ``frequencies`` (shares) and, since drift tests need them exactly,
``counts`` (the same categories, as integers). Summaries written before ``std_population``
and ``counts`` existed still read: ``steadyml.monitoring.drift`` derives both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steadyml.entities import Roles
from steadyml.training.features import feature_kinds, replace_missing_codes

if TYPE_CHECKING:
    from steadyml.training.estimators import Task

__all__ = ["reference_stats", "numeric_summary"]

_BINS = 10
_SAMPLE = 1000
_TOP_CATEGORIES = 100
OTHER = "__other__"


def reference_stats(
    X_train: pd.DataFrame,
    roles: Roles,
    predictions: np.ndarray,
    task: Task,
    *,
    classes: Sequence[Any] | None = None,
    positive_label: Any = None,
    missing_codes: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, Any]:
    """Summaries of every feature column in ``X_train`` and of ``predictions``.

    ``predictions`` are the model's answers on ``X_train``: for classification the class
    probabilities (one column per class, in the order of ``classes``); for regression the
    predicted values. Values listed in ``missing_codes`` count as missing, as they do for
    the model (live data should get the same treatment before it is compared).
    """
    kinds = feature_kinds(roles)
    codes = dict(missing_codes or {})
    features: dict[str, Any] = {}

    def column(name: str) -> pd.Series:
        return replace_missing_codes(X_train[name], codes.get(name))

    for col in kinds["numeric"]:
        features[col] = numeric_summary(pd.to_numeric(column(col), errors="coerce"))
    for col in kinds["categorical"]:
        features[col] = _categorical(column(col))
    for col in kinds["text"]:
        features[col] = _text(column(col))
    return {
        "rows": len(X_train),
        "features": features,
        "prediction": _predictions(np.asarray(predictions), task, classes, positive_label),
    }


def numeric_summary(values: pd.Series) -> dict[str, Any]:
    """Moments, quantile bins and a deterministic sample of a numeric column."""
    n = len(values)
    present = np.asarray(values.dropna(), dtype=float)
    present = present[np.isfinite(present)]
    out: dict[str, Any] = {"kind": "numeric", "n": n, "missing_rate": _share(n - len(present), n)}
    if len(present) == 0:
        out.update(
            mean=None,
            std=None,
            std_population=None,
            min=None,
            max=None,
            quantiles=[],
            bin_counts=[],
            sample=[],
        )
        return out
    edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, _BINS + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    counts, _ = np.histogram(present, bins=edges)
    out.update(
        mean=float(present.mean()),
        std=float(present.std(ddof=1)) if len(present) > 1 else 0.0,
        std_population=float(present.std(ddof=0)),
        min=float(present.min()),
        max=float(present.max()),
        quantiles=[float(e) for e in edges],
        bin_counts=[int(c) for c in counts],
        sample=[float(v) for v in _sample(present)],
    )
    return out


def _categorical(values: pd.Series) -> dict[str, Any]:
    n = len(values)
    present = values.dropna().astype(object).map(str)
    shares = present.value_counts(normalize=False)
    # ties broken by the label, so the same data always gives the same top list
    ordered = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ordered[:_TOP_CATEGORIES]
    total = max(len(present), 1)
    counts = {str(k): int(v) for k, v in top}
    rest = sum(int(v) for _, v in ordered[_TOP_CATEGORIES:])
    if rest:
        counts[OTHER] = rest
    freq = {k: v / total for k, v in counts.items()}
    return {
        "kind": "categorical",
        "n": n,
        "missing_rate": _share(n - len(present), n),
        "distinct": len(ordered),
        "frequencies": freq,
        "counts": counts,
    }


def _text(values: pd.Series) -> dict[str, Any]:
    n = len(values)
    present = values.dropna().astype(object).map(str)
    return {
        "kind": "text",
        "n": n,
        "missing_rate": _share(n - len(present), n),
        "mean_length": float(present.str.len().mean()) if len(present) else None,
    }


def _predictions(
    predictions: np.ndarray, task: Task, classes: Sequence[Any] | None, positive_label: Any
) -> dict[str, Any]:
    if task == "regression":
        summary = numeric_summary(pd.Series(predictions.astype(float).ravel()))
        summary["kind"] = "regression"
        return summary
    proba = predictions.reshape(len(predictions), -1).astype(float)
    labels = list(classes) if classes is not None else list(range(proba.shape[1]))
    chosen = np.asarray(labels, dtype=object)[np.argmax(proba, axis=1)]
    counts = pd.Series(chosen).map(str).value_counts()
    total = max(len(chosen), 1)
    out: dict[str, Any] = {
        "kind": "classification",
        "n": len(proba),
        "classes": [_plain(c) for c in labels],
        "class_frequencies": {str(c): int(counts.get(str(c), 0)) / total for c in labels},
    }
    if len(labels) == 2:
        pos = labels.index(positive_label) if positive_label in labels else 1
        scores = proba[:, pos]
        edges = np.linspace(0.0, 1.0, _BINS + 1)
        hist, _ = np.histogram(np.clip(scores, 0.0, 1.0), bins=edges)
        out.update(
            positive_label=_plain(labels[pos]),
            score_bins=[float(e) for e in edges],
            score_bin_counts=[int(c) for c in hist],
            score_mean=float(scores.mean()) if len(scores) else None,
            score_sample=[float(v) for v in _sample(scores)],
        )
    return out


def _sample(values: np.ndarray) -> np.ndarray:
    """Up to 1,000 values, picked the same way every time (fixed seed, original order)."""
    if len(values) <= _SAMPLE:
        return values
    picks = np.sort(np.random.default_rng(0).choice(len(values), size=_SAMPLE, replace=False))
    return values[picks]


def _share(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value if isinstance(value, int | float | str) or value is None else str(value)
