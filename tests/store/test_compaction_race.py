"""Compaction run by two processes at once (two workers, or a worker and a manual run, on one
PostgreSQL store): every row stays in the log exactly once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from steadyml.entities import new_request_id
from steadyml.predlog import LogLayout, LogPiece, compact_log, store_chunk
from steadyml.store import open_store

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _chunks(store, start: int, n: int) -> None:  # type: ignore[no-untyped-def]
    layout = LogLayout(["x"], types={"x": "number"})
    for k in range(n):
        at = T0 + dt.timedelta(seconds=start + k)
        ids = [new_request_id(int(at.timestamp() * 1000)) for _ in range(5)]
        piece = LogPiece([[float(i)] for i in range(5)], ids, [1] * 5, [0.5] * 5, 1, "live",
                         1.0, at.timestamp())  # fmt: skip
        for chunk in layout.chunks([layout.table([piece])]):
            store_chunk(store, chunk)


@pytest.mark.slow  # rounds of concurrent compactions
def test_two_compactions_at_once_keep_every_row_once(store_url: str) -> None:
    stores = [open_store(store_url, project="p") for _ in range(3)]
    try:
        written = 0
        for round_ in range(12):
            _chunks(stores[0], round_ * 100, 8)
            written += 40
            gate = threading.Barrier(2)
            errors: list[BaseException] = []

            def run(store, gate=gate, errors=errors) -> None:  # type: ignore[no-untyped-def]
                try:
                    gate.wait(10)
                    compact_log(store, older_than=T0 + dt.timedelta(days=1), target_rows=10_000)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(s,)) for s in stores[1:]]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert not errors, errors
            held = stores[0].count_predictions()
            assert held == written, f"round {round_}: {held} rows held, {written} written"
    finally:
        for s in stores:
            s.close()
