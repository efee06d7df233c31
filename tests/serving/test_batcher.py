"""The micro-batcher scores concurrent requests in few model calls, each caller gets its own rows.

Score functions wrap a real scikit-learn pipeline fitted here. Timing only appears as generous
bounds that catch a hang; what is asserted is who got scored with whom, and what came back.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pandas as pd
import pytest
from factories import customers
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_info

from steadyml.errors import SteadyMLError
from steadyml.serving.batcher import (
    BatchError,
    BatchTimeout,
    MicroBatcher,
    ScoreOutput,
)

T = TypeVar("T")
HANG_GUARD_S = 10.0  # only catches a hang; never a performance claim


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def guarded() -> T:
        return await asyncio.wait_for(coro_fn(), HANG_GUARD_S)

    return asyncio.run(guarded())


@pytest.fixture(scope="module")
def model() -> Pipeline:
    data = customers(400)
    encode = ColumnTransformer(
        [
            ("numeric", StandardScaler(), ["tenure_months", "monthly_charges"]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), ["contract"]),
        ]
    )
    pipeline = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))])
    return pipeline.fit(data.drop(columns="churned"), data["churned"])


def score_with(model: Pipeline) -> Callable[[pd.DataFrame], ScoreOutput]:
    def score(frame: pd.DataFrame) -> ScoreOutput:
        proba = model.predict_proba(frame)
        classes = model.classes_
        return ScoreOutput(
            predictions=classes[proba.argmax(axis=1)].tolist(),
            scores=proba[:, 1].tolist(),
            probabilities=[
                {str(c): float(p) for c, p in zip(classes, row, strict=True)} for row in proba
            ],
        )

    return score


class Recorder:
    """A score function that records every frame it is called with (from the worker)."""

    def __init__(
        self, score: Callable[[pd.DataFrame], ScoreOutput], gate: threading.Event | None = None
    ) -> None:
        self.score = score
        self.gate = gate  # when set, each call waits for it: holds the worker busy
        self.frames: list[pd.DataFrame] = []
        self.started = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, frame: pd.DataFrame) -> ScoreOutput:
        with self._lock:
            self.frames.append(frame.copy())
        self.started.set()
        if self.gate is not None and not self.gate.wait(HANG_GUARD_S):
            raise RuntimeError("test gate never opened")
        return self.score(frame)

    @property
    def calls(self) -> int:
        return len(self.frames)


async def wait_until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


def rows_of(frame: pd.DataFrame) -> list[pd.DataFrame]:
    return [frame.iloc[[i]].reset_index(drop=True) for i in range(len(frame))]


def test_concurrent_single_rows_share_few_calls_and_each_gets_its_own_answer(
    model: Pipeline,
) -> None:
    records = customers(64, seed=11).drop(columns="churned")
    recorder = Recorder(score_with(model))

    async def scenario() -> list[ScoreOutput]:
        batcher = MicroBatcher(max_wait_ms=5)
        await batcher.start()
        outs = await asyncio.gather(
            *(batcher.submit("churn:1", recorder, row) for row in rows_of(records))
        )
        await batcher.stop()
        assert batcher.stats["requests"] == 64
        assert batcher.stats["rows"] == 64
        return list(outs)

    outs = run(scenario)
    assert recorder.calls <= 4, [len(f) for f in recorder.frames]
    direct = score_with(model)(records)
    assert [o.predictions[0] for o in outs] == direct.predictions
    assert [o.scores[0] for o in outs] == pytest.approx(direct.scores)
    assert outs[5].probabilities == [pytest.approx(direct.probabilities[5])]  # type: ignore[index]
    assert all(len(o.predictions) == 1 for o in outs)


def test_multi_row_requests_get_their_own_rows_back_in_order(model: Pipeline) -> None:
    records = customers(30, seed=5).drop(columns="churned")
    chunks = [records.iloc[0:7], records.iloc[7:8], records.iloc[8:20], records.iloc[20:30]]
    recorder = Recorder(score_with(model))

    async def scenario() -> list[ScoreOutput]:
        batcher = MicroBatcher(max_batch_rows=64)
        await batcher.start()
        outs = await asyncio.gather(*(batcher.submit("m", recorder, c) for c in chunks))
        await batcher.stop()
        return list(outs)

    outs = run(scenario)
    assert recorder.calls == 1
    direct = score_with(model)(records)
    assert [p for o in outs for p in o.predictions] == direct.predictions
    assert [len(o.predictions) for o in outs] == [7, 1, 12, 10]
    assert [s for o in outs for s in o.scores] == pytest.approx(direct.scores)


def test_requests_for_different_models_are_never_scored_together(model: Pipeline) -> None:
    records = customers(40, seed=8).drop(columns="churned")
    recorder = Recorder(score_with(model))
    keys = ["churn:1" if i % 3 else "churn:2" for i in range(len(records))]

    async def scenario() -> None:
        batcher = MicroBatcher(max_wait_ms=5)
        await batcher.start()
        frames = [
            row.assign(model_key=key) for row, key in zip(rows_of(records), keys, strict=True)
        ]
        await asyncio.gather(
            *(batcher.submit(key, recorder, f) for f, key in zip(frames, keys, strict=True))
        )
        await batcher.stop()

    run(scenario)
    assert recorder.calls >= 2
    assert all(f["model_key"].nunique() == 1 for f in recorder.frames)
    assert sum(len(f) for f in recorder.frames) == 40


def test_groups_never_exceed_max_batch_rows(model: Pipeline) -> None:
    records = customers(30, seed=2).drop(columns="churned")
    recorder = Recorder(score_with(model))

    async def scenario() -> list[ScoreOutput]:
        batcher = MicroBatcher(max_batch_rows=8)
        await batcher.start()
        outs = await asyncio.gather(*(batcher.submit("m", recorder, r) for r in rows_of(records)))
        await batcher.stop()
        return list(outs)

    outs = run(scenario)
    sizes = [len(f) for f in recorder.frames]
    assert max(sizes) <= 8
    assert sum(sizes) == 30
    assert [o.predictions[0] for o in outs] == score_with(model)(records).predictions


def test_a_request_bigger_than_max_batch_rows_is_scored_alone(model: Pipeline) -> None:
    records = customers(40, seed=4).drop(columns="churned")
    big, singles = records.iloc[:25], rows_of(records.iloc[25:])
    recorder = Recorder(score_with(model))

    async def scenario() -> ScoreOutput:
        batcher = MicroBatcher(max_batch_rows=10)
        await batcher.start()
        outs = await asyncio.gather(
            batcher.submit("m", recorder, singles[0]),
            batcher.submit("m", recorder, big),
            *(batcher.submit("m", recorder, r) for r in singles[1:]),
        )
        await batcher.stop()
        return outs[1]

    big_out = run(scenario)
    sizes = sorted(len(f) for f in recorder.frames)
    assert 25 in sizes
    assert sum(sizes) == 40
    assert max(s for s in sizes if s != 25) <= 10
    assert big_out.predictions == score_with(model)(big).predictions


def test_a_lone_request_is_scored_without_waiting_for_company(model: Pipeline) -> None:
    # max_wait is a minute: only the idle-model rule can answer within the hang guard.
    row = customers(1).drop(columns="churned")

    async def scenario() -> ScoreOutput:
        batcher = MicroBatcher(max_wait_ms=60_000, timeout_ms=60_000)
        await batcher.start()
        out = await batcher.submit("m", score_with(model), row)
        await batcher.stop()
        return out

    assert run(scenario).predictions == score_with(model)(row).predictions


def test_a_slow_model_raises_batch_timeout_and_the_late_result_is_discarded(
    model: Pipeline,
) -> None:
    gate = threading.Event()
    slow = Recorder(score_with(model), gate=gate)
    rows = rows_of(customers(2).drop(columns="churned"))

    async def scenario() -> dict[str, Any]:
        batcher = MicroBatcher(timeout_ms=50)
        await batcher.start()
        with pytest.raises(BatchTimeout, match="did not answer within 50 ms") as caught:
            await batcher.submit("m", slow, rows[0])
        assert caught.value.timeout_ms == 50
        gate.set()  # the model call finishes now; nobody waits for it any more
        await wait_until(lambda: batcher.stats["in_flight_batches"] == 0)
        after = await batcher.submit("m", slow, rows[1])  # the batcher still works
        assert after.predictions == score_with(model)(rows[1]).predictions
        await batcher.stop()
        return batcher.stats

    stats = run(scenario)
    assert stats["timeouts"] == 1
    assert stats["pending_requests"] == 0


def test_one_poisoned_request_fails_alone_and_the_others_are_answered(model: Pipeline) -> None:
    records = customers(12, seed=9).drop(columns="churned")
    rows = rows_of(records)
    poisoned = rows[4].astype({"tenure_months": object})
    poisoned.loc[0, "tenure_months"] = "twelve"
    rows[4] = poisoned
    recorder = Recorder(score_with(model))

    async def scenario() -> list[ScoreOutput | BaseException]:
        batcher = MicroBatcher()
        await batcher.start()
        outs = await asyncio.gather(
            *(batcher.submit("m", recorder, r) for r in rows), return_exceptions=True
        )
        await batcher.stop()
        assert batcher.stats["errors"] == 1
        assert batcher.stats["retries"] == 12
        return list(outs)

    outs = run(scenario)
    error = outs[4]
    assert isinstance(error, BatchError)
    assert isinstance(error.__cause__, ValueError)
    assert "ValueError" in str(error)
    direct = score_with(model)(records.drop(index=4))
    good = [o for i, o in enumerate(outs) if i != 4]
    assert all(isinstance(o, ScoreOutput) for o in good)
    assert [o.predictions[0] for o in good if isinstance(o, ScoreOutput)] == direct.predictions
    assert recorder.calls == 1 + 12  # the batch, then each request alone once


def test_a_failing_lone_request_is_not_retried(model: Pipeline) -> None:
    calls: list[int] = []

    def broken(frame: pd.DataFrame) -> ScoreOutput:
        calls.append(len(frame))
        raise ValueError("model file is corrupt")

    async def scenario() -> None:
        batcher = MicroBatcher()
        await batcher.start()
        with pytest.raises(BatchError, match="model file is corrupt") as caught:
            await batcher.submit("m", broken, customers(1))
        assert isinstance(caught.value.__cause__, ValueError)
        await batcher.stop()

    run(scenario)
    assert calls == [1]


def test_a_score_function_returning_the_wrong_number_of_rows_is_an_error() -> None:
    def short(frame: pd.DataFrame) -> ScoreOutput:
        return ScoreOutput(predictions=[0], scores=[None])

    async def scenario() -> None:
        batcher = MicroBatcher()
        await batcher.start()
        with pytest.raises(BatchError, match="expected one per row"):
            await batcher.submit("m", short, customers(3))
        await batcher.stop()

    run(scenario)


def test_stop_with_drain_answers_every_submitted_request(model: Pipeline) -> None:
    records = customers(41, seed=6).drop(columns="churned")
    gate = threading.Event()
    recorder = Recorder(score_with(model), gate=gate)

    async def scenario() -> list[ScoreOutput]:
        # A one-minute max_wait: only the drain can send the queued groups in time.
        batcher = MicroBatcher(max_wait_ms=60_000, timeout_ms=60_000, max_batch_rows=16)
        await batcher.start()
        rows = rows_of(records)
        first = asyncio.ensure_future(batcher.submit("m", recorder, rows[0]))
        await wait_until(recorder.started.is_set)  # the worker is busy with the first
        rest = [asyncio.ensure_future(batcher.submit("m", recorder, r)) for r in rows[1:]]
        await asyncio.sleep(0)
        assert batcher.stats["pending_requests"] == 41
        stopping = asyncio.ensure_future(batcher.stop(drain=True))
        await asyncio.sleep(0)
        with pytest.raises(BatchError, match="stopping"):
            await batcher.submit("m", recorder, rows[0])
        gate.set()
        await stopping
        assert all(f.done() for f in [first, *rest])
        return [first.result(), *(f.result() for f in rest)]

    outs = run(scenario)
    assert [o.predictions[0] for o in outs] == score_with(model)(records).predictions
    assert sum(len(f) for f in recorder.frames) == 41


def test_stop_without_drain_fails_pending_requests(model: Pipeline) -> None:
    gate = threading.Event()
    recorder = Recorder(score_with(model), gate=gate)
    rows = rows_of(customers(6).drop(columns="churned"))

    async def scenario() -> list[ScoreOutput | BaseException]:
        batcher = MicroBatcher(max_wait_ms=60_000, timeout_ms=60_000)
        await batcher.start()
        futures = [asyncio.ensure_future(batcher.submit("m", recorder, rows[0]))]
        await wait_until(recorder.started.is_set)
        futures += [asyncio.ensure_future(batcher.submit("m", recorder, r)) for r in rows[1:]]
        await asyncio.sleep(0)
        await batcher.stop(drain=False)
        outs = await asyncio.gather(*futures, return_exceptions=True)
        with pytest.raises(BatchError, match="stopping"):
            await batcher.submit("m", recorder, rows[0])
        assert batcher.stats["pending_requests"] == 0
        return list(outs)

    try:
        outs = run(scenario)
    finally:
        gate.set()  # let the abandoned model call finish
    assert len(outs) == 6
    assert all(isinstance(o, BatchError) and "stopping" in str(o) for o in outs)
    assert recorder.calls == 1  # the queued requests were never scored


def test_a_cancelled_caller_leaves_nothing_pending(model: Pipeline) -> None:
    gate = threading.Event()
    recorder = Recorder(score_with(model), gate=gate)
    rows = rows_of(customers(3).drop(columns="churned"))

    async def scenario() -> dict[str, Any]:
        batcher = MicroBatcher(max_wait_ms=60_000, timeout_ms=60_000)
        await batcher.start()
        busy = asyncio.ensure_future(batcher.submit("m", recorder, rows[0]))
        await wait_until(recorder.started.is_set)
        gone = asyncio.ensure_future(batcher.submit("m", recorder, rows[1]))
        await asyncio.sleep(0)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        gate.set()
        await busy
        await batcher.stop()
        return batcher.stats

    stats = run(scenario)
    assert stats["pending_requests"] == 0
    assert stats["requests"] == 2
    assert recorder.calls == 1  # the cancelled request was dropped before scoring


def test_stats_and_on_batch_hook_count_rows_per_model_call(model: Pipeline) -> None:
    seen: list[tuple[int, float]] = []
    records = customers(10, seed=1).drop(columns="churned")

    async def scenario() -> dict[str, Any]:
        batcher = MicroBatcher(on_batch=lambda rows, seconds: seen.append((rows, seconds)))
        await batcher.start()
        await asyncio.gather(*(batcher.submit("m", score_with(model), r) for r in rows_of(records)))
        await batcher.submit("m", score_with(model), records.iloc[:3])
        await batcher.stop()
        return batcher.stats

    stats = run(scenario)
    assert sum(rows for rows, _ in seen) == 13
    assert all(seconds >= 0 for _, seconds in seen)
    assert stats["rows"] == 13
    assert stats["requests"] == 11
    assert stats["batches"] == len(seen) == len(stats["recent_batch_rows"])
    assert stats["recent_batch_rows"][-1] == 3
    assert stats["mean_batch_rows"] == pytest.approx(13 / len(seen))


def test_model_calls_run_with_the_configured_number_of_library_threads(
    model: Pipeline,
) -> None:
    seen: list[dict[str, int]] = []

    def probe(frame: pd.DataFrame) -> ScoreOutput:
        seen.append({i["internal_api"]: i["num_threads"] for i in threadpool_info()})
        return score_with(model)(frame)

    async def scenario() -> None:
        batcher = MicroBatcher(model_threads=1)
        await batcher.start()
        await batcher.submit("m", probe, customers(2).drop(columns="churned"))
        await batcher.stop()

    run(scenario)
    assert seen
    assert seen[0]
    assert set(seen[0].values()) == {1}


def test_submit_before_start_says_what_to_do() -> None:
    async def scenario() -> None:
        with pytest.raises(BatchError, match="not running") as caught:
            await MicroBatcher().submit("m", lambda f: ScoreOutput([], []), customers(1))
        assert caught.value.hint is not None
        assert "start()" in caught.value.hint

    run(scenario)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_wait_ms": -1}, "max_wait_ms must be a number ≥ 0. Got -1"),
        ({"timeout_ms": 0}, "timeout_ms must be a number > 0. Got 0"),
        ({"max_batch_rows": 0}, "max_batch_rows must be a whole number ≥ 1. Got 0"),
        ({"executor_threads": 1.5}, "executor_threads must be a whole number ≥ 1. Got 1.5"),
        ({"model_threads": 0}, "model_threads must be a whole number ≥ 1. Got 0"),
    ],
)
def test_bad_settings_are_refused_with_the_bad_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(SteadyMLError, match=message):
        MicroBatcher(**kwargs)


def test_an_empty_frame_needs_no_model_call() -> None:
    def never(frame: pd.DataFrame) -> ScoreOutput:
        raise AssertionError("must not be called")

    async def scenario() -> ScoreOutput:
        batcher = MicroBatcher()
        await batcher.start()
        out = await batcher.submit("m", never, customers(1).iloc[:0])
        await batcher.stop()
        return out

    assert run(scenario).predictions == []
