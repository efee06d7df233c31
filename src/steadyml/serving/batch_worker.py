"""The worker-thread side of the micro-batcher: one model call for a batch, and its answers.

``score_batch`` runs in one of the batcher's worker threads. It builds one frame from the
requests of a batch, calls the score function once, and slices the output so that each
request gets exactly its own rows back, in order. When the call fails on a batch of several
requests, each request still waiting is scored alone, once, so one bad request does not fail
the others. Nothing here touches the event loop: the batcher reads the ``BatchReport`` there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from steadyml.registry.scoring import ScoreOutput
from steadyml.serving.rows import Frame, as_frame, concat_frames

__all__ = ["BatchReport", "Queued", "Result", "ScoreFn", "checked_call", "score_batch"]

ScoreFn = Callable[[pd.DataFrame], ScoreOutput]
"""Scores a frame; synchronous and CPU-bound, so the batcher runs it in a worker thread."""

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
    frame = concat_frames([r.frame for r in requests])
    began = time.perf_counter()
    try:
        output = checked_call(score_fn, frame)
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
            try:
                results.append(checked_call(score_fn, as_frame(req.frame)))
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


def checked_call(score_fn: ScoreFn, frame: pd.DataFrame) -> ScoreOutput:
    """``score_fn(frame)``, refused unless it is a ``ScoreOutput`` with one answer per row."""
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
