"""The prediction log writer: batches, drains on close, counts what it could not write."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence

import pytest

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


# --- a value the store cannot take, and a store that cannot be reached ----------------------


def _bad_record(i: int, bad: str) -> PredictionRecord:
    return PredictionRecord(request_id=f"r{i}", at=dt.datetime.now(dt.UTC), model_version=1,
                            route="live", inputs={"x": i, "note": f"a{bad}b"}, prediction=0,
                            score=0.1, latency_ms=1.0, row_key=f"C{bad}{i}")  # fmt: skip


@pytest.mark.parametrize("bad", ["\udc80", "\x00"])
def test_one_bad_value_loses_no_other_row(store_url: str, bad: str) -> None:
    """30 good rows and one the store refuses (a lone surrogate SQLite cannot encode, a NUL
    PostgreSQL text cannot hold) in one batch: all 31 are logged, the bad one escaped."""
    from steadyml.store import open_store

    store = open_store(store_url, project="p")
    try:
        writer = PredictionLogWriter(store.add_predictions, flush_ms=10_000)
        writer.start()
        records = [_record(i) for i in range(15)] + [_bad_record(15, bad)]
        records += [_record(i) for i in range(16, 31)]
        writer.log(records)
        writer.close()
        logged = {p.request_id: p for p in store.list_predictions(limit=100)}
        assert sorted(logged) == sorted(f"r{i}" for i in range(31))
        assert writer.failed == 0 and writer.written == 31
        if store.dialect == "postgresql" or bad != "\x00":  # SQLite holds a NUL as it is
            assert writer.escaped == 1
            assert logged["r15"].row_key == "C" + bad.encode("unicode_escape").decode() + "15"
    finally:
        store.close()


def test_a_poisoned_request_among_busy_traffic_loses_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Pieces laid out as chunks: the text Arrow cannot encode is kept in the chunk, written
    as an escape (predlog.chunks._array), and no piece is lost."""
    from steadyml.predlog import LogLayout, LogPiece, store_chunk
    from steadyml.store import open_store

    store = open_store(str(tmp_path / "store.db"), project="p")
    try:
        layout = LogLayout(["id", "x"], types={"id": "string", "x": "number"}, id_column="id")
        writer = PredictionLogWriter(store.add_predictions, layout=layout, flush_ms=10_000,
                                     write_chunk=lambda c: store_chunk(store, c),
                                     chunk_min_rows=5)  # fmt: skip
        writer.start()
        now = time.time()
        for i in range(31):
            key = f"C\udc80{i}" if i == 7 else f"C{i}"
            writer.log_piece(LogPiece([[key, float(i)]], [f"q{i}"], [1], [0.5], 1, "live",
                                      1.0, now))  # fmt: skip
        writer.close()
        logged = store.list_predictions(limit=100)
        assert sorted(p.request_id for p in logged) == sorted(f"q{i}" for i in range(31))
        assert writer.failed == 0 and writer.chunks >= 1
        poisoned = next(p for p in logged if p.request_id == "q7")
        assert poisoned.inputs["id"] == "C\\udc807"
    finally:
        store.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["rows", "chunk"])
def test_a_write_whose_answer_was_lost_is_not_written_twice(tmp_path, chunked: bool) -> None:  # type: ignore[no-untyped-def]
    """The store took the write, then the connection failed before it said so (a real
    SQLite error raised after the write): the writer holds it, asks the store what it holds
    when it tries again, and writes nothing twice."""
    import sqlite3

    from steadyml.predlog import LogLayout, LogPiece, store_chunk
    from steadyml.predlog.writer import unwritten_in
    from steadyml.store import open_store

    store = open_store(str(tmp_path / "store.db"), project="p")
    lost = [True]

    def answer_lost() -> None:
        if lost:
            lost.clear()
            raise sqlite3.OperationalError("disk I/O error")

    def write(batch: Sequence[PredictionRecord]) -> None:
        store.add_predictions(batch)
        answer_lost()

    def write_chunk(chunk) -> None:  # type: ignore[no-untyped-def]
        store_chunk(store, chunk)
        answer_lost()

    try:
        writer = PredictionLogWriter(
            write, write_chunk=write_chunk, layout=LogLayout(["x"], types={"x": "number"}),
            flush_ms=20, chunk_min_rows=1 if chunked else 1000, retry_s=0.05,
            unwritten=unwritten_in(store),
        )  # fmt: skip
        writer.start()
        ids = [f"q{i}" for i in range(10)]
        writer.log_piece(LogPiece([[float(i)] for i in range(10)], ids, [1] * 10, [0.5] * 10,
                                  1, "live", 1.0, time.time()))  # fmt: skip
        writer.close()
        assert not lost  # the answer was lost once
        logged = [p.request_id for p in store.list_predictions(limit=100)]
        assert sorted(logged) == sorted(ids)
        assert writer.written == 10 and writer.failed == 0 and writer.pending() == 0
        assert len(store.list_prediction_files(inline=True)) == (1 if chunked else 0)
    finally:
        store.close()
