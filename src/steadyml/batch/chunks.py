"""The per-chunk step both engines run: validate, score, and prepare the output, the rejects
and the prediction-log records of one chunk.

``process_chunk`` is a plain function of a chunk and a ``ChunkContext`` (the model and the
rules), so the pandas engine calls it in a loop and the Dask engine ships it to workers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from steadyml.batch.readers import NA_STRINGS, RawChunk
from steadyml.batch.validate import RowRules, check_chunk
from steadyml.entities import PredictionRecord
from steadyml.predlog import scrub
from steadyml.scoring import plain

if TYPE_CHECKING:
    from steadyml.registry import ModelBundle

__all__ = ["ChunkContext", "ChunkResult", "process_chunk", "score_arrays", "output_schema"]

ROW = "_row"
LINE = "_line"
REASON = "_reason"


@dataclass
class ChunkContext:
    bundle: ModelBundle
    rules: RowRules
    id_column: str | None
    header: list[str]  # every column of the input, for the rejects file
    log_columns: list[str]  # what the prediction log keeps of each row (before scrubbing)
    pii: list[str]
    pii_mode: str
    pii_key: str
    batch_id: str
    log: bool


@dataclass
class ChunkResult:
    rows_in: int
    scored: pa.Table
    rejects: pa.Table
    records: list[PredictionRecord]
    kinds: Counter[str]
    blank_lines: list[int] = field(default_factory=list)


def output_schema(ctx: ChunkContext, prediction: pa.DataType | None = None) -> pa.Schema:
    fields = [pa.field(ctx.id_column, pa.string())] if ctx.id_column else []
    fields += [
        pa.field(ROW, pa.int64()),
        pa.field("prediction", prediction or pa.string()),
        pa.field("score", pa.float64()),
        pa.field("model_version", pa.int64()),
        pa.field("scored_at", pa.timestamp("us", tz="UTC")),
    ]
    return pa.schema(fields)


def rejects_schema(header: list[str]) -> pa.Schema:
    return pa.schema(
        [pa.field(LINE, pa.int64()), pa.field(REASON, pa.string())]
        + [pa.field(c, pa.string()) for c in header]
    )


def score_arrays(bundle: ModelBundle, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and scores, vectorised; the same answers as ``steadyml.scoring.score_frame``
    (positive-class probability and the training threshold for a yes/no model)."""
    if bundle.task != "classification":
        values = np.asarray(bundle.pipeline.predict(frame), dtype=float)
        return values, values
    proba = np.asarray(bundle.pipeline.predict_proba(frame), dtype=float)
    classes = [plain(c) for c in bundle.pipeline.classes_]
    labels = np.asarray(classes, dtype=object if any(isinstance(c, str) for c in classes) else None)
    if len(classes) == 2 and bundle.positive_label in classes:
        pos = classes.index(bundle.positive_label)
        threshold = bundle.threshold if bundle.threshold is not None else 0.5
        scores = proba[:, pos]
        predictions = np.where(scores >= threshold, labels[pos], labels[1 - pos])
        return predictions, scores
    best = proba.argmax(axis=1)
    return labels[best], proba[np.arange(len(proba)), best]


def process_chunk(raw: RawChunk, ctx: ChunkContext) -> ChunkResult:
    frame = raw.frame
    typed, reasons, kinds = check_chunk(frame, ctx.rules, text=raw.text)
    good = np.fromiter((not r for r in reasons), dtype=bool, count=len(reasons))
    bad = ~good
    rej_lines = [int(x) for x in raw.lines[bad]] + raw.bad_lines
    rej_reasons = ["; ".join(r) for r in reasons if r] + raw.bad_reasons
    for reason in raw.bad_reasons:
        kinds["line: ends early" if "ends early" in reason else "line: too many values"] += 1
    rej_values = {c: _as_text(frame[c][bad]) + [v[i] for v in raw.bad_values]
                  for i, c in enumerate(ctx.header)}  # fmt: skip
    rejects = pa.table(
        {LINE: pa.array(rej_lines, pa.int64()), REASON: pa.array(rej_reasons, pa.string()),
         **{c: pa.array(v, pa.string()) for c, v in rej_values.items()}},
        schema=rejects_schema(ctx.header),
    )  # fmt: skip
    if bad.any():
        rejects = rejects.sort_by(LINE)
    version = int(ctx.bundle.version or 0)
    now = dt.datetime.now(dt.UTC)
    good_rows = typed[good] if bad.any() else typed
    lines = raw.lines[good]
    if len(good_rows):
        predictions, scores = score_arrays(ctx.bundle, good_rows)
    else:
        predictions, scores = np.array([], dtype=object), np.array([], dtype=float)
    ids = _as_text(frame[ctx.id_column][good]) if ctx.id_column else None
    columns: dict[str, Any] = {}
    if ctx.id_column:
        columns[ctx.id_column] = pa.array(ids, pa.string())
    columns[ROW] = pa.array(lines, pa.int64())
    columns["prediction"] = pa.array(predictions.tolist())
    columns["score"] = pa.array(scores, pa.float64())
    columns["model_version"] = pa.array(np.full(len(lines), version), pa.int64())
    columns["scored_at"] = pa.array([now] * len(lines), pa.timestamp("us", tz="UTC"))
    scored = pa.table(columns)
    records = (
        _records(ctx, good_rows, raw.text, lines, ids, predictions, scores, now, version)
        if ctx.log and len(good_rows)
        else []
    )
    return ChunkResult(
        rows_in=len(frame) + len(raw.bad_lines),
        scored=scored,
        rejects=rejects,
        records=records,
        kinds=kinds,
        blank_lines=list(raw.blank_lines),
    )


def _as_text(s: pd.Series) -> list[str]:
    if s.dtype == object:
        return [v if isinstance(v, str) else ("" if _isna(v) else str(v)) for v in s]
    if pd.api.types.is_float_dtype(s):
        return ["" if np.isnan(v) else (str(int(v)) if v.is_integer() else repr(v)) for v in s]
    return ["" if _isna(v) else str(v) for v in s.tolist()]


def _isna(v: object) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _records(
    ctx: ChunkContext,
    rows: pd.DataFrame,
    text: bool,
    lines: np.ndarray,
    ids: list[str] | None,
    predictions: np.ndarray,
    scores: np.ndarray,
    now: dt.datetime,
    version: int,
) -> list[PredictionRecord]:
    keep = [c for c in ctx.log_columns if c not in ctx.pii]
    view = rows[keep]
    if text:  # text columns no rule typed: the missing-value words are missing
        rule_names = set(ctx.rules.names)
        view = view.assign(**{c: view[c].mask(view[c].isin(NA_STRINGS))
                              for c in keep if c not in rule_names})  # fmt: skip
    inputs = view.astype(object).where(view.notna(), None).to_dict("records")
    hashed = [c for c in ctx.log_columns if c in ctx.pii] if ctx.pii_mode == "hash" else []
    if hashed:
        personal = rows[hashed]
        if text:
            personal = personal.mask(personal.isin(NA_STRINGS))
        personal = personal.astype(object).where(personal.notna(), None)
        for row, pii_values in zip(inputs, personal.to_dict("records"), strict=True):
            row.update(scrub(pii_values, hashed, mode="hash", key=ctx.pii_key))
    preds = predictions.tolist()
    score_list = scores.tolist()
    return [
        PredictionRecord(
            request_id=f"{ctx.batch_id}:{line}",
            at=now,
            model_version=version,
            route="batch",
            inputs=inputs[i],
            prediction=preds[i],
            score=score_list[i],
            latency_ms=None,
            row_key=None if ids is None else ids[i][:200],
        )
        for i, line in enumerate(lines.tolist())
    ]


def reject_records(ctx: ChunkContext, rejects: pa.Table, now: dt.datetime, version: int
                   ) -> list[PredictionRecord]:  # fmt: skip
    """Rejected rows for the prediction log: their values as read (personal data left out)
    and the reason, so the monitor counts contract violations and sees what broke it."""
    if not rejects.num_rows:
        return []
    keep = [c for c in ctx.log_columns if c not in ctx.pii and c in rejects.column_names]
    table = rejects.select([LINE, REASON, *keep]).to_pylist()
    out = []
    for row in table:
        line = row.pop(LINE)
        reason = row.pop(REASON) or ""
        inputs = {k: (None if v in ("", None) else v) for k, v in row.items()}
        key = inputs.get(ctx.id_column) if ctx.id_column else None
        out.append(
            PredictionRecord(
                request_id=f"{ctx.batch_id}:{line}",
                at=now,
                model_version=version,
                route="batch",
                inputs=inputs,
                prediction=None,
                score=None,
                latency_ms=None,
                error=f"contract: {reason}"[:1000],
                row_key=None if key is None else str(key)[:200],
            )
        )
    return out
