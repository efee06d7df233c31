"""Turn raw columns into model input, the same way at training time and at serving time.

Preprocessing done one way in a notebook and another way in production is one of the most
common reasons a model that tested well behaves badly live. So every step — replacing the
codes that mean "missing", filling gaps, scaling numbers, encoding categories and words —
lives *inside* one scikit-learn ``Pipeline`` together with the model. Saving the pipeline
saves the preprocessing; serving the pipeline replays it exactly.

The pipeline takes a raw ``pandas.DataFrame``: it picks the feature columns by name, so extra
columns (an id, the target, personal data) are ignored and the column order does not matter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steadyml.entities import Roles
from steadyml.errors import DataError, SteadyMLError
from steadyml.forms.linear import (
    MISSING_CATEGORY,
    as_labels,
    as_numbers,
    check_frame,
    replace_missing_codes,
)

_as_numbers = as_numbers  # the names other modules have used
_as_labels = as_labels

__all__ = [
    "MISSING_CATEGORY",
    "PrepareColumns",
    "accepts_sparse",
    "replace_missing_codes",
    "build_pipeline",
    "check_columns",
    "check_target",
    "feature_kinds",
    "TEXT_MAX_FEATURES_SPARSE",
    "TEXT_MAX_FEATURES_DENSE",
]

TEXT_MAX_FEATURES_SPARSE = 2000  # words kept per text column for models that take sparse input
TEXT_MAX_FEATURES_DENSE = 200  # ... and for models that need a dense table (memory stays small)
_MIN_CATEGORY_COUNT = 5  # rarer categories are pooled into one "infrequent" category
_MAX_CATEGORIES = 100  # at most this many one-hot columns per categorical column


def feature_kinds(roles: Roles) -> dict[str, tuple[str, ...]]:
    """The feature columns by kind: ``numeric``, ``categorical`` and ``text``.

    Sensitive columns used as features (``sensitive_as_features``) that are not listed under
    another type are treated as categories.
    """
    features = roles.features
    numeric = tuple(c for c in features if c in roles.numeric)
    text = tuple(c for c in features if c in roles.text and c not in numeric)
    categorical = tuple(c for c in features if c not in numeric and c not in text)
    return {"numeric": numeric, "categorical": categorical, "text": text}


class PrepareColumns(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Select the feature columns and give each the type its role says.

    * values listed in ``missing_codes`` (e.g. ``{"support_calls": [-1]}``) become missing;
    * numeric columns become floats (a value that is not a number raises ``DataError``);
    * categorical columns become strings, with missing values as ``"__missing__"``;
    * text columns become strings, with missing values as ``""``.

    ``fit`` learns nothing but the column lists and returns ``self``; it is a pipeline step so
    that serving applies exactly the same treatment as training.
    """

    def __init__(
        self,
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
        text: Sequence[str] = (),
        missing_codes: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.text = text
        self.missing_codes = missing_codes

    def fit(self, X: pd.DataFrame, y: Any = None) -> PrepareColumns:
        self._check_frame(X)
        self.feature_names_in_ = np.asarray(self._columns(), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not hasattr(self, "feature_names_in_"):
            raise SteadyMLError("PrepareColumns must be fitted before transform. Call fit first.")
        self._check_frame(X)
        codes = dict(self.missing_codes or {})
        out: dict[str, Any] = {}
        for col in self.numeric:
            out[col] = _as_numbers(replace_missing_codes(X[col], codes.get(col)), col)
        for col in self.categorical:
            out[col] = _as_labels(replace_missing_codes(X[col], codes.get(col)), MISSING_CATEGORY)
        for col in self.text:
            out[col] = _as_labels(replace_missing_codes(X[col], codes.get(col)), "")
        return pd.DataFrame(out, index=X.index, columns=self._columns())

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._columns(), dtype=object)

    def _columns(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.text]

    def _check_frame(self, X: Any) -> None:
        check_frame(X, self._columns())


def build_pipeline(
    roles: Roles,
    estimator: BaseEstimator,
    missing_codes: Mapping[str, Sequence[Any]] | None = None,
    *,
    dense: bool | None = None,
) -> Pipeline:
    """One pipeline from raw rows to predictions: prepare, encode, then ``estimator``.

    ``dense`` forces a dense table for the model (needed by histogram gradient boosting);
    by default it is dense unless there are text columns and the model accepts sparse input.
    """
    kinds = feature_kinds(roles)
    if not any(kinds.values()):
        raise DataError(
            f"No columns are left to learn from: every column other than the target "
            f"'{roles.target}' is an id, timestamp, personal data, sensitive or dropped.",
            hint="List feature columns under data.columns (numeric, categorical or text) "
            "in steadyml.yaml.",
        )
    codes = {str(k): list(v) for k, v in (missing_codes or {}).items()}
    if dense is None:
        dense = not kinds["text"] or not accepts_sparse(estimator)
    text_words = TEXT_MAX_FEATURES_DENSE if dense else TEXT_MAX_FEATURES_SPARSE

    transformers: list[tuple[str, Any, Any]] = []
    if kinds["numeric"]:
        numeric = Pipeline(
            [
                (
                    "impute",
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                ),
                ("scale", StandardScaler()),
            ]
        )
        transformers.append(("numeric", numeric, list(kinds["numeric"])))
    if kinds["categorical"]:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=_MIN_CATEGORY_COUNT,
            max_categories=_MAX_CATEGORIES,
            sparse_output=not dense,
        )
        transformers.append(("categorical", encoder, list(kinds["categorical"])))
    for col in kinds["text"]:
        words = TfidfVectorizer(max_features=text_words, min_df=1, dtype=np.float32)
        transformers.append((f"text_{col}", words, col))

    encode = ColumnTransformer(
        transformers,
        remainder="drop",
        sparse_threshold=0.0 if dense else 0.3,
        verbose_feature_names_out=True,
    )
    prepare = PrepareColumns(
        numeric=kinds["numeric"],
        categorical=kinds["categorical"],
        text=kinds["text"],
        missing_codes=codes or None,
    )
    return Pipeline([("prepare", prepare), ("encode", encode), ("model", estimator)])


def check_columns(frame: pd.DataFrame, roles: Roles, segments: Sequence[str] = ()) -> None:
    """Refuse a table that lacks a column the project file names."""
    features = list(roles.features)
    if roles.target not in frame.columns:
        raise DataError(
            f"The target column '{roles.target}' named in steadyml.yaml is not in the data.",
            hint=f"Columns found: {', '.join(map(str, frame.columns[:30]))}.",
        )
    needed = [*features, *roles.sensitive]
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        raise DataError(
            f"Column(s) {', '.join(map(repr, absent))} named in steadyml.yaml are not in the data.",
            hint="Fix data.columns in steadyml.yaml, or check that the right file was loaded.",
        )
    if not features:
        raise DataError(
            "No columns are left to learn from: every column is the target, an id, a "
            "timestamp, personal data, sensitive or dropped.",
            hint="List feature columns under data.columns in steadyml.yaml.",
        )
    missing = [s for s in segments if s not in frame.columns]
    if missing:
        raise DataError(
            f"Segment column(s) {', '.join(map(repr, missing))} named in training.segments "
            "are not in the data.",
            hint=f"Columns found: {', '.join(map(str, frame.columns[:30]))}. Fix "
            "training.segments in steadyml.yaml.",
        )
    if not frame.index.is_unique:
        raise DataError(
            "The table's row labels repeat, so train and test rows could not be told apart.",
            hint="Reset the row labels first: df = df.reset_index(drop=True).",
        )


def check_target(y: pd.Series, target: str, task: str) -> None:
    """Refuse a target that cannot be learned for ``task``."""
    if len(y) < 10:
        raise DataError(
            f"Only {len(y)} row(s) have a value in the target '{target}'; training needs at "
            "least 10 (and many more for a useful model)."
        )
    if task == "classification":
        if y.nunique() < 2:
            raise DataError(
                f"The target '{target}' has a single value ({y.iloc[0]!r}), so there is "
                "nothing to classify.",
                hint="Check the target column, or collect rows with other outcomes.",
            )
        return
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        raise DataError(
            f"Regression needs a numeric target, but '{target}' holds {y.dtype} values "
            f"(for example {y.iloc[0]!r}).",
            hint="Set data.task to classification, or convert the target to numbers.",
        )


def accepts_sparse(estimator: Any) -> bool:
    """False for models that need a dense table (histogram gradient boosting)."""
    return not type(estimator).__name__.startswith("HistGradientBoosting")
