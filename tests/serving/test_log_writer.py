"""The prediction log writer: batches, drains on close, counts what it could not write."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence

from steadyml.entities import PredictionRecord
from steadyml.predlog import PredictionLogWriter


def _record(i: int) -> PredictionRecord:
    return PredictionRecord(request_id=f"r{i}", at=dt.datetime.now(dt.UTC), model_version=1,
                            route="live", inputs={"x": i}, prediction=0, score=0.1,
                            latency_ms=1.0)  # fmt: skip


def test_everything_queued_is_written_once_and_close_drains() -> None:
    written: list[str] = []
    calls: list[int] = []
    lock = threading.Lock()

    def write(batch: Sequence[PredictionRecord]) -> None:
        with lock:
            calls.append(len(batch))
            written.extend(r.request_id for r in batch)

    writer = PredictionLogWriter(write, flush_ms=10_000, max_batch=50)
    writer.start()
    for i in range(0, 120, 3):
        writer.log_later(lambda i=i: [_record(i), _record(i + 1), _record(i + 2)], rows=3)
    writer.log([_record(500)])
    assert writer.pending() > 0
    writer.close()
    assert sorted(written) == sorted([f"r{i}" for i in range(120)] + ["r500"])
    assert max(calls) <= 50 + 2  # batches are bounded by max_batch (plus one build's rows)
    assert writer.pending() == 0 and writer.written == 121


def test_a_full_queue_wakes_the_writer_before_the_timer() -> None:
    done = threading.Event()
    writer = PredictionLogWriter(lambda batch: done.set(), flush_ms=60_000, max_batch=10)
    writer.start()
    started = time.monotonic()
    writer.log([_record(i) for i in range(10)])
    assert done.wait(5)
    assert time.monotonic() - started < 5
    writer.close()


def test_a_record_that_cannot_be_built_is_counted_not_fatal() -> None:
    errors: list[BaseException] = []
    written: list[PredictionRecord] = []
    writer = PredictionLogWriter(written.extend, flush_ms=10, on_error=errors.append)
    writer.start()

    def broken() -> list[PredictionRecord]:
        raise ValueError("no")

    writer.log_later(broken, rows=2)
    writer.log_later(lambda: [_record(1)])
    writer.close()
    assert writer.failed == 1 and len(errors) == 1
    assert [r.request_id for r in written] == ["r1"]
    assert writer.pending() == 0
