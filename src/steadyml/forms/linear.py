"""A fitted linear pipeline as one affine map, scored with numpy alone.

``training.compiled`` reads the map off a fitted scikit-learn pipeline (and checks it against
the pipeline to 1e-9). This module holds what scoring needs once that is done: the map
(``CompiledLinear``): each numeric feature adds ``slope * x`` after the median fill, each
missing-value indicator a constant, each category its row of coefficients, and each text
column its tf-idf values (``forms.text``, the vectorizer replayed bit for bit) times the
words' coefficients. The rows are a DataFrame, or a mapping of column -> values (what a
DataFrame of those rows would hold, without building one). The value preparation is the
pipeline's own (``forms.columns``), so bad values raise the same errors.
``forms.serving.ServingForm`` saves a map with the model's facts as one small ``.npz`` file
(``to_parts`` / ``from_parts`` give its content).

It imports neither scikit-learn nor scipy: a server whose model has a serving form starts
without them (scikit-learn's import alone took 0.7 s of a 2.4 s cold start here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from steadyml.forms.columns import (
    MISSING_CATEGORY,
    Rows,
    as_labels,
    as_numbers,
    check_frame,
    column_labels,
    column_numbers,
    columns_from_parts,
    columns_to_parts,
    count_rows,
    probabilities,
    refuse_infinite,
    replace_missing_codes,
    top_class,
)
from steadyml.forms.text import TfidfWords

__all__ = [
    "MISSING_CATEGORY",
    "CompiledLinear",
    "TextTerm",
    "as_labels",
    "as_numbers",
    "check_frame",
    "replace_missing_codes",
]

TextTerm = tuple[str, TfidfWords, np.ndarray]  # column, its words, (n_words, k) coefficients


class CompiledLinear:
    """``predict_proba`` / ``predict`` of a fitted linear pipeline, as one affine map."""

    FORM: ClassVar[str] = "linear"

    def __init__(
        self,
        *,
        numeric: Sequence[str],
        categorical: Sequence[str],
        codes: Mapping[str, Sequence[Any]],
        fill: np.ndarray,
        slope: np.ndarray,
        indicator_cols: np.ndarray,
        indicator_weight: np.ndarray,
        bias: np.ndarray,
        lookups: Sequence[tuple[dict[str, int], np.ndarray]],
        kind: str,
        classes: np.ndarray | None,
        texts: Sequence[TextTerm] = (),
    ) -> None:
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.codes = dict(codes)
        self.fill = fill  # median per numeric feature
        self.slope = slope  # (n_numeric, k): coefficient / scale
        self.indicator_cols = indicator_cols  # numeric features with a missing indicator
        self.indicator_weight = indicator_weight  # (n_indicators, k): added when missing
        self.bias = bias  # (k,): intercept and every constant folded in
        self.lookups = lookups  # per category column: label -> row, and the rows (last: unknown)
        self.texts = list(texts)  # per text column: its words and their coefficients
        self.kind = kind  # "binary", "multinomial" or "regression"
        self.classes_ = classes
        self._columns = [*self.numeric, *self.categorical, *(t[0] for t in self.texts)]

    def decision(self, X: Rows) -> np.ndarray:
        n = count_rows(X, self._columns)  # a missing column: the pipeline's own message
        out = np.empty((n, len(self.bias)))
        out[:] = self.bias
        if self.numeric:
            values = np.empty((n, len(self.numeric)))
            for i, col in enumerate(self.numeric):
                values[:, i] = column_numbers(X[col], col, self.codes.get(col))
            if np.isinf(values).any():  # as the pipeline's imputer: refused
                refuse_infinite(X, values, self.numeric)
            nan = np.isnan(values)
            values = np.where(nan, self.fill, values)
            out += values @ self.slope
            if len(self.indicator_cols):
                out += nan[:, self.indicator_cols].astype(float) @ self.indicator_weight
        for col, (index, rows) in zip(self.categorical, self.lookups, strict=True):
            labels = column_labels(X[col], self.codes.get(col))
            unknown = len(rows) - 1
            out += rows[[index.get(label, unknown) for label in labels]]
        for col, words, weights in self.texts:
            docs = column_labels(X[col], self.codes.get(col), fill="")
            indptr, cols, tfidf = words.rows(list(docs))
            if len(cols):
                terms = weights[cols] * tfidf.astype(np.float64)[:, None]
                np.add.at(out, np.repeat(np.arange(n), np.diff(indptr)), terms)
        return out

    def predict_proba(self, X: Rows) -> np.ndarray:
        links = {"binary": "logistic", "multinomial": "softmax"}
        return probabilities(self.decision(X), links.get(self.kind, "none"))

    def predict(self, X: Rows) -> np.ndarray:
        if self.kind == "regression":
            values: np.ndarray = self.decision(X)[:, 0]
            return values
        return top_class(self.classes_, self.predict_proba(X))

    # --- the file's content (forms.serving) --------------------------------------------------

    def to_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The JSON header entries and the arrays ``from_parts`` reads back."""
        meta, arrays = columns_to_parts(self)
        meta["kind"] = self.kind
        arrays.update(slope=self.slope, indicator_weight=self.indicator_weight, bias=self.bias)
        if self.texts:  # only then: files without text stay readable by older versions
            meta["texts"] = [{"column": col, **words.to_meta()} for col, words, _ in self.texts]
            for i, (_, words, weights) in enumerate(self.texts):
                arrays[f"words_{i}"] = weights
                if words.idf is not None:
                    arrays[f"idf_{i}"] = words.idf
        return meta, arrays

    @classmethod
    def from_parts(cls, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]) -> CompiledLinear:
        texts = [
            (t["column"], TfidfWords.from_meta(t, arrays.get(f"idf_{i}")), arrays[f"words_{i}"])
            for i, t in enumerate(meta.get("texts") or [])
        ]
        return cls(
            **columns_from_parts(meta, arrays),
            slope=arrays["slope"],
            indicator_weight=arrays["indicator_weight"],
            bias=arrays["bias"],
            kind=meta["kind"],
            texts=texts,
        )
