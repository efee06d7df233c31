"""The API log in chunks: busy traffic as compressed Arrow tables in the store, quiet traffic as
SQL rows, both read back alike (monitor, lists, counts, feedback keys, retention), on a real
SQLite file and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from steadyml.entities import new_request_id, request_id_time
from steadyml.errors import StateError
from steadyml.predlog import (
    LogLayout,
    LogPiece,
    PredictionLogWriter,
    compact_log,
    delete_batch_logs_before,
    read_log,
    store_chunk,
)
from steadyml.store import Store, open_store
from steadyml.store.predfiles import KeyFilter, read_table

COLUMNS = ["customer_id", "email", "plan", "tenure", "charges", "signed"]
TYPES = {"customer_id": "string", "email": "string", "plan": "string", "tenure": "integer",
         "charges": "number", "signed": "datetime"}  # fmt: skip
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, project="p")
    yield opened
    opened.close()


def _layout(pii_mode: str = "remove") -> LogLayout:
    return LogLayout(COLUMNS, types=TYPES, pii=["email"], pii_mode=pii_mode, pii_key="k",
                     id_column="customer_id")  # fmt: skip


def _piece(start: int, n: int, at: dt.datetime, *, route: str = "live", version: int = 1,
           fallback: bool = False) -> LogPiece:  # fmt: skip
    values = [
        [f"C{i:05d}", f"person{i}@example.com", ["basic", "premium"][i % 2], i % 70,
         None if i % 10 == 0 else 20.0 + i % 50, dt.datetime(2024, 1, 1) + dt.timedelta(days=i)]
        for i in range(start, start + n)
    ]  # fmt: skip
    ms = int(at.timestamp() * 1000)
    ids = [new_request_id(ms) for _ in range(n)]
    preds = ["yes" if i % 3 == 0 else "no" for i in range(start, start + n)]
    scores = [round((i % 100) / 100, 2) for i in range(start, start + n)]
    reasons = ["model timed out"] * n if fallback else None
    return LogPiece(values, ids, preds, scores, version, route, 4.5, at.timestamp(),
                    fallback=fallback, reasons=reasons)  # fmt: skip


def _writer(store: Store, *, min_rows: int = 100) -> PredictionLogWriter:
    errors: list[BaseException] = []
    writer = PredictionLogWriter(
        store.add_predictions, write_chunk=lambda c: store_chunk(store, c), layout=_layout(),
        flush_ms=20, chunk_after_ms=10_000, chunk_min_rows=min_rows, on_error=errors.append,
    )  # fmt: skip
    writer.errors = errors  # type: ignore[attr-defined]
    return writer


def test_busy_traffic_becomes_chunks_quiet_traffic_rows_and_both_read_back(
    store: Store,
) -> None:
    writer = _writer(store, min_rows=100)
    writer.start()
    busy = [_piece(i * 50, 50, T0 + dt.timedelta(seconds=i)) for i in range(6)]  # 300 rows
    for piece in busy:
        writer.log_piece(piece)
    writer.close()  # everything gathered goes out as one flush: 300 >= 100 rows -> a chunk
    quiet = _writer(store, min_rows=100)
    quiet.start()
    quiet.log_piece(_piece(1000, 5, T0 + dt.timedelta(minutes=5)))
    quiet.close()  # 5 < 100 rows -> the SQL log
    assert not writer.errors and not quiet.errors  # type: ignore[attr-defined]
    assert writer.chunks == 1 and writer.written == 300 and quiet.chunks == 0
    chunks = store.list_prediction_files(inline=True)
    assert [(c.rows, c.route, c.model_version) for c in chunks] == [(300, "live", 1)]
    assert chunks[0].at == T0 and chunks[0].at_last == T0 + dt.timedelta(seconds=5)
    assert store.count_predictions(route="live") == 305
    assert store.count_predictions(answered=True) == 305

    frames = list(read_log(store))
    log = pa.concat_tables([pa.Table.from_pandas(f, preserve_index=False) for f in frames[-1:]])
    assert log.num_rows == 300  # the chunk comes after the SQL rows
    assert sum(len(f) for f in frames) == 305
    chunk = frames[-1]
    assert "email" not in chunk.columns  # personal data removed
    assert chunk["tenure"].dtype.kind == "i" and chunk["charges"].isna().sum() == 30
    assert chunk["row_key"].iloc[0] == "C00000" and chunk["prediction"].iloc[0] == "yes"
    assert str(chunk["at"].dt.tz) == "UTC" and chunk["at"].min() == T0

    wanted = [busy[2].request_ids[7], busy[5].request_ids[49]]
    found = store.list_predictions(request_ids=wanted)
    assert sorted(p.request_id for p in found) == sorted(wanted)
    one = next(p for p in found if p.request_id == busy[2].request_ids[7])
    assert one.inputs["customer_id"] == "C00107" and "email" not in one.inputs
    assert one.row_key == "C00107" and one.route == "live" and one.latency_ms == 4.5
    assert len(store.list_predictions(limit=10_000)) == 305

    # feedback: chunk request ids and row keys are known, a new id and a stranger are not
    never = new_request_id(int(T0.timestamp() * 1000) + 1000)
    stored, unknown = store.add_feedback([(wanted[0], "yes"), ("C00299", "no"), (never, "no"),
                                          ("C99999", "no")])  # fmt: skip
    assert stored == 4 and sorted(unknown) == sorted([never, "C99999"])


def test_a_chunk_is_split_by_route_and_version_and_keeps_fallbacks(store: Store) -> None:
    writer = _writer(store, min_rows=10)
    writer.start()
    writer.log_piece(_piece(0, 40, T0))
    writer.log_piece(_piece(40, 10, T0, route="canary", version=2))
    writer.log_piece(_piece(50, 20, T0, route="shadow", version=2, fallback=True))
    writer.close()
    assert writer.chunks == 3
    assert store.count_predictions(route="live") == 40
    assert store.count_predictions(route="canary") == 10
    assert store.count_predictions(route="shadow") == 20
    assert store.count_predictions(answered=False) == 0  # a fallback's answer is an answer
    v2 = pd.concat(list(read_log(store, model_version=2)), ignore_index=True)
    assert len(v2) == 30 and sorted(set(v2["route"])) == ["canary", "shadow"]
    shadow = v2[v2["route"] == "shadow"]
    assert len(shadow) == 20 and not v2.loc[v2["route"] == "canary", "fallback"].any()
    assert shadow["fallback"].all() and (shadow["error"] == "model timed out").all()


def test_the_period_cuts_through_a_chunk_and_retention_keeps_a_straddling_one(
    store: Store,
) -> None:
    writer = _writer(store, min_rows=10)
    writer.start()
    for minute in range(4):  # rows at 09:00, 09:01, 09:02, 09:03, one chunk
        writer.log_piece(_piece(minute * 10, 10, T0 + dt.timedelta(minutes=minute)))
    writer.close()
    middle = list(read_log(store, since=T0 + dt.timedelta(minutes=1),
                           until=T0 + dt.timedelta(minutes=3)))  # fmt: skip
    assert sum(len(f) for f in middle) == 20
    assert all(f["at"].min() >= T0 + dt.timedelta(minutes=1) for f in middle if len(f))
    assert list(read_log(store, since=T0 + dt.timedelta(minutes=10))) == []

    from steadyml.artifacts import ArtifactStore

    artifacts = ArtifactStore("memory://steadyml-chunks-test")
    # the chunk's last row is at 09:03: a cutoff at 09:02 keeps it, one at 09:04 removes it
    assert delete_batch_logs_before(store, artifacts, T0 + dt.timedelta(minutes=2)) == 0
    assert store.count_predictions() == 40
    assert delete_batch_logs_before(store, artifacts, T0 + dt.timedelta(minutes=4)) == 40
    assert store.count_predictions() == 0


def test_hashed_personal_data_never_appears_raw_in_a_chunk(store: Store) -> None:
    layout = _layout(pii_mode="hash")
    piece = _piece(0, 30, T0)
    for chunk in layout.chunks([layout.table([piece])]):
        store_chunk(store, chunk)
    (file,) = store.list_prediction_files(inline=True)
    data = store.prediction_chunk_data(file.id)
    table = read_table(data)
    dump = json.dumps(table.to_pylist(), default=str)
    assert "person7@example.com" not in dump and b"person7@example.com" not in data
    emails = table["email"].to_pylist()
    assert all(e.startswith("hmac:") for e in emails) and len(set(emails)) == 30


def test_request_ids_carry_their_time_and_other_keys_do_not() -> None:
    before = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=2)
    rid = new_request_id()
    at = request_id_time(rid)
    assert len(rid) == 32 and at is not None
    assert before <= at <= dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=2)
    assert (
        sorted([new_request_id(5_000_000_000_000), new_request_id(1_800_000_000_000)])[0][:12]
        == f"{1_800_000_000_000:012x}"
    )
    for other in ["C00012", "batch-1a2b:17", "0" * 32, "z" * 32, "f" * 32]:
        assert request_id_time(other) is None


def test_key_filters_of_both_formats_are_read() -> None:
    keys = [f"k{i}" for i in range(2000)]
    for split in (True, False):
        bloom = KeyFilter(len(keys), split=split)
        bloom.add(keys)
        back = KeyFilter.from_bytes(bloom.to_bytes())
        assert back is not None and back.split is split
        assert all(back.contains(keys))
        strangers = back.contains([f"x{i}" for i in range(20_000)])
        assert sum(strangers) < 20_000 * 0.005  # about 0.1% false positives


def test_the_writer_lays_out_pieces_as_they_arrive_and_keeps_nothing_after_close(
    store: Store,
) -> None:
    writer = _writer(store, min_rows=1)
    writer.start()
    for i in range(5):
        writer.log_piece(_piece(i * 3, 3, T0 + dt.timedelta(seconds=i)))
        time.sleep(0.06)  # the writer wakes between pieces and lays each out
    assert writer.pending() == 15  # gathered, not written: a chunk waits for chunk_after_ms
    writer.close()
    assert writer.pending() == 0 and writer.chunks == 1 and writer.written == 15
    assert store.count_predictions() == 15


def test_many_small_chunks_are_read_back_as_few_large_frames(store: Store) -> None:
    layout = _layout()
    for second in range(30):  # a busy half minute: one chunk a second
        piece = _piece(second * 10, 10, T0 + dt.timedelta(seconds=second))
        for chunk in layout.chunks([layout.table([piece])]):
            store_chunk(store, chunk)
    assert len(store.list_prediction_files(inline=True)) == 30
    frames = list(read_log(store, chunk_rows=100))
    assert [len(f) for f in frames] == [100, 100, 100]
    assert list(pd.concat(frames)["row_key"]) == [f"C{i:05d}" for i in range(300)]
    part = list(read_log(store, since=T0 + dt.timedelta(seconds=5),
                         until=T0 + dt.timedelta(seconds=8), chunk_rows=100))  # fmt: skip
    assert sum(len(f) for f in part) == 30


def test_compaction_merges_old_chunks_and_the_log_reads_the_same(store: Store) -> None:
    layout = _layout()
    pieces = []
    for second in range(40):  # 40 one-second chunks: 30 live v1, 10 canary v2
        route, version = ("canary", 2) if second % 4 == 3 else ("live", 1)
        piece = _piece(second * 10, 10, T0 + dt.timedelta(seconds=second), route=route,
                       version=version)  # fmt: skip
        pieces.append(piece)
        for chunk in layout.chunks([layout.table([piece])]):
            store_chunk(store, chunk)
    fresh = _piece(900, 10, T0 + dt.timedelta(hours=2))  # too recent to merge
    for chunk in layout.chunks([layout.table([fresh])]):
        store_chunk(store, chunk)
    before = pd.concat(list(read_log(store)), ignore_index=True)
    counts = (store.count_predictions(route="live"), store.count_predictions(route="canary"))

    done = compact_log(store, older_than=T0 + dt.timedelta(hours=1), target_rows=120)
    # live: 30 chunks of 10 rows -> 3 of 100 (120 would be 12 chunks: 10+...+10 > 120 cuts
    # at 12); canary: 10 chunks -> 1; the fresh one stays
    chunks = store.list_prediction_files(inline=True)
    assert done.merged == 40 and done.rows == 400
    assert sorted(c.rows for c in chunks) == sorted([120, 120, 60, 100, 10])
    assert (store.count_predictions(route="live"),
            store.count_predictions(route="canary")) == counts  # fmt: skip
    after = pd.concat(list(read_log(store)), ignore_index=True)
    key = ["request_id"]
    pd.testing.assert_frame_equal(
        before.sort_values(key).reset_index(drop=True),
        after.sort_values(key).reset_index(drop=True)[before.columns],
    )
    # labels still find their predictions, through the merged chunks' key filters
    wanted = [pieces[5].request_ids[3], pieces[7].request_ids[0]]
    _, unknown = store.add_feedback([(k, "yes") for k in wanted])
    assert unknown == []
    assert sorted(p.request_id for p in store.list_predictions(request_ids=wanted)) == sorted(
        wanted
    )
    again = compact_log(store, older_than=T0 + dt.timedelta(hours=1), target_rows=120)
    assert again.merged == 0  # nothing left to merge: the big chunks are left alone


def test_a_swap_whose_chunks_are_gone_changes_nothing(store: Store) -> None:
    layout = _layout()
    for second in range(3):
        piece = _piece(second * 10, 10, T0 + dt.timedelta(seconds=second))
        for chunk in layout.chunks([layout.table([piece])]):
            store_chunk(store, chunk)
    ids = [c.id for c in store.list_prediction_files(inline=True)]
    with pytest.raises(StateError, match="gone"):
        store.replace_prediction_chunks([*ids, 999_999], [])
    with pytest.raises(StateError, match="rows"):
        store.replace_prediction_chunks(ids, [])
    assert [c.id for c in store.list_prediction_files(inline=True)] == ids
    assert store.count_predictions() == 30


def test_a_log_that_cannot_be_written_counts_and_reports_what_it_lost(tmp_path: Path) -> None:
    from sqlalchemy import text

    store = open_store(str(tmp_path / "store.db"), project="p")
    try:
        with store.engine.begin() as conn:  # a real failure: the table is gone
            conn.execute(text("DROP TABLE prediction_files"))
        errors: list[BaseException] = []
        writer = PredictionLogWriter(
            store.add_predictions, write_chunk=lambda c: store_chunk(store, c),
            layout=_layout(), flush_ms=20, chunk_after_ms=10_000, chunk_min_rows=10,
            on_error=errors.append,
        )  # fmt: skip
        writer.start()
        writer.log_piece(_piece(0, 30, T0))  # a chunk: cannot be written
        writer.log_piece(_piece(30, 5, T0, route="canary", version=2))  # in the same chunk set
        writer.close()
        assert writer.failed == 35 and writer.written == 0 and writer.pending() == 0
        assert errors and "prediction_files" in str(errors[-1])
        quiet = PredictionLogWriter(
            store.add_predictions, write_chunk=lambda c: store_chunk(store, c),
            layout=_layout(), flush_ms=20, chunk_after_ms=10_000, chunk_min_rows=10,
        )  # fmt: skip
        quiet.start()
        quiet.log_piece(_piece(100, 3, T0))  # too few for a chunk: the SQL log still works
        quiet.close()
        assert quiet.written == 3 and quiet.failed == 0
    finally:
        store.close()
