"""Score many small requests in one model call: an asyncio micro-batcher.

A scikit-learn pipeline costs almost the same for 1 row as for 100 (about 5.5 ms against
6.1 ms for the churn model), so a service that scores each request alone spends its time on
per-call overhead. ``MicroBatcher`` gathers the records of concurrent requests for a few
milliseconds, scores them in one call, and hands every caller exactly its own rows back.

How a request travels::

    submit(key, score_fn, frame)            # key: the model version; never mixed
        -> open group for that key          # collects requests
        -> dispatched when it is ready      # see "When a group is scored" below
        -> one score_fn(concatenated frame) # in a worker thread, off the event loop
        -> each caller gets its slice       # in the order its rows were sent

When a group is scored:

- at once when it holds ``max_batch_rows`` rows (a request with more rows is scored alone);
- at once (on the next turn of the event loop) when the request that opened it found the
  model idle and nothing else queued: under no load a request pays no waiting time, and
  requests submitted in the same turn of the loop still share the call;
- otherwise when its oldest request has waited ``max_wait_ms`` and a worker is free. The
  model was busy when such a group started, so the wait costs little, and it lets the
  callers of the batch that just finished join the next one instead of forming a batch of
  their own. A group whose wait is over but finds every worker busy keeps collecting rows
  (up to ``max_batch_rows``) until one is free.

Scored on the event loop: with ``inline_ms`` above 0, a ready group of at most
``inline_rows`` rows whose model's last call took at most ``inline_ms`` is scored right there,
in the turn of the loop that dispatches it, instead of in a worker thread. For a compiled
serving form (a fraction of a millisecond per call) the hand-off costs more than the call:
two thread switches, and on a busy machine the event loop waiting for the GIL the worker
holds (measured on 2 cores: most of a lone request's time outside the model). The answers are
the same: the same ``score_batch`` runs (one frame, one call, each request alone once if it
fails), and a request whose ``timeout_ms`` passed during the call gets ``BatchTimeout``, as
a late answer from a worker would (when the call returns: a call on the loop cannot be cut
short, hence only for models measured fast). A model's first call, a slow model (a pickled
pipeline) and a large group still go to a worker, so the loop never blocks for long; no more model
calls run at once than ``executor_threads``, inline ones included, and the loop's thread
gets the workers' ``model_threads`` limit before its first inline call.

In practice the batch size is set by how many requests arrive while the model is busy:
measured on the churn pipeline with two cores, 32 concurrent clients got batches of about
16 rows and 10-12 times the throughput of one call per request, whatever ``max_wait_ms``
(0, 2 or 5). ``max_wait_ms`` only changes batching when it is longer than a model call, so
the default (2 ms) stays well below one.

Scoring runs in a ``ThreadPoolExecutor(executor_threads)``, so the event loop never blocks
and never more than ``executor_threads`` model calls run at once. Each worker thread also
limits BLAS/OpenMP to ``model_threads`` threads (OpenMP's limit is per thread, so it must
be set inside the worker): with the defaults, the model uses one core and leaves the other
to the event loop. The CLI also sets ``OMP_NUM_THREADS`` before it starts server workers.

Failures:

- a request not answered within ``timeout_ms`` of ``submit`` raises ``BatchTimeout``; the
  caller answers with the fallback, and a late result is discarded;
- if ``score_fn`` raises on a batch of several requests, each request is retried alone once
  (in the same worker turn), so one bad request does not fail the others; a request that
  still fails raises ``BatchError`` with the original exception as ``__cause__``.

Nothing starts at import and there is no global state: the service builds a
``MicroBatcher``, calls ``await start()`` on startup and ``await stop()`` on shutdown.

This module is the event-loop side (groups, timers, answers); what runs in the worker thread
(one frame per batch, the model call, the retry, the slicing) is ``batch_worker.py``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import math
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits

from steadyml.errors import SteadyMLError
from steadyml.registry.scoring import ScoreOutput
from steadyml.serving.batch_worker import BatchReport, ScoreFn, score_batch
from steadyml.serving.rows import Frame, RecordRows

__all__ = ["BatchError", "BatchTimeout", "MicroBatcher", "ScoreFn", "ScoreOutput"]

logger = logging.getLogger(__name__)

_RECENT_BATCHES = 256  # batch sizes kept for stats["recent_batch_rows"]


OnBatch = Callable[[int, float], None]
"""Called on the event loop after each model call with ``(rows, seconds)``."""


class BatchError(SteadyMLError):
    """A request could not be scored: the model raised, or the service is stopping.

    When the model raised, the original exception is ``__cause__``.
    """


class BatchTimeout(BatchError):
    """The model did not answer a request within the timeout; the caller uses its fallback."""

    def __init__(self, timeout_ms: float) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(
            f"The model did not answer within {timeout_ms:g} ms.",
            hint="Raise serving.fallback.timeout_ms in steadyml.yaml if the model is slow "
            "but correct, or check the server's CPU load.",
        )


def _limit_worker_threads(n: int) -> None:
    # Runs once in each worker thread. The limit holds for the thread's whole life, so the
    # returned limiter need not be kept.
    threadpool_limits(limits=n)


# --- internal records --------------------------------------------------------------------


@dataclass(eq=False)
class _Request:
    frame: Frame
    rows: int
    future: asyncio.Future[ScoreOutput]
    deadline: float  # loop time after which the answer is a BatchTimeout
    # Set on the loop once the caller has an answer (or gave up); the worker thread reads it
    # to skip retrying a request nobody waits for.
    answered: bool = False


@dataclass(eq=False)
class _Group:
    key: Hashable
    score_fn: ScoreFn
    started: float  # loop time of the oldest request
    eager: bool  # opened on an idle model: score on the next loop turn
    requests: list[_Request] = field(default_factory=list)
    rows: int = 0
    closed: bool = False  # full, or a single oversized request: takes no more requests
    timer: asyncio.TimerHandle | None = None


# --- the batcher -------------------------------------------------------------------------


class MicroBatcher:
    """Gather concurrent requests per model and score each group in one model call.

    ``max_wait_ms``: how long a group opened while the model is busy waits for company.
    ``max_batch_rows``: a group is scored at once when it holds this many rows; a request
    with more rows is scored alone. ``timeout_ms``: a request not answered this long after
    ``submit`` raises ``BatchTimeout``. ``executor_threads``: model calls that may run at
    once. ``model_threads``: BLAS/OpenMP threads per model call (``None`` leaves the
    libraries' own setting). ``on_batch(rows, seconds)``: called after each model call, for
    metrics. ``inline_ms`` / ``inline_rows``: a group of at most ``inline_rows`` rows whose
    model's last call took at most ``inline_ms`` is scored on the event loop (``0``: never;
    see the module help).
    """

    def __init__(
        self,
        *,
        max_wait_ms: float = 2.0,
        max_batch_rows: int = 256,
        timeout_ms: float = 500.0,
        executor_threads: int = 1,
        model_threads: int | None = 1,
        on_batch: OnBatch | None = None,
        inline_ms: float = 0.0,
        inline_rows: int = 64,
    ) -> None:
        _check_number("max_wait_ms", max_wait_ms, minimum=0.0)
        _check_number("timeout_ms", timeout_ms, minimum=0.0, strict=True)
        _check_count("max_batch_rows", max_batch_rows)
        _check_count("executor_threads", executor_threads)
        if model_threads is not None:
            _check_count("model_threads", model_threads)
        _check_number("inline_ms", inline_ms, minimum=0.0)
        _check_count("inline_rows", inline_rows)
        self.max_wait_ms = float(max_wait_ms)
        self.max_batch_rows = max_batch_rows
        self.timeout_ms = float(timeout_ms)
        self.executor_threads = executor_threads
        self.model_threads = model_threads
        self.on_batch = on_batch
        self.inline_s = float(inline_ms) / 1000
        self.inline_rows = inline_rows

        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._state = "new"  # new -> running -> stopping -> stopped (-> running again)
        self._draining = False
        self._queue: list[_Group] = []  # groups waiting to be scored, oldest first
        self._open: dict[Hashable, _Group] = {}  # the group still taking requests, per key
        self._in_flight: dict[int, list[_Request]] = {}  # batch id -> its requests
        self._next_batch = 0
        self._unanswered = 0
        self._settled: asyncio.Event | None = None
        self._pump_scheduled = False
        self._counts = dict.fromkeys(
            ("requests", "batches", "rows", "model_calls", "retries", "timeouts", "errors"), 0
        )
        self._inline_batches = 0
        self._loop_limited = False  # the loop's thread has model_threads' BLAS/OpenMP limit
        self._call_s: dict[Hashable, float] = {}  # per key: seconds its last model call took
        self._recent: deque[int] = deque(maxlen=_RECENT_BATCHES)
        # Requests in the order they came, so by deadline (one timeout for all): one timer, for
        # the oldest one not yet answered, instead of a timer per request (``_expire_due``).
        self._by_deadline: deque[_Request] = deque()
        self._deadline_timer: asyncio.TimerHandle | None = None

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._state == "running"

    async def start(self) -> None:
        """Start the worker threads; call it from the running event loop (app startup)."""
        if self._state == "running":
            return
        self._loop = asyncio.get_running_loop()
        limit = self.model_threads
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.executor_threads,
            thread_name_prefix="steadyml-score",
            initializer=None if limit is None else functools.partial(_limit_worker_threads, limit),
        )
        self._settled = asyncio.Event()
        self._settled.set()
        self._draining = False
        self._state = "running"

    async def stop(self, *, drain: bool = True) -> None:
        """Stop taking requests; with ``drain``, answer every one already submitted first.

        ``drain=True`` scores everything queued at once (without waiting for ``max_wait_ms``)
        and returns when every submitted request has its answer: a result, or
        ``BatchTimeout`` for one that ran out of time. ``drain=False`` fails every request
        not yet answered with ``BatchError("service stopping")``. A model call still running
        is not waited for: its result is discarded.
        """
        if self._state != "running" or self._settled is None:
            return
        self._state = "stopping"
        if drain:
            self._draining = True
            self._pump()
            await self._settled.wait()
        else:
            pending = [r for g in self._queue for r in g.requests]
            pending += [r for batch in self._in_flight.values() for r in batch]
            for req in pending:
                self._answer(req, BatchError("The service is stopping: request not scored."))
        for group in self._queue:
            if group.timer is not None:
                group.timer.cancel()
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None
        self._by_deadline.clear()
        self._queue.clear()
        self._open.clear()
        self._in_flight.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self._draining = False
        self._state = "stopped"

    # --- submitting ------------------------------------------------------------------------

    async def submit(self, key: Hashable, score_fn: ScoreFn, frame: Frame) -> ScoreOutput:
        """Score ``frame`` with ``score_fn``, batched with other requests for ``key``.

        ``key`` names the model (its version): frames for different keys are never scored
        together. Requests with the same key must pass the same ``score_fn``; a different
        one closes the open group and starts a new one. Raises ``BatchTimeout`` when the
        answer takes longer than ``timeout_ms`` and ``BatchError`` when the model fails on
        this request or the service is stopping.
        """
        if not isinstance(frame, (pd.DataFrame, RecordRows)):
            raise BatchError(f"Frame must be a pandas DataFrame. Got {type(frame).__name__}.")
        loop, settled = self._loop, self._settled
        if self._state != "running" or loop is None or settled is None:
            if self._state == "new":
                raise BatchError(
                    "The batcher is not running.", hint="Call `await batcher.start()` first."
                )
            raise BatchError("The service is stopping: request not scored.")
        rows = len(frame)
        if rows == 0:
            return ScoreOutput(predictions=[], scores=[], probabilities=None)

        deadline = loop.time() + self.timeout_ms / 1000
        req = _Request(frame=frame, rows=rows, future=loop.create_future(), deadline=deadline)
        self._by_deadline.append(req)
        if self._deadline_timer is None:
            self._deadline_timer = loop.call_at(deadline, self._expire_due)
        self._counts["requests"] += 1
        self._unanswered += 1
        settled.clear()
        self._enqueue(loop, key, score_fn, req)
        try:
            return await req.future
        finally:
            # The caller has its answer, timed out, or was cancelled (client went away).
            self._answer(req, None)

    def _enqueue(
        self, loop: asyncio.AbstractEventLoop, key: Hashable, score_fn: ScoreFn, req: _Request
    ) -> None:
        now = loop.time()
        if req.rows >= self.max_batch_rows:
            # Too big to share a call: score it alone, next in line.
            alone = _Group(key, score_fn, started=now, eager=True, closed=True)
            self._add(alone, req)
            self._queue.append(alone)
            self._schedule_pump()
            return
        group: _Group | None = self._open.get(key)
        if group is not None and (
            group.score_fn is not score_fn or group.rows + req.rows > self.max_batch_rows
        ):
            self._close(group)
            group = None
        if group is None:
            idle = not self._queue and len(self._in_flight) < self.executor_threads
            group = _Group(key, score_fn, started=now, eager=idle)
            self._queue.append(group)
            self._open[key] = group
            if idle:
                self._schedule_pump()
            else:
                group.timer = loop.call_at(now + self.max_wait_ms / 1000, self._pump)
        self._add(group, req)
        if group.rows >= self.max_batch_rows:
            self._close(group)

    def _add(self, group: _Group, req: _Request) -> None:
        group.requests.append(req)
        group.rows += req.rows

    def _close(self, group: _Group) -> None:
        group.closed = True
        if self._open.get(group.key) is group:
            del self._open[group.key]
        self._schedule_pump()

    # --- dispatching -----------------------------------------------------------------------

    def _schedule_pump(self) -> None:
        if not self._pump_scheduled and self._loop is not None:
            self._pump_scheduled = True
            self._loop.call_soon(self._pump)

    def _ready(self, group: _Group, now: float) -> bool:
        return (
            group.closed
            or group.eager
            or self._draining
            or now >= group.started + self.max_wait_ms / 1000
        )

    def _pump(self) -> None:
        """Send ready groups to free workers, oldest first."""
        self._pump_scheduled = False
        loop, executor = self._loop, self._executor
        if loop is None or executor is None:
            return
        now = loop.time()
        index = 0
        while index < len(self._queue) and len(self._in_flight) < self.executor_threads:
            group = self._queue[index]
            if not self._ready(group, now):
                index += 1
                continue
            del self._queue[index]
            if self._open.get(group.key) is group:
                del self._open[group.key]
            if group.timer is not None:
                group.timer.cancel()
            waiting = [r for r in group.requests if not r.future.done()]
            if not waiting:
                continue
            if group.rows <= self.inline_rows and self._call_s.get(group.key, math.inf) <= (
                self.inline_s
            ):
                self._score_inline(loop, group.key, group.score_fn, waiting)
            else:
                self._dispatch(loop, executor, group.key, group.score_fn, waiting)
        self._check_settled()

    def _score_inline(
        self,
        loop: asyncio.AbstractEventLoop,
        key: Hashable,
        score_fn: ScoreFn,
        requests: list[_Request],
    ) -> None:
        """Score a small group of a fast model here, on the event loop (see the module help)."""
        if not self._loop_limited and self.model_threads is not None:
            _limit_worker_threads(self.model_threads)  # as in a worker: once, for this thread
        self._loop_limited = True
        self._inline_batches += 1
        try:
            report = score_batch(score_fn, requests)
        except Exception as exc:  # as a worker that failed: these requests fail
            self._settle(key, requests, None, exc)
            return
        now = loop.time()
        for req in requests:
            if now >= req.deadline:  # answered too late: as the timer would have
                self._expire(req)
        self._settle(key, requests, report, None)

    def _dispatch(
        self,
        loop: asyncio.AbstractEventLoop,
        executor: concurrent.futures.ThreadPoolExecutor,
        key: Hashable,
        score_fn: ScoreFn,
        requests: list[_Request],
    ) -> None:
        batch_id = self._next_batch
        self._next_batch += 1
        self._in_flight[batch_id] = requests
        work = executor.submit(score_batch, score_fn, requests)

        def done(work: concurrent.futures.Future[BatchReport]) -> None:
            # RuntimeError: the event loop is closed, nobody waits for this batch any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._finish, batch_id, key, work)

        work.add_done_callback(done)

    def _finish(
        self, batch_id: int, key: Hashable, work: concurrent.futures.Future[BatchReport]
    ) -> None:
        requests = self._in_flight.pop(batch_id, None)
        if requests is None:  # stop(drain=False) already answered these requests
            return
        try:
            report = work.result()
        except BaseException as exc:  # the worker itself failed (or was cancelled)
            self._settle(key, requests, None, exc)
        else:
            self._settle(key, requests, report, None)
        self._pump()

    def _settle(
        self,
        key: Hashable,
        requests: list[_Request],
        report: BatchReport | None,
        failure: BaseException | None,
    ) -> None:
        """Hand each request of a scored batch its answer (or the failure of the batch)."""
        if report is None:
            self._call_s.pop(key, None)  # not known to be fast any more
            for req in requests:
                self._fail(req, failure or BatchError("The batch was not scored."))
            return
        self._record(report)
        self._call_s[key] = report.seconds
        for req, result in zip(requests, report.results, strict=True):
            if isinstance(result, ScoreOutput):
                self._answer(req, result)
            elif isinstance(result, BaseException):
                self._fail(req, result)

    def _record(self, report: BatchReport) -> None:
        self._counts["batches"] += 1
        self._counts["rows"] += report.rows
        self._counts["model_calls"] += report.calls
        self._counts["retries"] += report.retries
        self._recent.append(report.rows)
        if self.on_batch is not None:
            try:
                self.on_batch(report.rows, report.seconds)
            except Exception:  # metrics must never fail a prediction
                logger.exception("on_batch hook failed")

    # --- answering -------------------------------------------------------------------------

    def _fail(self, req: _Request, exc: BaseException) -> None:
        if req.future.done():
            return
        self._counts["errors"] += 1
        lines = str(exc).strip().splitlines()
        detail = f": {lines[0][:300]}" if lines else ""
        error = BatchError(f"The model failed on this request: {type(exc).__name__}{detail}")
        error.__cause__ = exc
        self._answer(req, error)

    def _expire_due(self) -> None:
        """Time out every request whose deadline has passed; wait for the next one."""
        self._deadline_timer = None
        loop, waiting = self._loop, self._by_deadline
        if loop is None:
            return
        now = loop.time()
        while waiting and (waiting[0].answered or waiting[0].deadline <= now):
            req = waiting.popleft()
            if not req.answered:
                self._expire(req)
        if waiting:
            self._deadline_timer = loop.call_at(waiting[0].deadline, self._expire_due)

    def _expire(self, req: _Request) -> None:
        if not req.future.done():
            self._counts["timeouts"] += 1
            self._answer(req, BatchTimeout(self.timeout_ms))

    def _answer(self, req: _Request, answer: ScoreOutput | BaseException | None) -> None:
        """Settle a request once: a result, an exception, or ``None`` (caller gave up)."""
        if req.answered:
            return
        req.answered = True
        waiting = self._by_deadline
        while waiting and waiting[0].answered:  # the oldest are let go as they are answered
            waiting.popleft()
        if not req.future.done():
            if isinstance(answer, ScoreOutput):
                req.future.set_result(answer)
            elif isinstance(answer, BaseException):
                req.future.set_exception(answer)
            else:
                req.future.cancel()
        self._unanswered -= 1
        self._check_settled()

    def _check_settled(self) -> None:
        if self._settled is not None and self._unanswered == 0:
            self._settled.set()

    # --- numbers ---------------------------------------------------------------------------

    @property
    def stats(self) -> dict[str, Any]:
        """Counters since start: requests, batches (of which scored on the event loop:
        ``inline_batches``), rows, model calls, retries, timeouts, errors, the mean rows per
        batch, the most recent batch sizes (for a histogram), and the requests and batches
        in progress now."""
        counts = dict(self._counts)
        batches = counts["batches"]
        return {
            **counts,
            "inline_batches": self._inline_batches,
            "mean_batch_rows": counts["rows"] / batches if batches else 0.0,
            "recent_batch_rows": list(self._recent),
            "pending_requests": self._unanswered,
            "in_flight_batches": len(self._in_flight),
        }


# --- argument checks ---------------------------------------------------------------------


def _check_number(name: str, value: float, *, minimum: float, strict: bool = False) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and (value > minimum if strict else value >= minimum):
        return
    sign = ">" if strict else "≥"
    raise SteadyMLError(f"{name} must be a number {sign} {minimum:g}. Got {value!r} instead.")


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SteadyMLError(f"{name} must be a whole number ≥ 1. Got {value!r} instead.")
