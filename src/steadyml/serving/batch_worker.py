"""The worker-thread side of the micro-batcher: one model call for a batch, and its answers.

``score_batch`` runs in one of the batcher's worker threads (or on the event loop, for a
fast model: see ``batcher.py``). It builds one frame from the requests of a batch, calls the
score function once, and slices the output so that each request gets exactly its own rows
back, in order. A score function that also has ``score_rows`` (``RowsScoreFn``: a model that
reads columns of values) is given the batch's joined ``RecordRows`` there instead, so no
DataFrame is built for it. When the call fails on a batch of several
requests, each request still waiting is scored alone, once, so one bad request does not fail
the others. Nothing here touches the event loop: the batcher reads the ``BatchReport`` there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from steadyml.registry.scoring import ScoreOutput
from steadyml.serving.rows import Frame, RecordRows, as_frame, concat_frames, join_rows

__all__ = [
    "BatchReport",
    "Queued",
    "Result",
    "RowsScoreFn",
    "ScoreFn",
    "checked_call",
    "score_batch",
]

ScoreFn = Callable[[pd.DataFrame], ScoreOutput]
"""Scores a frame; synchronous and CPU-bound, so the batcher runs it in a worker thread."""


class RowsScoreFn(Protocol):
    """A score function that can also score a batch's rows as they are (no DataFrame)."""

    def __call__(self, frame: pd.DataFrame) -> ScoreOutput: ...
    def score_rows(self, rows: RecordRows) -> ScoreOutput: ...


Result = ScoreOutput | BaseException | None
"""One request's outcome: its rows' output, what failed, or ``None`` (nobody waits for it)."""


class Queued(Protocol):
    """What the worker reads of a queued request."""

    @property
    def frame(self) -> Frame: ...
    @property
    def rows(self) -> int: ...
    @property
    def answered(self) -> bool: ...


@dataclass
class BatchReport:
    """The outcome of one batch: one result per request, in order, and what it cost."""

    results: list[Result]
    rows: int
    seconds: float
    calls: int
    retries: int


def score_batch(score_fn: ScoreFn, requests: Sequence[Queued]) -> BatchReport:
    """Score the requests of one batch in one call (each alone, once, if that call fails)."""
    rows = sum(r.rows for r in requests)
    by_rows: Callable[[Any], ScoreOutput] | None = getattr(score_fn, "score_rows", None)
    joined = join_rows([r.frame for r in requests]) if by_rows is not None else None
    frame: Any = joined if joined is not None else concat_frames([r.frame for r in requests])
    call: Callable[[Any], ScoreOutput] = score_fn if by_rows is None or joined is None else by_rows
    began = time.perf_counter()
    try:
        output = checked_call(call, frame)
    except Exception as exc:
        if len(requests) == 1:
            return BatchReport([exc], rows, time.perf_counter() - began, calls=1, retries=0)
        # One bad request must not fail the others: score each alone, once.
        results: list[Result] = []
        retries = 0
        for req in requests:
            if req.answered:
                results.append(None)
                continue
            retries += 1
            part = req.frame if joined is not None else as_frame(req.frame)
            try:
                results.append(checked_call(call, part))
            except Exception as alone:
                results.append(alone)
        seconds = time.perf_counter() - began
        return BatchReport(results, rows, seconds, calls=1 + retries, retries=retries)
    seconds = time.perf_counter() - began
    results = []
    start = 0
    for req in requests:
        results.append(output.rows(start, start + req.rows))
        start += req.rows
    return BatchReport(results, rows, seconds, calls=1, retries=0)


def checked_call(score_fn: Callable[[Any], ScoreOutput], frame: Frame) -> ScoreOutput:
    """``score_fn(frame)``, refused unless it is a ``ScoreOutput`` with one answer per row
    (``frame``: a DataFrame, or ``RecordRows`` for a ``RowsScoreFn``'s ``score_rows``)."""
    output = score_fn(frame)
    if not isinstance(output, ScoreOutput):
        raise TypeError(
            f"The score function must return a ScoreOutput. Got {type(output).__name__}."
        )
    rows = len(frame)
    sizes = {"predictions": len(output.predictions), "scores": len(output.scores)}
    if output.probabilities is not None:
        sizes["probabilities"] = len(output.probabilities)
    wrong = {name: size for name, size in sizes.items() if size != rows}
    if wrong:
        raise ValueError(
            f"The score function returned {wrong} for {rows} rows; expected one per row."
        )
    return output
