"""The API's prediction log: chunks (Arrow IPC in the store) against rows of the SQL log.

What the service's log writer does with a second of traffic, timed in process on the churn
sample's records, A B A B: the SQL path (each answer scrubbed into a record, JSON-encoded and
inserted, as the log did before session 3 and still does under 100 answers a second) against
the chunk path (the answers laid out as one Arrow table, one zstd IPC chunk per flush with its
key filter). Requests of 1 and of 100 records. Then the read side: ``read_log`` over the same
rows stored each way. Prints microseconds per row, rows per second, bytes per row and the
ratios. Both sides write to a real SQLite file.

    .venv/bin/python bench/predlog.py            # 100,000 rows per side, 2 rounds
    .venv/bin/python bench/predlog.py --quick    # 20,000 rows, 1 round
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from steadyml.entities import new_request_id
from steadyml.predlog import LogLayout, LogPiece, read_log, store_chunk
from steadyml.samples.churn import make_churn_history
from steadyml.store import open_store

FLUSH_ROWS = 5000  # rows the writer lays out per wake-up at ~25,000 answers a second


def _records(n: int) -> tuple[list[str], dict[str, str], list[list[Any]]]:
    frame = make_churn_history(n_customers=max(n // 6, 100), months=6, seed=5)
    frame = frame.drop(columns=["churned", "cancellation_reason"]).head(n)
    types = {}
    for col, dtype in frame.dtypes.items():
        kind = dtype.kind
        types[str(col)] = {"i": "integer", "f": "number", "b": "boolean", "M": "datetime"}.get(
            kind, "string"
        )
    columns = [str(c) for c in frame.columns]
    values = frame.astype(object).where(frame.notna(), None).values.tolist()
    return columns, types, values


def _pieces(values: list[list[Any]], per_request: int, at: float) -> list[LogPiece]:
    out = []
    for start in range(0, len(values), per_request):
        part = values[start : start + per_request]
        n = len(part)
        ids = [new_request_id() for _ in range(n)]
        out.append(LogPiece(part, ids, ["no"] * n, [0.25] * n, 1, "live", 3.0, at))
    return out


def _sql_side(store: Any, layout: LogLayout, pieces: list[LogPiece]) -> float:
    started = time.perf_counter()
    batch: list[LogPiece] = []
    rows = 0
    for piece in pieces:
        batch.append(piece)
        rows += len(piece)
        if rows >= 2000:  # the writer's max_batch
            store.add_predictions(layout.records(batch))
            batch, rows = [], 0
    if batch:
        store.add_predictions(layout.records(batch))
    return time.perf_counter() - started


def _chunk_side(store: Any, layout: LogLayout, pieces: list[LogPiece]) -> float:
    started = time.perf_counter()
    parts, held, rows = [], [], 0
    for piece in pieces:
        held.append(piece)
        rows += len(piece)
        if rows >= FLUSH_ROWS:  # one wake-up's arrivals, laid out
            parts.append(layout.table(held))
            held, rows = [], 0
            if len(parts) == 4:  # about a second of traffic: one chunk
                for chunk in layout.chunks(parts):
                    store_chunk(store, chunk)
                parts = []
    if held:
        parts.append(layout.table(held))
    if parts:
        for chunk in layout.chunks(parts):
            store_chunk(store, chunk)
    return time.perf_counter() - started


def _read(store: Any) -> tuple[float, int]:
    started = time.perf_counter()
    n = sum(len(frame) for frame in read_log(store))
    return time.perf_counter() - started, n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="rows per side (100,000)")
    parser.add_argument("--rounds", type=int, default=None, help="A B rounds (2)")
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 1 round")
    args = parser.parse_args(argv)
    n = args.rows or (20_000 if args.quick else 100_000)
    rounds = args.rounds or (1 if args.quick else 2)
    columns, types, values = _records(n)
    layout = LogLayout(columns, types=types, pii=["email", "phone"], id_column="customer_id")
    print(f"Prediction log, {len(values):,} rows of the churn sample per side, {rounds} round(s); "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")  # fmt: skip
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="steadyml-bench-predlog-") as tmp:
        for r in range(rounds):
            for per_request in (1, 100):
                for side, write in (("SQL rows", _sql_side), ("chunks", _chunk_side)):
                    path = Path(tmp) / f"{side.replace(' ', '-')}-{per_request}-{r}.db"
                    store = open_store(str(path), project="bench")
                    pieces = _pieces(values, per_request, time.time())
                    gc.collect()
                    seconds = write(store, layout, pieces)
                    read_s, read_n = _read(store)
                    assert read_n == len(values), (side, read_n)
                    store.close()
                    size = sum(p.stat().st_size for p in Path(tmp).glob(f"{path.name}*"))
                    key = f"{side}, {per_request} rec/request"
                    found = results.setdefault(key, {"write": [], "read": [], "bytes": []})
                    found["write"].append(seconds / len(values) * 1e6)
                    found["read"].append(len(values) / read_s)
                    found["bytes"].append(size / len(values))
                    print(f"  round {r + 1}: {key:28} write {seconds / len(values) * 1e6:6.2f} "
                          f"µs/row  read {len(values) / read_s:>10,.0f} rows/s  "
                          f"{size / len(values):6.0f} B/row")  # fmt: skip
    med = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in results.items()}
    print("medians:")
    for key, m in med.items():
        print(f"  {key:28} write {m['write']:6.2f} µs/row  read {m['read']:>10,.0f} rows/s  "
              f"{m['bytes']:6.0f} B/row")  # fmt: skip
    print("ratios (chunks against SQL rows):")
    for per_request in (1, 100):
        sql, chunks = med[f"SQL rows, {per_request} rec/request"], med[
            f"chunks, {per_request} rec/request"]  # fmt: skip
        print(f"  {per_request:>3} rec/request: write cost {chunks['write'] / sql['write']:.2f}×, "
              f"read speed {chunks['read'] / sql['read']:.1f}×, "
              f"storage {chunks['bytes'] / sql['bytes']:.2f}×")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
