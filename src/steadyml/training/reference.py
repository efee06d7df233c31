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

Category labels are canonical (``category_label``): the same value gets the same label however
it was read or logged, so 1, 1.0, numpy's int64 1, "1" and "1.0" are all ``"1"`` (a 0/1 column
with a gap is read as floats; a batch file logs integers as floats; a refused API record keeps
its JSON text), ``True``, numpy's ``True_`` and "true" are all ``"True"``, and text is
stripped. Monitoring labels live values with the same function (and canonicalises the labels
of summaries written before it existed), so the two sides always share their categories.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from steadyml.entities import Roles
from steadyml.training.features import feature_kinds, replace_missing_codes

if TYPE_CHECKING:
    from steadyml.training.estimators import Task

__all__ = [
    "OTHER",
    "category_label",
    "category_labels",
    "label_counts",
    "numeric_summary",
    "reference_stats",
]

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


# ---------------------------------------------------------------- canonical category labels

# a number as text: no leading zeros ("01" is a code, not 1), optional fraction and exponent
_NUMBER_TEXT = re.compile(r"[+-]?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_INTEGER_TEXT = re.compile(r"([+-]?(?:0|[1-9][0-9]*))(?:\.0+)?")  # "12" or "12.00"
_BOOL_TEXT = {"true": "True", "false": "False"}


def category_label(value: Any) -> str:
    """The canonical label of one (present) category value.

    Booleans (Python's, numpy's, or the text true/false in any case) are ``"True"`` and
    ``"False"``; whole numbers read as integers (``1``, ``1.0``, ``np.int64(1)``, ``"1"``,
    ``"1.0"``, ``"1e0"`` are all ``"1"``); other numbers as Python prints a float (``1.5``,
    ``"1.50"`` -> ``"1.5"``); text is stripped of surrounding blanks. Text with leading zeros
    (``"01"``) stays as it is: it is a code, not a number.
    """
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _float_label(float(value))
    text = (value if isinstance(value, str) else str(value)).strip()
    folded = _BOOL_TEXT.get(text.lower())
    if folded is not None:
        return folded
    whole = _INTEGER_TEXT.fullmatch(text)
    if whole:
        return str(int(whole.group(1)))  # exact, however many digits
    if _NUMBER_TEXT.fullmatch(text):
        return _float_label(float(text))
    return text


def _float_label(value: float) -> str:
    if math.isfinite(value) and value.is_integer():
        return str(int(value))
    return repr(value)


def category_labels(values: pd.Series) -> pd.Series:
    """The column as canonical labels (object dtype), missing values left missing.

    Each distinct value is labelled once. An object column holding booleans is labelled value
    by value: pandas' hashing counts ``True`` and ``1`` as one value, their labels differ.
    """
    present = values.notna()
    if not bool(present.any()):
        return pd.Series(None, index=values.index, dtype=object)
    if _mixes_booleans(values):
        labels = values.astype(object).where(present, None)
        return labels.map(lambda v: None if v is None else category_label(v))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([category_label(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def label_counts(values: Any) -> dict[str, int]:
    """Counts per canonical label of the present values; values whose labels agree (1, 1.0
    and "1") are counted together. The hash pass runs on the raw values, not on labels."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if _mixes_booleans(series):
        series = category_labels(series)
    counts: dict[str, int] = {}
    for value, count in series.value_counts(dropna=True, sort=False).items():
        if not count:  # a pandas Categorical lists unused categories with 0
            continue
        key = category_label(value)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _mixes_booleans(values: pd.Series) -> bool:
    """An object column with booleans and other values, which hashing would merge."""
    if values.dtype != object:
        return False
    kinds = {type(v) for v in values.dropna().to_numpy()}  # not unique(): it hashes too
    return bool(kinds & {bool, np.bool_}) and bool(kinds - {bool, np.bool_})


def _categorical(values: pd.Series) -> dict[str, Any]:
    n = len(values)
    present = int(values.notna().sum())
    labelled = label_counts(values)
    # ties broken by the label, so the same data always gives the same top list
    ordered = sorted(labelled.items(), key=lambda kv: (-kv[1], kv[0]))
    top = ordered[:_TOP_CATEGORIES]
    total = max(present, 1)
    counts = {k: int(v) for k, v in top}
    rest = sum(int(v) for _, v in ordered[_TOP_CATEGORIES:])
    if rest:
        counts[OTHER] = rest
    freq = {k: v / total for k, v in counts.items()}
    return {
        "kind": "categorical",
        "n": n,
        "missing_rate": _share(n - present, n),
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
