"""One rollout guardrail evaluation over a window of N logged predictions (goal: 1,000,000
under 1 s).

A shadow step as the service logs it: half the rows answered by production (route live), half
by the candidate (route shadow) under the same request ids, stored as the API's log chunks
(Arrow IPC, zstd) in a real SQLite file, with a number input. Then
``flows.rollout.read_reading`` once (read the step's window, a piece at a time, and every
check: failed requests, p95 latency, prediction distance, shadow agreement, the success metric
waiting for labels), timed over a few rounds. Prints seconds, rows per second and the checks'
verdicts. Writing the log is not timed.

    .venv/bin/python bench/rollout_guardrails.py              # 1,000,000 rows, 3 rounds
    .venv/bin/python bench/rollout_guardrails.py --rows 20000 --rounds 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from steadyml.config import parse_config
from steadyml.flows import rollout as ro
from steadyml.predlog import LogLayout, LogPiece, store_chunk
from steadyml.store import open_store

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
PER_REQUEST = 100
PER_CHUNK = 20_000

CONFIG = {
    "project": {"name": "bench", "problem": "x", "prediction_target": "y", "users": "u",
                "success_metric": {"name": "roc_auc", "threshold": 0.7}},
    "owners": {"model": "a", "deployment": "b", "monitoring": "c", "release_approver": "d"},
    "data": {"source": "d.csv", "target": "y", "columns": {"numeric": ["x"]}},
    "monitoring": {"channels": []},
}  # fmt: skip


def _versions(store: Any) -> None:
    for _ in range(2):
        store.add_model_version(
            run_number=1, artifact_digest="0" * 64, size_bytes=1, model_type="linear",
            task="classification", gates_passed=True, features=["x"], dataset_version=1,
            primary_metric="roc_auc", primary_value=0.8, contract={}, reference={},
        )  # fmt: skip
    store.change_stage(1, "production", by="bench", reason="bench")


def _write_log(store: Any, rows: int) -> None:
    """``rows`` predictions: half live (v1), half shadow (v2) on the same request ids."""
    import random

    layout = LogLayout(["x"], types={"x": "number"})
    rng = random.Random(5)
    start = (T0 + dt.timedelta(minutes=1)).timestamp()
    half = rows // 2
    pending: list[LogPiece] = []
    held = 0
    for begin in range(0, half, PER_REQUEST):
        n = min(PER_REQUEST, half - begin)
        ids = [f"{begin + i:032x}" for i in range(n)]
        values = [[rng.random()] for _ in range(n)]
        preds = ["yes" if v[0] > 0.7 else "no" for v in values]
        scores = [v[0] for v in values]
        at = start + begin / 1000
        pending.append(LogPiece(values, ids, preds, scores, 1, "live", 4.0, at))
        pending.append(LogPiece(values, ids, preds, scores, 2, "shadow", 4.5, at))
        held += 2 * n
        if held >= PER_CHUNK:
            for chunk in layout.chunks([layout.table(pending)]):
                store_chunk(store, chunk)
            pending, held = [], 0
    if pending:
        for chunk in layout.chunks([layout.table(pending)]):
            store_chunk(store, chunk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    config = parse_config(CONFIG)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "store.db"), project="bench")
        _versions(store)
        rollout = ro.start_rollout(store, None, config, 2, by="bench", reason="bench", now=T0)
        started = time.perf_counter()
        _write_log(store, args.rows)
        print(f"Logged {args.rows:,} predictions (half live, half shadow) in "
              f"{time.perf_counter() - started:.1f} s (not timed below).")  # fmt: skip
        now = T0 + dt.timedelta(hours=2)
        times, reading = [], None
        for _ in range(args.rounds):
            started = time.perf_counter()
            reading = ro.read_reading(store, None, config, rollout, now)
            times.append(time.perf_counter() - started)
        store.close()
    assert reading is not None
    seen = reading.candidate_requests + reading.production_requests
    if seen != args.rows:
        print(f"error: the evaluation saw {seen:,} rows, not {args.rows:,}", file=sys.stderr)
        return 1
    best, median = min(times), statistics.median(times)
    print(f"One guardrail evaluation over {args.rows:,} logged predictions: median "
          f"{median:.3f} s, best {best:.3f} s ({args.rows / median:,.0f} rows/s; goal: 1,000,000 "
          f"under 1 s) on {os.cpu_count()} CPUs.")  # fmt: skip
    print(f"Verdict {reading.verdict}: " + "; ".join(f"{c.name} {c.verdict}"
                                                   for c in reading.checks))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
