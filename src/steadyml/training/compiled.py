"""A fast scorer for steadyml's linear pipelines: the same numbers, without sklearn's overhead.

Scoring one row with the fitted pipeline (``PrepareColumns`` -> ``ColumnTransformer`` with an
imputer + scaler for numbers and a one-hot encoder for categories -> logistic or ridge
regression) takes about 6.5 ms, almost all of it per-call overhead: pandas column selection,
input validation and output wrapping in each of the seven steps. The arithmetic itself is a
few microseconds. A service that micro-batches small requests pays that overhead on every
model call, so it caps throughput. The map itself (``CompiledLinear``) lives in
``steadyml.forms.linear``, which needs neither scikit-learn nor scipy.

For a linear model the whole pipeline folds into one affine map: each numeric feature adds
``a * x`` (after the median fill and the scaling), each missing-value indicator adds a
constant, and each category adds its own row of the coefficients. ``compile_pipeline``
reads those numbers off the fitted steps and returns a ``CompiledLinear`` that computes
``predict_proba`` / ``predict`` with numpy. Category columns are mapped by asking the fitted
encoder itself (one probe call at compile time), so infrequent and unknown categories behave
exactly as in scikit-learn. Numbers and labels are prepared by the same functions
``PrepareColumns`` uses, so bad values raise the same errors.

Anything else (text columns, trees, other encoders, a sparse output) returns ``None`` and the
caller uses the pipeline. ``compile_pipeline`` also checks itself: it scores a probe table
both ways and refuses (returns ``None``) unless the answers agree to 1e-9.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline

from steadyml.forms.linear import CompiledLinear
from steadyml.training.features import PrepareColumns

__all__ = ["CompiledLinear", "compile_pipeline", "fast_model"]

_UNKNOWN = "\x00steadyml-unknown-category\x00"
_TOLERANCE = 1e-9


def compile_pipeline(pipeline: Any) -> CompiledLinear | None:
    """A ``CompiledLinear`` for a steadyml linear pipeline, or None if it does not fit."""
    try:
        compiled, probe = _build(pipeline)
    except _NotCompilable:
        return None
    if not _agrees(pipeline, compiled, probe):
        return None
    return compiled


_CACHE: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def fast_model(pipeline: Any) -> Any:
    """The compiled scorer of ``pipeline`` when it has one, else the pipeline; cached."""
    try:
        found = _CACHE.get(pipeline)
    except TypeError:  # not weak-referenceable: do not cache
        return compile_pipeline(pipeline) or pipeline
    if found is None:
        found = compile_pipeline(pipeline) or pipeline
        _CACHE[pipeline] = found
    return found


class _NotCompilable(Exception):
    pass


def _build(pipeline: Any) -> tuple[CompiledLinear, pd.DataFrame]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    def need(condition: bool) -> None:
        if not condition:
            raise _NotCompilable

    need(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 3)
    prep, encode, model = (step for _, step in pipeline.steps)
    need(isinstance(prep, PrepareColumns) and not prep.text)
    need(isinstance(encode, ColumnTransformer) and isinstance(model, LogisticRegression | Ridge))
    need(encode.remainder == "drop" or not getattr(encode, "_remainder", (None, None, []))[2])
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=float))  # (k, n_features_out)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float))
    if isinstance(model, LogisticRegression):
        multi = getattr(model, "multi_class", "auto")
        need(len(model.classes_) == 2 or multi in ("auto", "deprecated", "multinomial"))
        kind = "binary" if len(model.classes_) == 2 else "multinomial"
    else:
        need(coef.shape[0] == 1)
        kind = "regression"
    numeric, categorical = list(prep.numeric), list(prep.categorical)
    k = coef.shape[0]
    bias = intercept.copy()
    slope = np.zeros((len(numeric), k))
    fill = np.zeros(len(numeric))
    indicator_cols = np.zeros(0, dtype=int)
    indicator_weight = np.zeros((0, k))
    lookups: list[tuple[dict[str, int], np.ndarray]] = []
    offset = 0
    seen_numeric = seen_categorical = False
    for name, transformer, columns in encode.transformers_:
        if transformer == "drop" or name == "remainder":
            continue
        width = int(encode.output_indices_[name].stop - encode.output_indices_[name].start)
        need(encode.output_indices_[name].start == offset)
        block = coef[:, offset : offset + width].T  # (width, k)
        offset += width
        if list(columns) == numeric and isinstance(transformer, Pipeline):
            need(not seen_numeric)
            seen_numeric = True
            steps = [s for _, s in transformer.steps]
            need(len(steps) == 2 and isinstance(steps[0], SimpleImputer))
            need(isinstance(steps[1], StandardScaler))
            imputer, scaler = steps
            need(isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values))
            fill = np.asarray(imputer.statistics_, dtype=float)
            need(len(fill) == len(numeric) and bool(np.all(np.isfinite(fill))))
            ind = imputer.indicator_.features_ if imputer.add_indicator else np.zeros(0, int)
            indicator_cols = np.asarray(ind, dtype=int)
            m = len(numeric) + len(indicator_cols)
            need(width == m)
            mean = scaler.mean_ if scaler.with_mean else np.zeros(m)
            scale = scaler.scale_ if scaler.with_std else np.ones(m)
            weights = block / np.asarray(scale, dtype=float)[:, None]  # per scaled column
            slope = weights[: len(numeric)]
            indicator_weight = weights[len(numeric) :]
            bias = bias - np.asarray(mean, dtype=float) @ weights
        elif list(columns) == categorical and isinstance(transformer, OneHotEncoder):
            need(not seen_categorical)
            seen_categorical = True
            lookups = _category_rows(transformer, categorical, block)
        else:
            raise _NotCompilable
    need(offset == coef.shape[1])
    need(seen_numeric or not numeric)
    need(seen_categorical or not categorical)
    compiled = CompiledLinear(
        numeric=numeric, categorical=categorical, codes=dict(prep.missing_codes or {}),
        fill=fill, slope=slope, indicator_cols=indicator_cols, indicator_weight=indicator_weight,
        bias=bias, lookups=lookups, kind=kind,
        classes=np.asarray(model.classes_) if kind != "regression" else None,
    )  # fmt: skip
    return compiled, _probe_frame(numeric, categorical, lookups, fill)


def _category_rows(
    encoder: Any, columns: Sequence[str], block: np.ndarray
) -> list[tuple[dict[str, int], np.ndarray]]:
    """For each category column: label -> row of its contribution (last row: unknown)."""
    if encoder.drop is not None or getattr(encoder, "sparse_output", False):
        raise _NotCompilable
    widths = getattr(encoder, "_n_features_outs", None)
    if widths is None or encoder.handle_unknown == "error":
        raise _NotCompilable
    cats = [list(map(str, c)) for c in encoder.categories_]
    longest = max(len(c) for c in cats) + 1
    probe = pd.DataFrame(
        {
            col: [*c, _UNKNOWN] + [c[0]] * (longest - len(c) - 1)
            for col, c in zip(columns, cats, strict=True)
        }
    )
    onehot = np.asarray(encoder.transform(probe), dtype=float)  # (longest, width)
    out = []
    start = 0
    for c, width in zip(cats, widths, strict=True):
        # feature j's own columns only: the other columns of the probe are fixed filler
        rows = onehot[: len(c) + 1, start : start + width] @ block[start : start + width]
        out.append(({label: i for i, label in enumerate(c)}, rows))
        start += width
    return out


def _probe_frame(
    numeric: Sequence[str],
    categorical: Sequence[str],
    lookups: Sequence[tuple[dict[str, int], np.ndarray]],
    fill: np.ndarray,
) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 64
    data: dict[str, Any] = {}
    for i, col in enumerate(numeric):
        values = fill[i] + rng.normal(0, 1 + abs(fill[i]), n)
        values[::7] = np.nan
        data[col] = values
    for col, (index, _rows) in zip(categorical, lookups, strict=True):
        labels = [*index, _UNKNOWN, None]
        data[col] = [labels[i % len(labels)] for i in range(n)]
    return pd.DataFrame(data)


def _agrees(pipeline: Any, compiled: CompiledLinear, probe: pd.DataFrame) -> bool:
    try:
        if compiled.kind == "regression":
            expected = np.asarray(pipeline.predict(probe), dtype=float)
            got = compiled.predict(probe)
        else:
            expected = np.asarray(pipeline.predict_proba(probe), dtype=float)
            got = compiled.predict_proba(probe)
    except Exception:
        return False
    return expected.shape == got.shape and bool(np.allclose(got, expected, rtol=0, atol=_TOLERANCE))
