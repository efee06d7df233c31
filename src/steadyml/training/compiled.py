"""Serving forms read off steadyml's fitted pipelines: the same numbers, without sklearn.

Scoring one row with a fitted pipeline (``PrepareColumns`` -> ``ColumnTransformer`` with an
imputer + scaler for numbers, a one-hot encoder for categories and tf-idf for words -> the
model) takes milliseconds, almost all of it per-call overhead: pandas column selection,
input validation and output wrapping in each step. The arithmetic itself is microseconds.
A service that micro-batches small requests pays that overhead on every model call, so it
caps throughput. ``compile_pipeline`` reads the fitted steps into a form that needs neither
scikit-learn nor scipy (``steadyml.forms``):

* a linear model (logistic or ridge regression) folds into one affine map
  (``forms.linear.CompiledLinear``): each numeric feature adds ``a * x`` after the median
  fill and the scaling, each missing-value indicator a constant, each category its own row
  of the coefficients, each text column its tf-idf values (``forms.text``, the vectorizer
  replayed bit for bit) times its words' coefficients;
* a random forest or histogram gradient boosting becomes flat node arrays evaluated with
  numpy (``forms.trees.CompiledTrees``), after the same imputation, scaling and one-hot rows.

Category columns are mapped by asking the fitted encoder itself (one probe call at compile
time), so infrequent and unknown categories behave exactly as in scikit-learn. Numbers and
labels are prepared by the same functions ``PrepareColumns`` uses, so bad values raise the
same errors.

Anything else (other encoders or estimators, a vectorizer with settings that are not
replayed, text feeding trees) returns ``None`` and the caller uses the pipeline.
``compile_pipeline`` also checks itself: it scores a probe table both ways and refuses
(returns ``None``) unless the answers agree to 1e-9.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from steadyml.forms.linear import CompiledLinear, TextTerm
from steadyml.forms.text import TfidfWords
from steadyml.forms.trees import CompiledTrees, Tree, pack_trees
from steadyml.training.features import PrepareColumns

__all__ = ["CompiledLinear", "CompiledTrees", "compile_pipeline", "fast_model"]

_UNKNOWN = "\x00steadyml-unknown-category\x00"
_TOLERANCE = 1e-9
_FORESTS = (RandomForestClassifier, RandomForestRegressor)
_BOOSTING = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
_BOOSTING_LINKS = {"HalfBinomialLoss": "logistic", "HalfMultinomialLoss": "softmax",
                   "HalfSquaredError": "identity"}  # fmt: skip

Compiled = CompiledLinear | CompiledTrees


def compile_pipeline(pipeline: Any) -> Compiled | None:
    """The serving form of a steadyml pipeline, or None if it has none (or it disagrees with
    the pipeline on a probe table)."""
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


def _need(condition: bool) -> None:
    if not condition:
        raise _NotCompilable


class _Blocks:
    """The encoder's output, block by block: where each block's columns are, and what they
    hold (the numeric block's fill/indicators/mean/scale, the one-hot rows, the words)."""

    def __init__(self, prep: PrepareColumns, encode: Any) -> None:
        _need(isinstance(encode, ColumnTransformer))
        _need(encode.remainder == "drop" or not getattr(encode, "_remainder", (0, 0, []))[2])
        self.numeric, self.categorical = list(prep.numeric), list(prep.categorical)
        self.fill = np.zeros(len(self.numeric))
        self.indicator_cols = np.zeros(0, dtype=int)
        self.mean = self.scale = np.zeros(0)
        self.numeric_at: slice | None = None
        self.onehot: list[tuple[dict[str, int], np.ndarray]] = []
        self.categorical_at: slice | None = None
        self.texts: list[tuple[str, TfidfWords, slice]] = []
        offset = 0
        for name, transformer, columns in encode.transformers_:
            if transformer == "drop" or name == "remainder":
                continue
            at = encode.output_indices_[name]
            _need(at.start == offset)
            offset = at.stop
            if list(np.atleast_1d(columns)) == self.numeric and self.numeric_at is None:
                self.numeric_at = at
                self._numeric(transformer, at.stop - at.start)
            elif isinstance(transformer, OneHotEncoder) and list(columns) == self.categorical:
                _need(self.categorical_at is None)
                self.categorical_at = at
                self.onehot = _onehot_rows(transformer, self.categorical)
            elif isinstance(transformer, TfidfVectorizer) and isinstance(columns, str):
                _need(columns in prep.text and at.stop - at.start == len(transformer.vocabulary_))
                self.texts.append((columns, _words(transformer), at))
            else:
                raise _NotCompilable
        self.width = offset
        _need(self.numeric_at is not None or not self.numeric)
        _need(self.categorical_at is not None or not self.categorical)
        _need(sorted(c for c, _, _ in self.texts) == sorted(prep.text))

    def _numeric(self, transformer: Any, width: int) -> None:
        _need(isinstance(transformer, Pipeline) and len(transformer.steps) == 2)
        imputer, scaler = (s for _, s in transformer.steps)
        _need(isinstance(imputer, SimpleImputer) and isinstance(scaler, StandardScaler))
        _need(isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values))
        self.fill = np.asarray(imputer.statistics_, dtype=float)
        _need(len(self.fill) == len(self.numeric) and bool(np.all(np.isfinite(self.fill))))
        ind = imputer.indicator_.features_ if imputer.add_indicator else np.zeros(0, int)
        self.indicator_cols = np.asarray(ind, dtype=int)
        _need(width == len(self.numeric) + len(self.indicator_cols))
        self.mean = np.asarray(scaler.mean_ if scaler.with_mean else np.zeros(width), dtype=float)
        self.scale = np.asarray(scaler.scale_ if scaler.with_std else np.ones(width), dtype=float)


def _build(pipeline: Any) -> tuple[Compiled, pd.DataFrame]:
    _need(isinstance(pipeline, Pipeline) and len(pipeline.steps) == 3)
    prep, encode, model = (step for _, step in pipeline.steps)
    _need(isinstance(prep, PrepareColumns))
    blocks = _Blocks(prep, encode)
    compiled: Compiled
    if isinstance(model, LogisticRegression | Ridge):
        compiled = _linear(prep, blocks, model)
    elif isinstance(model, _FORESTS + _BOOSTING):
        compiled = _trees(prep, blocks, model)
    else:
        raise _NotCompilable
    probe = _probe_frame(blocks.numeric, blocks.categorical, blocks.onehot, blocks.fill)
    for column, _, _ in blocks.texts:
        probe[column] = [None, "", "Hello, WORLD hello", "ünïcode wörds", "a b c"] * 12 + ["x"] * (
            len(probe) - 60
        )
    return compiled, probe


def _linear(prep: PrepareColumns, blocks: _Blocks, model: Any) -> CompiledLinear:
    coef = np.atleast_2d(np.asarray(model.coef_, dtype=float))  # (k, n_features_out)
    intercept = np.atleast_1d(np.asarray(model.intercept_, dtype=float))
    if isinstance(model, LogisticRegression):
        multi = getattr(model, "multi_class", "auto")
        _need(len(model.classes_) == 2 or multi in ("auto", "deprecated", "multinomial"))
        kind = "binary" if len(model.classes_) == 2 else "multinomial"
    else:
        _need(coef.shape[0] == 1)
        kind = "regression"
    _need(coef.shape[1] == blocks.width)
    k = coef.shape[0]
    bias = intercept.copy()
    slope = np.zeros((len(blocks.numeric), k))
    indicator_weight = np.zeros((0, k))
    if blocks.numeric_at is not None:
        weights = coef[:, blocks.numeric_at].T / blocks.scale[:, None]  # per scaled column
        slope = weights[: len(blocks.numeric)]
        indicator_weight = weights[len(blocks.numeric) :]
        bias = bias - blocks.mean @ weights
    lookups: list[tuple[dict[str, int], np.ndarray]] = []
    if blocks.categorical_at is not None:
        block = coef[:, blocks.categorical_at].T  # (width, k)
        start = 0
        for index, onehot in blocks.onehot:
            width = onehot.shape[1]  # feature j's own columns only
            lookups.append((index, onehot @ block[start : start + width]))
            start += width
    texts: list[TextTerm] = [(col, words, coef[:, at].T.copy()) for col, words, at in blocks.texts]
    return CompiledLinear(
        numeric=blocks.numeric, categorical=blocks.categorical,
        codes=dict(prep.missing_codes or {}), fill=blocks.fill, slope=slope,
        indicator_cols=blocks.indicator_cols, indicator_weight=indicator_weight, bias=bias,
        lookups=lookups, kind=kind, texts=texts,
        classes=np.asarray(model.classes_) if kind != "regression" else None,
    )  # fmt: skip


def _trees(prep: PrepareColumns, blocks: _Blocks, model: Any) -> CompiledTrees:
    _need(not blocks.texts)  # words feeding trees stay on the pipeline
    _need(blocks.numeric_at is None or blocks.numeric_at.start == 0)
    if blocks.categorical_at is not None:
        _need(blocks.categorical_at.start == (0 if blocks.numeric_at is None else len(blocks.mean)))
    _need(getattr(model, "n_features_in_", blocks.width) == blocks.width)
    classify = hasattr(model, "classes_")
    trees: list[Tree] = []
    if isinstance(model, _FORESTS):
        _need(model.n_outputs_ == 1)
        width = len(model.classes_) if classify else 1
        for estimator in model.estimators_:
            t = estimator.tree_
            trees.append((t.feature, t.threshold, t.children_left, t.children_right,
                          t.missing_go_to_left, t.value[:, 0, :width]))  # fmt: skip
        link, combine, baseline = ("proba" if classify else "identity"), "mean", np.zeros(width)
    else:
        _need(getattr(model, "_preprocessor", None) is None)  # no native categorical splits
        link = _BOOSTING_LINKS.get(type(model._loss).__name__, "")
        _need(bool(link))
        k = model.n_trees_per_iteration_
        for per_iteration in model._predictors:
            for col, predictor in enumerate(per_iteration):
                nodes = predictor.nodes
                _need(not nodes["is_categorical"].any())
                leaf = nodes["is_leaf"].astype(bool)
                value = np.zeros((len(nodes), k))
                value[:, col] = nodes["value"]
                trees.append((nodes["feature_idx"], nodes["num_threshold"],
                              np.where(leaf, -1, nodes["left"].astype(np.int64)),
                              nodes["right"].astype(np.int64),
                              nodes["missing_go_to_left"].astype(bool), value))  # fmt: skip
        combine, baseline = "sum", np.asarray(model._baseline_prediction, dtype=float).ravel()
        _need(len(baseline) == k)
    return CompiledTrees(
        numeric=blocks.numeric, categorical=blocks.categorical,
        codes=dict(prep.missing_codes or {}), fill=blocks.fill,
        indicator_cols=blocks.indicator_cols, mean=blocks.mean, scale=blocks.scale,
        lookups=blocks.onehot, trees=pack_trees(trees), baseline=baseline, combine=combine,
        link=link, single_precision=isinstance(model, _FORESTS),
        classes=np.asarray(model.classes_) if classify else None,
    )  # fmt: skip


def _words(vectorizer: Any) -> TfidfWords:
    """The vectorizer as ``TfidfWords``, when its settings are ones it replays."""
    v = vectorizer
    _need(v.input == "content" and v.analyzer == "word" and tuple(v.ngram_range) == (1, 1))
    _need(v.preprocessor is None and v.tokenizer is None and v.stop_words is None)
    _need(not v.strip_accents and not v.binary and v.norm in (None, "l2"))
    _need(isinstance(v.token_pattern, str) and re.compile(v.token_pattern).groups <= 1)
    return TfidfWords(
        vocabulary={str(word): int(j) for word, j in v.vocabulary_.items()},
        idf=np.asarray(v.idf_) if v.use_idf else None,
        lowercase=bool(v.lowercase),
        token_pattern=v.token_pattern,
        norm=v.norm,
        sublinear_tf=bool(v.sublinear_tf),
        dtype=np.dtype(v.dtype).name,
    )


def _onehot_rows(encoder: Any, columns: Sequence[str]) -> list[tuple[dict[str, int], np.ndarray]]:
    """For each category column: label -> row, and its one-hot rows (last row: unknown)."""
    if encoder.drop is not None:
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
    encoded = encoder.transform(probe)
    onehot = np.asarray(encoded.toarray() if hasattr(encoded, "toarray") else encoded, dtype=float)
    out = []
    start = 0
    for c, width in zip(cats, widths, strict=True):
        # feature j's own columns only: the other columns of the probe are fixed filler
        out.append(
            ({label: i for i, label in enumerate(c)}, onehot[: len(c) + 1, start : start + width])
        )
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


def _agrees(pipeline: Any, compiled: Compiled, probe: pd.DataFrame) -> bool:
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
