"""A fast model's small groups are scored on the event loop, with the answers of a worker call.

``MicroBatcher(inline_ms=...)`` scores a ready group of a model whose last call was fast right
on the loop (no thread hand-off). What is asserted is where each call ran, who was scored with
whom, and that the answers, failures, timeouts and log rows are those of the worker path; no
timing is asserted (the sleeps only make a call certainly slower than a generous limit).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pandas as pd
import pytest
from factories import churn_records, customers
from inprocess import QUICK, AppMaker

import steadyml
from steadyml.errors import SteadyMLError
from steadyml.serving.batcher import BatchError, BatchTimeout, MicroBatcher, ScoreOutput
from steadyml.serving.rows import RecordRows

T = TypeVar("T")
HANG_GUARD_S = 10.0  # only catches a hang; never a performance claim
ALWAYS = 60_000.0  # an inline_ms no call reaches: every small group after the first is inline


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(coro_fn(), HANG_GUARD_S)

    return asyncio.run(guarded())


def score(frame: pd.DataFrame) -> ScoreOutput:
    """A deterministic stand-in for a compiled model: a number per row from its features."""
    values = frame["tenure_months"].astype(float) * 0.01 + frame["monthly_charges"] * 1e-3
    scores = [float(v) for v in values]
    return ScoreOutput(
        predictions=[int(s > 0.5) for s in scores],
        scores=list[float | None](scores),
        probabilities=[{"0": 1 - s, "1": s} for s in scores],
    )


class Where:
    """A score function that notes the thread of every call and the rows it was given; the
    ``n``-th call (from 1) may sleep or raise."""

    def __init__(self, *, sleep_on: int = 0, sleep_s: float = 0.0, fail_on: int = 0) -> None:
        self.threads: list[str] = []
        self.rows: list[int] = []
        self.sleep_on, self.sleep_s, self.fail_on = sleep_on, sleep_s, fail_on

    def __call__(self, frame: pd.DataFrame) -> ScoreOutput:
        self.threads.append(threading.current_thread().name)
        self.rows.append(len(frame))
        call = len(self.threads)
        if call == self.sleep_on:
            time.sleep(self.sleep_s)
        if call == self.fail_on:
            raise ValueError("bad row")
        return score(frame)

    def inline(self) -> list[bool]:
        """Per call: True when it ran on the event loop's thread."""
        return [not name.startswith("steadyml-score") for name in self.threads]


def lone_rows(n: int) -> list[RecordRows]:
    frame = customers(n, seed=5).drop(columns="churned")
    columns = list(frame.columns)
    return [RecordRows(columns, [list(row)]) for row in frame.itertuples(index=False)]


async def one_by_one(batcher: MicroBatcher, fn: Where, frames: list[RecordRows]) -> list[Any]:
    out: list[Any] = []
    for frame in frames:
        try:
            out.append(await batcher.submit("m", fn, frame))
        except BatchError as exc:
            out.append(exc)
    return out


async def inline_and_worker(
    inline_fn: Where, worker_fn: Where, frames: list[RecordRows]
) -> tuple[list[Any], list[Any], dict[str, Any], dict[str, Any]]:
    """The frames one by one through a batcher that scores inline and one that never does:
    both outcomes and both batchers' stats."""
    inline = MicroBatcher(inline_ms=ALWAYS)
    worker = MicroBatcher()  # inline_ms=0: never
    await inline.start()
    await worker.start()
    got = await one_by_one(inline, inline_fn, frames)
    want = await one_by_one(worker, worker_fn, frames)
    await inline.stop()
    await worker.stop()
    return got, want, inline.stats, worker.stats


def test_after_its_first_call_a_fast_model_is_scored_on_the_loop_with_the_same_answers() -> None:
    frames = lone_rows(6)
    where, plain = Where(), Where()

    got, want, stats, worker_stats = run(lambda: inline_and_worker(where, plain, frames))
    assert got == want
    assert where.inline() == [False, True, True, True, True, True]  # the first call measures
    assert plain.inline() == [False] * 6
    assert (stats["batches"], stats["inline_batches"], stats["model_calls"]) == (6, 5, 6)
    assert worker_stats["inline_batches"] == 0


def test_requests_of_one_loop_turn_still_share_one_inline_call() -> None:
    frames = lone_rows(11)
    where = Where()

    async def scenario() -> list[ScoreOutput]:
        batcher = MicroBatcher(inline_ms=ALWAYS)
        await batcher.start()
        await batcher.submit("m", where, frames[0])  # the first call, in a worker
        out = await asyncio.gather(*(batcher.submit("m", where, f) for f in frames[1:]))
        await batcher.stop()
        return list(out)

    out = run(scenario)
    assert where.rows == [1, 10]
    assert where.inline() == [False, True]
    assert out == [score(f.frame()) for f in frames[1:]]


def test_a_group_larger_than_inline_rows_goes_to_a_worker() -> None:
    frames = lone_rows(4)
    big = RecordRows(frames[0].columns, [f.values[0] for f in frames[1:]])
    where = Where()

    async def scenario() -> ScoreOutput:
        batcher = MicroBatcher(inline_ms=ALWAYS, inline_rows=2)
        await batcher.start()
        await batcher.submit("m", where, frames[0])
        out = await batcher.submit("m", where, big)
        await batcher.stop()
        return out

    assert run(scenario) == score(big.frame())
    assert where.rows == [1, 3]
    assert where.inline() == [False, False]


def test_after_a_slow_inline_call_the_model_goes_back_to_a_worker() -> None:
    where = Where(sleep_on=2, sleep_s=0.1)  # the second call takes longer than inline_ms

    async def scenario() -> list[Any]:
        batcher = MicroBatcher(inline_ms=20, timeout_ms=60_000)
        await batcher.start()
        out = await one_by_one(batcher, where, lone_rows(4))
        await batcher.stop()
        return out

    run(scenario)
    assert where.inline() == [False, True, False, True]


def test_an_inline_answer_later_than_the_timeout_is_a_timeout_as_from_a_worker() -> None:
    frames = lone_rows(3)
    where = Where(sleep_on=2, sleep_s=0.2)

    async def scenario() -> tuple[list[Any], dict[str, Any]]:
        batcher = MicroBatcher(inline_ms=ALWAYS, timeout_ms=50)
        await batcher.start()
        out = await one_by_one(batcher, where, frames)
        await batcher.stop()
        return out, batcher.stats

    out, stats = run(scenario)
    assert where.inline() == [False, True, True]
    assert isinstance(out[1], BatchTimeout)
    assert out[0] == score(frames[0].frame()) and out[2] == score(frames[2].frame())
    assert stats["timeouts"] == 1 and stats["pending_requests"] == 0


def test_a_failing_inline_call_fails_the_request_as_a_worker_call_does() -> None:
    frames = lone_rows(3)
    where, plain = Where(fail_on=2), Where(fail_on=2)

    got, want, _, _ = run(lambda: inline_and_worker(where, plain, frames))
    assert where.inline() == [False, True, True]
    assert isinstance(got[1], BatchError) and not isinstance(got[1], BatchTimeout)
    assert str(got[1]) == str(want[1])
    assert isinstance(got[1].__cause__, ValueError)
    assert got[0] == want[0] and got[2] == want[2]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inline_ms": -1}, "inline_ms must be a number ≥ 0. Got -1"),
        ({"inline_rows": 0}, "inline_rows must be a whole number ≥ 1. Got 0"),
    ],
)
def test_inline_arguments_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SteadyMLError, match=message):
        MicroBatcher(**kwargs)


# --- the whole service ----------------------------------------------------------------------


def _logged(root: Any, ids: list[str]) -> dict[str, tuple[Any, ...]]:
    deadline = time.monotonic() + 15
    with steadyml.open(root, env={}) as project:
        while True:
            rows = project.store.list_predictions(limit=1000, request_ids=ids)
            if len(rows) >= len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    return {
        r.request_id: (
            r.inputs,
            r.prediction,
            r.score,
            r.route,
            r.model_version,
            r.fallback,
            r.error,
        )
        for r in rows
    }


def test_lone_requests_answered_inline_match_a_batched_request_answer_and_log_row(
    make_server: AppMaker,
) -> None:
    inline = make_server(settings=dataclasses.replace(QUICK, inline_ms=ALWAYS))
    worker = make_server(settings=dataclasses.replace(QUICK, inline_ms=0.0))
    records = churn_records(inline.root, 6, start=20)
    lone = []
    for record in records:
        res = inline.post("/v1/predict", json={"records": [record]},
                          headers={"X-API-Key": inline.keys["predict"]})  # fmt: skip
        assert res.status_code == 200, res.text
        lone.extend(res.json()["results"])
    res = worker.post("/v1/predict", json={"records": records},
                      headers={"X-API-Key": worker.keys["predict"]})  # fmt: skip
    assert res.status_code == 200, res.text
    batched = res.json()["results"]

    assert inline.app.state.service.batcher.stats["inline_batches"] >= len(records) - 1
    assert worker.app.state.service.batcher.stats["inline_batches"] == 0
    fields = ("prediction", "probabilities", "model_version", "route", "fallback")
    for a, b in zip(lone, batched, strict=True):
        assert {k: a[k] for k in fields} == {k: b[k] for k in fields}
        assert a["score"] == pytest.approx(b["score"], abs=1e-9)
    got = _logged(inline.root, [r["request_id"] for r in lone])
    want = _logged(worker.root, [r["request_id"] for r in batched])
    assert len(got) == len(want) == len(records)
    for a, b in zip(lone, batched, strict=True):
        ga, wa = got[a["request_id"]], want[b["request_id"]]
        assert ga[0] == wa[0] and ga[1] == wa[1] and ga[3:] == wa[3:]
        assert ga[2] == pytest.approx(wa[2], abs=1e-9)


def test_record_rows_make_the_frame_pandas_makes_of_the_same_rows() -> None:
    columns = ["n", "x", "s", "flag", "at"]
    values: list[list[Any]] = [
        [1, 2.5, "a", True, pd.Timestamp("2024-01-31").to_pydatetime()],
        [None, None, None, None, None],
        [3, float("nan"), "", False, pd.Timestamp("2024-02-01T09:30").to_pydatetime()],
    ]
    got = RecordRows(columns, values).frame()
    want = pd.DataFrame(values, columns=columns, dtype=object)
    pd.testing.assert_frame_equal(got, want, check_column_type=False)
    assert list(got.columns) == columns
    for column in columns:
        assert [type(v) for v in got[column]] == [type(v) for v in want[column]]
    assert RecordRows(columns, []).frame().shape == (0, 5)


def test_an_inline_call_runs_with_the_workers_library_thread_limit() -> None:
    from threadpoolctl import threadpool_info

    seen: list[tuple[bool, set[int]]] = []

    def probe(frame: pd.DataFrame) -> ScoreOutput:
        inline = not threading.current_thread().name.startswith("steadyml-score")
        seen.append((inline, {i["num_threads"] for i in threadpool_info()}))
        return score(frame)

    async def scenario() -> None:
        batcher = MicroBatcher(inline_ms=ALWAYS, model_threads=1)
        await batcher.start()
        for frame in lone_rows(2):
            await batcher.submit("m", probe, frame)
        await batcher.stop()

    loop_thread = threading.Thread(target=lambda: run(scenario))  # fresh: no limit of its own
    loop_thread.start()
    loop_thread.join(HANG_GUARD_S)
    assert [inline for inline, _ in seen] == [False, True]
    assert all(threads == {1} for _, threads in seen)


class ByRows(Where):
    """A score function that also scores rows as they are (as a serving form's model does)."""

    def __init__(self, *, fail_rows: int = -1) -> None:
        super().__init__()
        self.given: list[str] = []
        self.fail_rows = fail_rows  # score_rows raises when a call holds this many rows

    def __call__(self, frame: pd.DataFrame) -> ScoreOutput:
        self.given.append(f"frame:{len(frame)}")
        return super().__call__(frame)

    def score_rows(self, rows: RecordRows) -> ScoreOutput:
        self.given.append(f"rows:{len(rows)}")
        if len(rows) == self.fail_rows:
            raise ValueError("bad row")
        return super().__call__(pd.DataFrame(rows.columns_of_values()))


def test_a_model_that_reads_rows_gets_the_batch_rows_and_no_frame() -> None:
    frames = lone_rows(5)
    fn = ByRows(fail_rows=4)

    async def scenario() -> tuple[list[Any], list[Any]]:
        batcher = MicroBatcher(inline_ms=ALWAYS)
        await batcher.start()
        await batcher.submit("m", fn, frames[0])
        joined = await asyncio.gather(*(batcher.submit("m", fn, f) for f in frames[1:]))
        as_frame = await batcher.submit("m", fn, frames[0].frame())  # a DataFrame: called
        await batcher.stop()
        return [*joined, as_frame], [score(f.frame()) for f in [*frames[1:], frames[0]]]

    got, want = run(scenario)
    assert got == want
    # the 4-row call failed, so each request was scored alone, still from its rows
    assert fn.given == ["rows:1", "rows:4", *["rows:1"] * 4, "frame:1"]
