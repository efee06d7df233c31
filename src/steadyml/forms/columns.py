"""The preparation every serving form shares: the pipeline's first step, with numpy and pandas.

``PrepareColumns`` (``training.features``) uses ``replace_missing_codes``, ``as_numbers``,
``as_labels`` and ``check_frame``, so a serving form that calls them raises the same errors on
the same bad values. ``column_numbers`` and ``column_labels`` give what those functions give,
without pandas per call for the usual inputs. ``expit`` and ``softmax`` are the links the
models use. Neither scikit-learn nor scipy is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from steadyml.errors import DataError

__all__ = [
    "MISSING_CATEGORY",
    "as_labels",
    "as_numbers",
    "check_frame",
    "column_labels",
    "column_numbers",
    "expit",
    "plain",
    "replace_missing_codes",
    "softmax",
]

MISSING_CATEGORY = "__missing__"


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, as scipy.special.expit computes it (no overflow warnings)."""
    out: np.ndarray = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def replace_missing_codes(values: pd.Series, codes: Sequence[Any] | None) -> pd.Series:
    """The column with every code that means "missing" replaced by a missing value."""
    if not codes:
        return values
    as_object = values.astype(object)
    hit = as_object.isin(list(codes))
    if pd.api.types.is_numeric_dtype(values):
        # a numeric column may hold the code as a string in the project file ("-1")
        numeric_codes = pd.to_numeric(pd.Series(list(codes), dtype=object), errors="coerce")
        hit |= as_object.isin(numeric_codes.dropna().tolist())
    return as_object.where(~hit, None)


def as_numbers(values: pd.Series, name: str) -> np.ndarray:
    """Floats, with missing values as NaN; a value that is not a number is an error."""
    if pd.api.types.is_bool_dtype(values):
        return np.asarray(values, dtype=float)
    numbers = pd.to_numeric(values.astype(object), errors="coerce")
    bad = numbers.isna() & values.notna()
    if bool(bad.any()):
        first = values[bad].iloc[0]
        row = values.index[bad][0]
        raise DataError(
            f"Column '{name}' expects a number; got {first!r} in row {row!r}.",
            hint=f"Fix or empty that value, or list '{name}' as categorical in steadyml.yaml.",
        )
    return np.asarray(numbers, dtype=float)


def as_labels(values: pd.Series, fill: str) -> np.ndarray:
    """Strings, one per row, with missing values replaced by ``fill``."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_float_dtype(values) or pd.api.types.is_object_dtype(values):
        labels = np.array(values.astype(object).map(_label), dtype=object)
    else:  # strings, integers, booleans, categories: str() is already the label
        labels = np.array(values.astype(str), dtype=object)  # a copy: views may be read-only
    labels[missing] = fill
    return labels


def _label(value: Any) -> str:
    """One value as a category label; whole floats read like integers (2.0 -> "2")."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def check_frame(X: Any, columns: Sequence[str]) -> None:
    """The rows must be a DataFrame holding every feature column (by name)."""
    if not isinstance(X, pd.DataFrame):
        raise DataError(
            f"The model expects a table (pandas DataFrame) of rows. Got {type(X).__name__} "
            "instead.",
            hint="Pass the rows as a DataFrame with the feature columns by name.",
        )
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise DataError(
            f"The model needs column(s) {', '.join(map(repr, missing))}, which the rows "
            "do not have.",
            hint="Send every feature column (a missing value may be empty, not absent).",
        )


def column_numbers(values: pd.Series, name: str, codes: Sequence[Any] | None) -> np.ndarray:
    """What ``_as_numbers(replace_missing_codes(...))`` gives, without pandas per call for
    the usual inputs (numbers and None); anything else takes that exact path."""
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        out = np.asarray(values, dtype=float)
        if codes:
            parsed = pd.to_numeric(pd.Series(list(codes), dtype=object), errors="coerce")
            out = np.where(np.isin(out, parsed.dropna().to_numpy(dtype=float)), np.nan, out)
        return out
    if pd.api.types.is_object_dtype(dtype):
        raw = values.to_numpy()
        hit = set(codes or ())
        out = np.empty(len(raw))
        for i, v in enumerate(raw):
            kind = type(v)
            if v is None:
                out[i] = np.nan
            elif kind is float or kind is int:
                out[i] = np.nan if (v != v or v in hit) else v
            else:
                break
        else:
            return out
    return as_numbers(replace_missing_codes(values, codes), name)


def column_labels(
    values: pd.Series, codes: Sequence[Any] | None, fill: str = MISSING_CATEGORY
) -> np.ndarray | list[str]:
    """What ``as_labels(replace_missing_codes(...), fill)`` gives, fast for strings and None;
    anything else takes that exact path."""
    if pd.api.types.is_object_dtype(values.dtype):
        hit = set(codes or ())
        out: list[str] = []
        for v in values.to_numpy():
            if v is None:
                out.append(fill)
            elif type(v) is str:
                out.append(fill if v in hit else v)
            else:
                break
        else:
            return out
    return as_labels(replace_missing_codes(values, codes), fill)


def plain(value: Any) -> Any:
    """numpy scalars as plain Python values (for the form's JSON header)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
