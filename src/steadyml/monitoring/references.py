"""References for the drift tests: what the data the model learned from looked like.

A reference is built once and compared with many windows:

* ``NumericReference`` keeps a column's finite values sorted (the tests then only search
  them), its population standard deviation and its ten quantile bins with the reference share
  per bin (first and last bins open-ended);
* ``CategoricalReference`` keeps exact counts per category, under canonical labels
  (``steadyml.training.reference.category_label``: 1, 1.0 and "1" are all ``"1"``).

``from_values`` builds one from a raw column; ``from_summary`` rebuilds one from the compact
summary stored with a model version (``steadyml.training.reference``): numeric tests then use
its sample of up to 1,000 values (the bins and the standard deviation come from the full
training column; labels written before they were canonical, such as ``"1.0"``, are made so and
their counts merged). ``feature_references`` and ``prediction_reference`` read a model
version's whole reference mapping. Missing values (None, NaN) and infinities are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from steadyml.training.reference import OTHER, category_label, label_counts

__all__ = [
    "CategoricalReference",
    "NumericReference",
    "PredictionReference",
    "Reference",
    "bin_shares",
    "category_counts",
    "feature_references",
    "finite_values",
    "prediction_reference",
]

_BINS = 10


@dataclass(frozen=True)
class NumericReference:
    """A numeric reference column: its sorted values, standard deviation and quantile bins."""

    values: np.ndarray  # sorted, finite
    std: float  # ddof=0, of the full reference column
    edges: np.ndarray  # distinct 10-bin quantile edges, as in steadyml.training.reference
    shares: np.ndarray  # reference share per bin (first/last bins open-ended)

    @classmethod
    def from_values(cls, values: Any) -> NumericReference:
        """Keep the sorted finite values of the full reference column (NaN and inf ignored)."""
        present = finite_values(values)
        present.sort()
        if len(present) == 0:
            empty = np.array([], dtype=float)
            return cls(present, 0.0, empty, empty)
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, _BINS + 1)))
        return cls(present, float(np.std(present)), edges, bin_shares(present, edges))

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> NumericReference:
        """From ``steadyml.training.reference.numeric_summary``: the tests use its sample."""
        sample = np.sort(np.asarray(summary.get("sample") or [], dtype=float))
        edges = np.asarray(summary.get("quantiles") or [], dtype=float)
        counts = np.asarray(summary.get("bin_counts") or [], dtype=float)
        present = _present_count(summary)
        std = summary.get("std_population")
        if std is None:  # older summaries hold the sample std (ddof=1) only
            std1 = float(summary.get("std") or 0.0)
            std = std1 * math.sqrt((present - 1) / present) if present > 1 else 0.0
        if len(edges) and len(edges) == len(counts) + 1 and counts.sum() > 0:
            shares = counts / counts.sum()
            if len(edges) == 2 and edges[0] == edges[1]:  # a constant column
                shares = np.array([0.0, 1.0, 0.0])
        else:
            edges = np.array([], dtype=float)
            shares = np.array([], dtype=float)
        return cls(sample, float(std), edges, shares)


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical reference column: exact counts per category (canonical labels)."""

    counts: dict[str, int]
    has_other: bool = False  # live values outside the top list fall into "__other__"

    @classmethod
    def from_values(cls, values: Any) -> CategoricalReference:
        return cls(category_counts(values))

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> CategoricalReference:
        """From the categorical summary in ``steadyml.training.reference``.

        Uses its exact ``counts`` when present; older summaries hold only shares, which are
        turned back into counts with the number of non-missing training values.
        """
        exact = summary.get("counts")
        if exact:
            pairs = [(str(k), int(v)) for k, v in exact.items()]
        else:
            present = _present_count(summary)
            freq = summary.get("frequencies") or {}
            pairs = [(str(k), round(float(v) * present)) for k, v in freq.items()]
        counts: dict[str, int] = {}
        for label, count in pairs:
            if count > 0:
                key = label if label == OTHER else category_label(label)
                counts[key] = counts.get(key, 0) + count
        return cls(counts, OTHER in counts)


Reference = NumericReference | CategoricalReference


@dataclass(frozen=True)
class PredictionReference:
    """What the model's own answers looked like at training, and which log column to compare."""

    name: str  # how the verdict names it: "prediction", "prediction score", "predicted class"
    column: str  # the prediction log's column: "prediction" or "score"
    reference: Reference


# ---------------------------------------------------------------- a model version's references


def feature_references(reference: Mapping[str, Any]) -> dict[str, Reference]:
    """Drift references for every numeric and categorical feature of a model version."""
    out: dict[str, Reference] = {}
    for name, summary in (reference.get("features") or {}).items():
        if summary.get("kind") == "numeric":
            out[name] = NumericReference.from_summary(summary)
        elif summary.get("kind") == "categorical":
            out[name] = CategoricalReference.from_summary(summary)
    return out


def prediction_reference(reference: Mapping[str, Any]) -> PredictionReference | None:
    """The reference for prediction drift, from a model version's ``prediction`` summary.

    Regression: the predicted values. Classification: the positive-class score where a sample
    of training scores was kept, otherwise the predicted class. None when nothing was kept.
    """
    pred = reference.get("prediction") or {}
    if pred.get("kind") == "regression":
        return PredictionReference("prediction", "prediction", NumericReference.from_summary(pred))
    if pred.get("kind") == "classification" and pred.get("score_sample"):
        summary = _score_summary(np.asarray(pred["score_sample"], dtype=float), pred.get("n"))
        return PredictionReference(
            "prediction score", "score", NumericReference.from_summary(summary)
        )
    if pred.get("kind") == "classification":
        classes = dict(pred.get("class_frequencies") or {})
        summary = {
            "kind": "categorical",
            "n": int(pred.get("n") or 0),
            "missing_rate": 0.0,
            "distinct": len(classes),
            "frequencies": classes,
        }
        return PredictionReference(
            "predicted class", "prediction", CategoricalReference.from_summary(summary)
        )
    return None


def _score_summary(sample: np.ndarray, n: Any) -> dict[str, Any]:
    """A numeric summary (as ``numeric_summary`` writes it) of a sample of training scores."""
    return {
        "kind": "numeric",
        "n": int(n or len(sample)),
        "missing_rate": 0.0,
        "mean": float(sample.mean()) if len(sample) else None,
        "std": float(sample.std(ddof=1)) if len(sample) > 1 else 0.0,
        "min": float(sample.min()) if len(sample) else None,
        "max": float(sample.max()) if len(sample) else None,
        "quantiles": [float(q) for q in np.unique(np.quantile(sample, np.linspace(0, 1, 11)))]
        if len(sample)
        else [],
        "bin_counts": [],
        "sample": sample.tolist(),
    }


# ---------------------------------------------------------------- values, counts and bins


def finite_values(values: Any) -> np.ndarray:
    """A new float array of the finite values (strings and other junk count as missing)."""
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiub":
            arr = values.to_numpy()  # no copy for float64
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            arr = numbers.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(values)
        if arr.dtype.kind not in "fiub":
            numbers = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce")
            arr = numbers.to_numpy(dtype=float, na_value=np.nan)
    arr = np.asarray(arr, dtype=float)
    finite = np.isfinite(arr)
    kept: np.ndarray = arr.copy() if finite.all() else arr[finite]  # a copy is cheaper
    return kept


def category_counts(values: Any) -> dict[str, int]:
    """Counts per canonical label (1, 1.0 and "1" count together); the hash pass runs on the
    raw values, not on strings."""
    return label_counts(values)


def bin_shares(
    sorted_values: np.ndarray, edges: np.ndarray, counts: np.ndarray | None = None
) -> np.ndarray:
    """The share of sorted values in each bin of ``edges``; first and last bins open-ended.

    With ``counts``, ``sorted_values`` are distinct and each occurs ``counts`` times: the
    shares of the repeated values, without repeating them.
    """
    binned = _bin_counts(sorted_values, edges).astype(float)
    total = len(sorted_values)
    if counts is not None:
        places = np.concatenate(([0], np.cumsum(binned).astype(np.int64)))
        cumulative = np.concatenate(([0], np.cumsum(counts)))
        binned = np.diff(cumulative[places]).astype(float)
        total = int(cumulative[-1])
    return binned / max(total, 1)


def _bin_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of sorted values; first and last bins open-ended.

    A constant reference (one edge) gets three bins: below, equal to and above the value.
    A value equal to an inner edge counts in the bin to its right, as ``np.histogram`` counts
    the training values (``[edges[i], edges[i+1])``): otherwise a column of whole numbers,
    whose quantile edges are its own values, is binned one step apart from its reference
    and a stable column shows a large PSI.
    """
    if len(edges) == 1 or (len(edges) == 2 and edges[0] == edges[1]):
        cut = np.searchsorted(sorted_values, [edges[0], edges[0]], side="left")
        cut[1] = np.searchsorted(sorted_values, edges[0], side="right")
    else:
        cut = np.searchsorted(sorted_values, edges[1:-1], side="left")
    return np.diff(np.concatenate(([0], cut, [len(sorted_values)])))


def _present_count(summary: Mapping[str, Any]) -> int:
    n = int(summary.get("n") or 0)
    return round(n * (1.0 - float(summary.get("missing_rate") or 0.0)))
