"""The per-chunk step both engines run: validate, score, and prepare the output, the rejects
and the prediction-log records of one chunk.

A row that breaks a rule of the contract goes to the rejects; a row that breaks only an
expectation is scored and its warnings go to the output's ``_warnings`` column ('' for a row
without).

``process_chunk`` is a plain function of a chunk and a ``ChunkContext`` (the model and the
rules), so the pandas engine calls it in a loop and the Dask engine ships it to workers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from steadyml.batch.readers import NA_STRINGS, RawChunk
from steadyml.batch.validate import RowRules, check_chunk
from steadyml.predlog import hmac_values
from steadyml.registry.scoring import plain, score_arrays

if TYPE_CHECKING:
    from steadyml.registry import ModelBundle

__all__ = [
    "ChunkContext",
    "ChunkResult",
    "log_input_types",
    "output_schema",
    "prediction_type",
    "process_chunk",
]

ROW = "_row"
LINE = "_line"
REASON = "_reason"
WARNINGS = "_warnings"


@dataclass
class ChunkContext:
    bundle: ModelBundle
    rules: RowRules
    id_column: str | None
    header: list[str]  # every column of the input, for the rejects file
    log_columns: list[str]  # what the prediction log keeps of each row (before scrubbing)
    pii: list[str]
    pii_mode: str
    pii_key: str = field(repr=False)  # never printed in an error report
    batch_id: str
    log: bool
    log_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # the type of each logged input column in the batch log file (personal data included
    # when it is hashed; left out of the file when removed)
    log_types: dict[str, pa.DataType] = field(default_factory=dict)
    prediction_type: pa.DataType | None = None


@dataclass
class ChunkResult:
    rows_in: int
    scored: pa.Table
    rejects: pa.Table
    log: pa.Table | None
    kinds: Counter[str]
    blank_lines: list[int] = field(default_factory=list)
    warned: int = 0  # rows scored with at least one warning
    warning_kinds: Counter[str] = field(default_factory=Counter)


def output_schema(ctx: ChunkContext, prediction: pa.DataType | None = None) -> pa.Schema:
    fields = [pa.field(ctx.id_column, pa.string())] if ctx.id_column else []
    fields += [
        pa.field(ROW, pa.int64()),
        pa.field("prediction", prediction or pa.string()),
        pa.field("score", pa.float64()),
        pa.field("model_version", pa.int64()),
        pa.field("scored_at", pa.timestamp("us", tz="UTC")),
        pa.field(WARNINGS, pa.string()),
    ]
    return pa.schema(fields)


def rejects_schema(header: list[str]) -> pa.Schema:
    return pa.schema(
        [pa.field(LINE, pa.int64()), pa.field(REASON, pa.string())]
        + [pa.field(c, pa.string()) for c in header]
    )


def prediction_type(bundle: ModelBundle) -> pa.DataType:
    """The Arrow type of the model's predictions (its class labels, or float)."""
    if bundle.task != "classification":
        return pa.float64()
    classes = [plain(c) for c in bundle.pipeline.classes_]
    return pa.array(classes).type


def log_input_types(
    log_columns: list[str],
    pii: list[str],
    pii_mode: str,
    rules: RowRules,
    source_types: dict[str, pa.DataType] | None,
) -> dict[str, pa.DataType]:
    """The type of each logged input in the batch log file: numbers the contract types as
    float, hashed personal data as text, the rest as the file has them (CSV: text)."""
    numeric = {c.name for c in rules.columns if c.type in ("integer", "number")}
    out: dict[str, pa.DataType] = {}
    for name in log_columns:
        if name in pii:
            if pii_mode == "hash":
                out[name] = pa.string()
            continue
        if name in numeric:
            out[name] = pa.float64()
        elif source_types is None or name not in source_types:
            out[name] = pa.string()
        else:
            out[name] = _plain_type(source_types[name])
    return out


def _plain_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_nested(t) or pa.types.is_null(t) or pa.types.is_binary(t):
        return pa.string()
    return t


def process_chunk(raw: RawChunk, ctx: ChunkContext) -> ChunkResult:
    frame = raw.frame
    check = check_chunk(frame, ctx.rules, text=raw.text)
    typed, bad, reasons, kinds = check.typed, check.refused, check.reasons, check.refused_counts
    good = ~bad
    any_bad = bool(bad.any())
    rej_lines = [int(x) for x in raw.lines[bad]] + raw.bad_lines
    frame_reasons = ["; ".join(reasons[i]) for i in np.flatnonzero(bad).tolist()]
    rej_reasons = frame_reasons + raw.bad_reasons
    for reason in raw.bad_reasons:
        kinds["line: ends early" if "ends early" in reason else "line: too many values"] += 1
    if any_bad or raw.bad_lines:
        rej_values = {c: _as_text(frame[c][bad]) + [v[i] for v in raw.bad_values]
                      for i, c in enumerate(ctx.header)}  # fmt: skip
        rejects = pa.table(
            {LINE: pa.array(rej_lines, pa.int64()), REASON: pa.array(rej_reasons, pa.string()),
             **{c: pa.array(v, pa.string()) for c, v in rej_values.items()}},
            schema=rejects_schema(ctx.header),
        )  # fmt: skip
        if any_bad:
            rejects = rejects.sort_by(LINE)
    else:
        rejects = rejects_schema(ctx.header).empty_table()
    version = int(ctx.bundle.version or 0)
    now = dt.datetime.now(dt.UTC)
    good_rows = typed[good] if any_bad else typed
    lines = raw.lines[good] if any_bad else raw.lines
    if len(good_rows):
        answer = score_arrays(ctx.bundle, good_rows)
        predictions, scores = answer.predictions, answer.scores
    else:
        predictions, scores = np.array([], dtype=object), np.array([], dtype=float)
    ids_all = _text_array(frame[ctx.id_column]) if ctx.id_column else None
    n_good = len(lines)
    columns: dict[str, Any] = {}
    if ids_all is not None:
        columns[ctx.id_column or ""] = ids_all.filter(pa.array(good)) if any_bad else ids_all
    columns[ROW] = pa.array(lines, pa.int64())
    columns["prediction"] = _prediction_array(predictions, ctx.prediction_type)
    columns["score"] = pa.array(scores, pa.float64())
    columns["model_version"] = pa.repeat(pa.scalar(version, pa.int64()), n_good)
    columns["scored_at"] = pa.repeat(pa.scalar(now, pa.timestamp("us", tz="UTC")), n_good)
    rows = np.flatnonzero(good).tolist() if any_bad else None
    columns[WARNINGS] = pa.array(check.warning_texts(rows), pa.string())
    scored = pa.table(columns)
    log = None
    if ctx.log:
        log = _log_table(ctx, raw, typed, good, frame_reasons, ids_all, predictions, scores)
    return ChunkResult(
        rows_in=len(frame) + len(raw.bad_lines),
        scored=scored,
        rejects=rejects,
        log=log,
        kinds=kinds,
        blank_lines=list(raw.blank_lines),
        warned=len(check.warnings),
        warning_kinds=check.warning_counts,
    )


def _prediction_array(values: np.ndarray, type_: pa.DataType | None) -> pa.Array:
    if type_ is None or values.dtype == object:
        arr = pa.array(values.tolist())
        return arr if type_ is None or arr.type == type_ else arr.cast(type_)
    return pa.array(values, type=type_)


def _text_array(s: pd.Series) -> pa.Array:
    """The values as text (numbers without a trailing .0, missing as empty)."""
    if pd.api.types.is_string_dtype(s.dtype) and s.dtype != object:
        arr = pa.array(s, pa.string(), from_pandas=True)
        return pc.fill_null(arr, "")
    return pa.array(_as_text(s), pa.string())


def _as_text(s: pd.Series) -> list[str]:
    if s.dtype == object:
        return [v if isinstance(v, str) else ("" if _isna(v) else str(v)) for v in s]
    if pd.api.types.is_string_dtype(s.dtype):
        return [str(v) for v in s.fillna("").tolist()]
    if pd.api.types.is_float_dtype(s):
        return ["" if np.isnan(v) else (str(int(v)) if v.is_integer() else repr(v)) for v in s]
    if pd.api.types.is_integer_dtype(s) and not s.hasnans:
        return [str(v) for v in s.tolist()]
    return ["" if _isna(v) else str(v) for v in s.tolist()]


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _to_arrow(values: pd.Series, type_: pa.DataType) -> pa.Array:
    """A logged input column in the file's type; a value that does not fit becomes null."""
    with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array(values, type=type_, from_pandas=True)
    try:
        return pa.array(values, from_pandas=True).cast(type_, safe=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        if pa.types.is_floating(type_):
            return pa.array(pd.to_numeric(values, errors="coerce"), type_, from_pandas=True)
        return pa.array(_as_text(values), pa.string()).cast(type_, safe=False)


def _text_to(values: list[str], type_: pa.DataType) -> pa.Array:
    """Values of records that could not be parsed (text) in the file's type."""
    arr = pa.array([None if v in NA_STRINGS else v for v in values], pa.string())
    if pa.types.is_string(type_):
        return arr
    if pa.types.is_floating(type_):
        return pa.array(pd.to_numeric(pd.Series(arr.to_pylist(), dtype=object), errors="coerce"),
                        type_, from_pandas=True)  # fmt: skip
    try:
        return arr.cast(type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.nulls(len(values), type_)


def _log_table(
    ctx: ChunkContext,
    raw: RawChunk,
    typed: pd.DataFrame,
    good: np.ndarray,
    frame_reasons: list[str],
    ids: pa.Array | None,
    predictions: np.ndarray,
    scores: np.ndarray,
) -> pa.Table:
    """The chunk's prediction-log rows, scored and refused, as Arrow columns: personal data
    removed or keyed-hashed, each logged input in the type ``ctx.log_types`` gives it."""
    n_frame = len(typed)
    n_lines = len(raw.bad_lines)
    n = n_frame + n_lines
    lines = pa.array(np.concatenate([raw.lines, np.asarray(raw.bad_lines, dtype=np.int64)]))
    ok = np.concatenate([good, np.zeros(n_lines, dtype=bool)])
    errors = np.full(n, None, dtype=object)
    errors[np.flatnonzero(~good)] = [f"contract: {r}"[:1000] for r in frame_reasons]
    errors[n_frame:] = [f"contract: {r}"[:1000] for r in raw.bad_reasons]
    if ids is None:
        keys = pa.nulls(n, pa.string())
    else:
        at = ctx.header.index(ctx.id_column) if ctx.id_column in ctx.header else None
        extra = [v[at] for v in raw.bad_values] if at is not None else [""] * n_lines
        keys = pa.concat_arrays([ids, pa.array(extra, pa.string())])
        keys = pc.if_else(pc.equal(keys, ""), pa.scalar(None, pa.string()), keys)
        keys = pc.utf8_slice_codeunits(keys, 0, 200)
    full_pred = np.full(n, None, dtype=object) if predictions.dtype == object else (
        np.zeros(n, dtype=predictions.dtype))  # fmt: skip
    full_pred[ok] = predictions
    full_score = np.zeros(n, dtype=float)
    full_score[ok] = scores
    version = int(ctx.bundle.version or 0)
    columns: dict[str, Any] = {
        "request_id": pc.binary_join_element_wise(ctx.batch_id, pc.cast(lines, pa.string()), ":"),
        "row_key": keys,
        "at": pa.repeat(pa.scalar(ctx.log_at, pa.timestamp("us", tz="UTC")), n),
        "model_version": pa.repeat(pa.scalar(version, pa.int64()), n),
        "route": pa.repeat(pa.scalar("batch", pa.string()), n),
        "prediction": _masked(full_pred, ~ok, ctx.prediction_type),
        "score": pa.array(full_score, pa.float64(), mask=~ok),
        "latency_ms": pa.nulls(n, pa.float64()),
        "fallback": pa.repeat(pa.scalar(False), n),
        "error": pa.array(errors, pa.string()),
    }
    rule_names = set(ctx.rules.names)
    hashed = ctx.pii_mode == "hash"
    for name, type_ in ctx.log_types.items():
        if name in columns:
            continue
        series = typed[name]
        if raw.text and name not in rule_names:  # text no rule typed: missing words are missing
            series = series.mask(series.isin(NA_STRINGS))
        i = ctx.header.index(name)
        if name in ctx.pii:
            if not hashed:
                continue
            values = series.astype(object).where(series.notna() & good, None).tolist()
            part = pa.array(hmac_values(values, ctx.pii_key), pa.string())
            columns[name] = pa.concat_arrays([part, pa.nulls(n_lines, pa.string())])
            continue
        part = _to_arrow(series, type_)
        if n_lines:
            part = pa.concat_arrays([part, _text_to([v[i] for v in raw.bad_values], type_)])
        columns[name] = part
    return pa.table(columns)


def _masked(values: np.ndarray, mask: np.ndarray, type_: pa.DataType | None) -> pa.Array:
    if values.dtype == object:
        arr = pa.array(values.tolist(), type=type_, from_pandas=True)
        return arr
    return pa.array(values, type=type_, mask=mask)
