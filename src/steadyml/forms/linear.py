"""A fitted linear pipeline as one affine map, scored with numpy alone, and its file format.

``training.compiled`` reads the map off a fitted scikit-learn pipeline (and checks it against
the pipeline to 1e-9). This module holds what scoring needs once that is done: the map
(``CompiledLinear``), the value preparation the pipeline's first step uses (so bad values
raise the same errors), and ``ServingForm``, the map with what a server needs to answer,
saved as one small ``.npz`` file next to the pickled model when a version is registered.

It imports neither scikit-learn nor scipy: a server whose model has a serving form starts
without them (scikit-learn's import alone took 0.7 s of a 2.4 s cold start here).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.errors import DataError, SteadyMLError

__all__ = [
    "MISSING_CATEGORY",
    "CompiledLinear",
    "ServingForm",
    "as_labels",
    "as_numbers",
    "check_frame",
    "replace_missing_codes",
]

MISSING_CATEGORY = "__missing__"
FORMAT = "steadyml-linear-1"


def _expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, as scipy.special.expit computes it (no overflow warnings)."""
    out: np.ndarray = np.empty_like(x, dtype=float)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
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


class CompiledLinear:
    """``predict_proba`` / ``predict`` of a fitted linear pipeline, as one affine map."""

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
        self.kind = kind  # "binary", "multinomial" or "regression"
        self.classes_ = classes

    def decision(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in (*self.numeric, *self.categorical) if c not in X.columns]
        if missing:
            check_frame(X, [*self.numeric, *self.categorical])  # the pipeline's own message
        n = len(X)
        out = np.empty((n, len(self.bias)))
        out[:] = self.bias
        if self.numeric:
            values = np.empty((n, len(self.numeric)))
            for i, col in enumerate(self.numeric):
                values[:, i] = _numbers(X[col], col, self.codes.get(col))
            nan = np.isnan(values)
            values = np.where(nan, self.fill, values)
            out += values @ self.slope
            if len(self.indicator_cols):
                out += nan[:, self.indicator_cols].astype(float) @ self.indicator_weight
        for col, (index, rows) in zip(self.categorical, self.lookups, strict=True):
            labels = _labels(X[col], self.codes.get(col))
            unknown = len(rows) - 1
            out += rows[[index.get(label, unknown) for label in labels]]
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        d = self.decision(X)
        if self.kind == "binary":
            p = _expit(d[:, 0])
            result: np.ndarray = np.stack([1 - p, p], axis=1)
            return result
        if self.kind == "multinomial":
            result = _softmax(d)
            return result
        raise AttributeError("A regression model has no predict_proba; use predict.")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.kind == "regression":
            values: np.ndarray = self.decision(X)[:, 0]
            return values
        assert self.classes_ is not None
        chosen: np.ndarray = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return chosen


def _numbers(values: pd.Series, name: str, codes: Sequence[Any] | None) -> np.ndarray:
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


def _labels(values: pd.Series, codes: Sequence[Any] | None) -> np.ndarray | list[str]:
    """What ``as_labels(replace_missing_codes(...), MISSING_CATEGORY)`` gives, fast for
    strings and None; anything else takes that exact path."""
    if pd.api.types.is_object_dtype(values.dtype):
        hit = set(codes or ())
        out: list[str] = []
        for v in values.to_numpy():
            if v is None:
                out.append(MISSING_CATEGORY)
            elif type(v) is str:
                out.append(MISSING_CATEGORY if v in hit else v)
            else:
                break
        else:
            return out
    return as_labels(replace_missing_codes(values, codes), MISSING_CATEGORY)


# --- the serving form ------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass
class ServingForm:
    """What a server needs to answer with a linear model, without the pickled pipeline: the
    map and the model's facts (the fields of ``registry.ModelBundle`` a server reads)."""

    compiled: CompiledLinear
    task: str
    model_type: str
    features: list[str]
    classes: list[Any] | None
    positive_label: Any
    threshold: float | None
    packages: dict[str, str] = field(default_factory=dict)
    version: int | None = None  # set on load

    def scorer(self) -> CompiledLinear:
        return self.compiled

    def to_bytes(self) -> bytes:
        c = self.compiled
        meta = {
            "format": FORMAT,
            "task": self.task,
            "model_type": self.model_type,
            "features": list(self.features),
            "classes": None if self.classes is None else [_plain(v) for v in self.classes],
            "positive_label": _plain(self.positive_label),
            "threshold": self.threshold,
            "packages": dict(self.packages),
            "numeric": list(c.numeric),
            "categorical": list(c.categorical),
            "codes": {k: [_plain(v) for v in vals] for k, vals in c.codes.items()},
            "kind": c.kind,
            "model_classes": None if c.classes_ is None else [_plain(v) for v in c.classes_],
            "lookups": [dict(index) for index, _ in c.lookups],
        }
        arrays = {
            "fill": c.fill,
            "slope": c.slope,
            "indicator_cols": np.asarray(c.indicator_cols, dtype=np.int64),
            "indicator_weight": c.indicator_weight,
            "bias": c.bias,
            **{f"rows_{i}": rows for i, (_, rows) in enumerate(c.lookups)},
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)  # type: ignore[arg-type]  # numpy's stub mistypes **kwds
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ServingForm:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(npz["meta"].tobytes().decode())
                if meta.get("format") != FORMAT:
                    raise ValueError(f"unknown format {meta.get('format')!r}")
                arrays = {name: npz[name] for name in npz.files if name != "meta"}
        except (ValueError, KeyError, OSError) as exc:
            raise SteadyMLError(
                f"This serving form cannot be read ({exc}).",
                hint="It was written by another steadyml version; the server loads the "
                "pickled model instead.",
            ) from exc
        classes = meta["model_classes"]
        compiled = CompiledLinear(
            numeric=meta["numeric"],
            categorical=meta["categorical"],
            codes=meta["codes"],
            fill=arrays["fill"],
            slope=arrays["slope"],
            indicator_cols=arrays["indicator_cols"],
            indicator_weight=arrays["indicator_weight"],
            bias=arrays["bias"],
            lookups=[(index, arrays[f"rows_{i}"]) for i, index in enumerate(meta["lookups"])],
            kind=meta["kind"],
            classes=None if classes is None else np.asarray(classes),
        )
        return cls(
            compiled=compiled,
            task=meta["task"],
            model_type=meta["model_type"],
            features=meta["features"],
            classes=meta["classes"],
            positive_label=meta["positive_label"],
            threshold=meta["threshold"],
            packages=meta.get("packages") or {},
        )
