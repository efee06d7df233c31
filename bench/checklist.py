"""`steadyml checklist` on a project with 1,000,000 logged predictions and 1,000 runs (goal:
under 2 s).

Seeds a real sample churn project quickly: one real training run and its promotion, then 999
copies of that run and N predictions (answers of the production version, a few refused by
the contract) inserted in bulk straight into the SQLite store (the SQL prediction log is the
worst case for counting: batch runs and API chunks are one row per file or chunk), and
10,000 labels. Then ``Project.checklist()`` on a freshly opened project, over a few rounds.
Seeding is not timed.

    .venv/bin/python bench/checklist.py                       # 1,000,000 rows, 1,000 runs
    .venv/bin/python bench/checklist.py --rows 20000 --runs 50 --rounds 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import steadyml
from steadyml.flows.plan import init_from_template


def seed(root: Path, *, rows: int, runs: int) -> None:
    init_from_template(root, "churn", n_customers=600, months=3)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    cfg.write_text(text.replace("min_metric: 0.75", "min_metric: 0.5"), encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.check_data()
        project.train()
        project.promote(1, "production", reason="bench", by="bench")
        name = project.name
    db = sqlite3.connect(root / ".steadyml" / "store.db")
    cols = [r[1] for r in db.execute("PRAGMA table_info(runs)") if r[1] != "id"]
    first = db.execute(f"SELECT {', '.join(cols)} FROM runs WHERE number = 1").fetchone()
    at = cols.index("number")
    key = cols.index("run_key")
    copies = []
    for n in range(2, runs + 1):
        row = list(first)
        row[at], row[key] = n, f"{n:064x}"
        copies.append(row)
    db.executemany(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                   copies)  # fmt: skip
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    inputs = json.dumps({"tenure_months": 12, "contract": "one-year", "region": "north"})

    def predictions():  # type: ignore[no-untyped-def]
        for i in range(rows):
            refused = i % 500 == 0
            when = (t0 + dt.timedelta(milliseconds=600 * i)).isoformat(sep=" ")
            yield (name, os.urandom(8).hex() + f"{i:08x}", f"c{i}", when, 1, "live", inputs,
                   None if refused else str(i % 2), None if refused else (i % 997) / 997,
                   3.0 + (i % 7), False, "contract: tenure_months: expects a number"
                   if refused else None)  # fmt: skip

    db.executemany(
        "INSERT INTO predictions (project, request_id, row_key, at, model_version, route, "
        "inputs, prediction, score, latency_ms, fallback, error) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", predictions())  # fmt: skip
    db.executemany("INSERT INTO feedback (project, key, label, received, at) VALUES "
                   "(?, ?, ?, 1, ?)", ((name, f"c{i}", str(i % 2), t0.isoformat(sep=" "))
                                       for i in range(10_000)))  # fmt: skip
    db.commit()
    db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="seed into DIR and keep it; a DIR already seeded is reused",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "bench"
        if not (root / ".steadyml" / "store.db").exists():
            started = time.perf_counter()
            seed(root, rows=args.rows, runs=args.runs)
            print(f"seeded {args.rows:,} predictions and {args.runs:,} runs in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            with steadyml.open(root, env={}) as project:
                result = project.checklist()
                logged = project.count_predictions()
                n_runs = len(project.runs())
            times.append(time.perf_counter() - t)
        print(f"checklist: median {statistics.median(times):.3f} s, best {min(times):.3f} s "
              f"over {args.rounds} round(s) (the project opened each time)")  # fmt: skip
        print(f"{logged:,} rows in the log, {n_runs:,} runs; score {result.score:g}, "
              f"{result.automated} tests automated")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
