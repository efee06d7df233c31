"""The preparation every serving form shares: the pipeline's first step, with numpy and pandas.

``PrepareColumns`` (``training.features``) uses ``replace_missing_codes``, ``as_numbers``,
``as_labels`` and ``check_frame``, so a serving form that calls them raises the same errors on
the same bad values. ``column_numbers`` and ``column_labels`` give what those functions give,
without pandas per call for the usual inputs. ``expit`` and ``softmax`` are the links the
models use. Neither scikit-learn nor scipy is imported here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from steadyml.errors import DataError

__all__ = [
    "MISSING_CATEGORY",
    "Rows",
    "as_labels",
    "as_numbers",
    "check_frame",
    "column_labels",
    "column_numbers",
    "count_rows",
    "expit",
    "plain",
    "probabilities",
    "refuse_infinite",
    "replace_missing_codes",
    "row_label",
    "softmax",
    "top_class",
]

MISSING_CATEGORY = "__missing__"
Rows: TypeAlias = pd.DataFrame | Mapping[str, Sequence[Any]]  # or column -> value per row


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, as scipy.special.expit computes it (no overflow warnings)."""
    out: np.ndarray = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def probabilities(raw: np.ndarray, link: str) -> np.ndarray:
    """Class probabilities from a model's raw output (n_rows, k): ``logistic`` (k = 1, the
    second class's log-odds), ``softmax``, or ``proba`` (already probabilities)."""
    if link == "proba":
        return raw
    if link == "logistic":
        p = expit(raw[:, 0])
        result: np.ndarray = np.stack([1 - p, p], axis=1)
        return result
    if link == "softmax":
        return softmax(raw)
    raise AttributeError("A regression model has no predict_proba; use predict.")


def top_class(classes: np.ndarray | None, proba: np.ndarray) -> np.ndarray:
    """The most probable class of each row (scikit-learn's ``predict``)."""
    assert classes is not None
    chosen: np.ndarray = classes[np.argmax(proba, axis=1)]
    return chosen


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
        raise _absent(missing)


def _absent(missing: Sequence[str]) -> DataError:
    return DataError(
        f"The model needs column(s) {', '.join(map(repr, missing))}, which the rows do not have.",
        hint="Send every feature column (a missing value may be empty, not absent).",
    )


def count_rows(X: Rows, columns: Sequence[str]) -> int:
    """The number of rows, once they are known to hold every column: a DataFrame, or a
    mapping of column -> one value per row (as ``pd.DataFrame(mapping)`` would read it,
    without building it)."""
    if isinstance(X, Mapping):
        missing = [c for c in columns if c not in X]
        if missing:
            raise _absent(missing)
        sizes = sorted({len(X[c]) for c in columns})
        if len(sizes) > 1:
            raise DataError(
                f"The columns hold different numbers of rows ({', '.join(map(str, sizes))}).",
                hint="Send one value per row in every column.",
            )
        return sizes[0] if sizes else 0
    if not isinstance(X, pd.DataFrame) or any(c not in X.columns for c in columns):
        check_frame(X, columns)
    return len(X)


def refuse_infinite(X: Rows, values: np.ndarray, names: Sequence[str]) -> None:
    """Raise for the first infinite number: scikit-learn's imputer refuses infinities."""
    row, col = (int(i[0]) for i in np.nonzero(np.isinf(values)))
    raise DataError(
        f"Column '{names[col]}' holds an infinite value ({values[row, col]!r}) in row "
        f"{row_label(X, row)!r}; the model cannot score it.",
        hint=f"Send a finite number, or leave '{names[col]}' empty if it is unknown.",
    )


def row_label(X: Rows, i: int) -> Any:
    """Row ``i``'s label, as error messages name it."""
    return X.index[i] if isinstance(X, pd.DataFrame) else i


def column_numbers(values: Any, name: str, codes: Sequence[Any] | None) -> np.ndarray:
    """What ``_as_numbers(replace_missing_codes(...))`` gives, without pandas per call for
    the usual inputs (numbers and None); anything else takes that exact path. ``values``: a
    Series, or a sequence (read as a DataFrame column of those values would be)."""
    if not isinstance(values, pd.Series):
        # a column of numbers reads as numeric, so a code given as text ("-1") counts too
        hit = {*codes, *_numeric_codes(tuple(codes)).tolist()} if codes else set()
        found = _plain_numbers(values, hit)
        if found is not None:
            return found
        values = pd.Series(list(values))
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):
        out = np.asarray(values, dtype=float)
        if codes:
            out = np.where(np.isin(out, _numeric_codes(tuple(codes))), np.nan, out)
        return out
    if pd.api.types.is_object_dtype(dtype):
        found = _plain_numbers(values.to_numpy(), set(codes or ()))
        if found is not None:
            return found
    return as_numbers(replace_missing_codes(values, codes), name)


def _plain_numbers(raw: Sequence[Any], hit: set[Any]) -> np.ndarray | None:
    """Floats for values that are all None, float or int (NaN where missing or a code);
    None for anything else."""
    out = np.empty(len(raw))
    for i, v in enumerate(raw):
        kind = type(v)
        if v is None:
            out[i] = np.nan
        elif kind is float or kind is int:
            out[i] = np.nan if (v != v or v in hit) else v
        else:
            return None
    return out


@functools.lru_cache(maxsize=256)
def _numeric_codes(codes: tuple[Any, ...]) -> np.ndarray:
    """The missing codes that read as numbers ("-1" as well as -1), parsed once."""
    parsed = pd.to_numeric(pd.Series(list(codes), dtype=object), errors="coerce")
    result: np.ndarray = parsed.dropna().to_numpy(dtype=float)
    result.setflags(write=False)
    return result


def column_labels(
    values: Any, codes: Sequence[Any] | None, fill: str = MISSING_CATEGORY
) -> np.ndarray | list[str]:
    """What ``as_labels(replace_missing_codes(...), fill)`` gives, fast for strings and None;
    anything else takes that exact path. ``values``: a Series, or a sequence."""
    if isinstance(values, pd.Series):
        dtype = values.dtype
        if pd.api.types.is_object_dtype(dtype):
            raw: Any = values.to_numpy()
        elif isinstance(dtype, pd.StringDtype):
            raw = values.to_numpy(object, na_value=None)
        else:
            raw = None
    else:
        raw = values
    if raw is not None:
        hit = set(codes or ())
        out: list[str] = []
        for v in raw:
            if v is None:
                out.append(fill)
            elif type(v) is str:
                out.append(fill if v in hit else v)
            else:
                break
        else:
            return out
    series = values if isinstance(values, pd.Series) else pd.Series(list(values))
    return as_labels(replace_missing_codes(series, codes), fill)


def plain(value: Any) -> Any:
    """numpy scalars as plain Python values (for the form's JSON header)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def columns_to_parts(form: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header entries and arrays of what every form shares (its columns, missing codes,
    fill values, missing indicators, category lookups and classes), for ``to_parts``."""
    classes = form.classes_
    meta: dict[str, Any] = {
        "numeric": list(form.numeric),
        "categorical": list(form.categorical),
        "codes": {k: [plain(v) for v in vals] for k, vals in form.codes.items()},
        "lookups": [dict(index) for index, _ in form.lookups],
        "model_classes": None if classes is None else [plain(v) for v in classes],
    }
    arrays = {
        "fill": form.fill,
        "indicator_cols": np.asarray(form.indicator_cols, dtype=np.int64),
        **{f"rows_{i}": rows for i, (_, rows) in enumerate(form.lookups)},
    }
    return meta, arrays


def columns_from_parts(meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The constructor arguments ``columns_to_parts`` wrote, for ``from_parts``."""
    classes = meta["model_classes"]
    return {
        "numeric": meta["numeric"],
        "categorical": meta["categorical"],
        "codes": meta["codes"],
        "fill": arrays["fill"],
        "indicator_cols": arrays["indicator_cols"],
        "lookups": [(index, arrays[f"rows_{i}"]) for i, index in enumerate(meta["lookups"])],
        "classes": None if classes is None else np.asarray(classes),
    }
