"""``steadyml monitor`` on a large prediction log: peak memory and logged rows per second.

    python bench/monitor_memory.py                  # 1M and 5M logged predictions
    python bench/monitor_memory.py --quick          # 100k and 500k
    python bench/monitor_memory.py --sizes 20000 60000 --profile

A churn project is built from the bundled sample (``steadyml.samples``), trained and promoted.
One week of the sample's live customers is scored by ``score_batch``; its log file is the
pattern. For each size N the pattern is repeated (new request ids and row ids per copy) into
one batch log file of N rows, written the way batch scoring writes it (``BatchLogFile``: a
Parquet file in the artifact store and one ``prediction_files`` row); the first copy's rows
get true labels. Every row then falls in one 7-day window (the project windows by event time).
``Project.monitor`` (alert rules included, notifications off) runs in a fresh interpreter,
whose peak RSS is read from ``getrusage(RUSAGE_CHILDREN)`` in a parent of its own, so runs do
not contaminate each other.

Goals: peak memory at the large size at most 1.3x that at the small size, and at least
200,000 logged rows per second. ``--profile`` adds a cProfile of the monitor at the small size
(the functions with the most cumulative time). The sample's values repeat (a few thousand
distinct customers), as a real log's codes, counts and prices do; a column of all-different
floats would hold 16 bytes per distinct value per window (``steadyml.monitoring.tally``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FIRST_MONDAY = "2026-01-05"
WRITE_ROWS = 200_000  # rows per Parquet write (a row group each, as a batch run writes)

_MONITOR = """
import sys, time, steadyml
import steadyml.monitoring.monitor  # imports (pandas, scipy, scikit-learn) outside the timing
project = steadyml.open(sys.argv[1], env={})
start = time.perf_counter()
run = project.monitor(notify=False)
seconds = time.perf_counter() - start
busy = [w for w in run.result["windows"] if w["system"]["volume"]]
print(run.result["rows"], seconds, len(busy))
"""


def make_project(root: Path) -> Path:
    """A trained churn project with version 1 in production."""
    import steadyml
    from steadyml.flows.plan import init_from_template

    init_from_template(root, "churn", n_customers=1500, months=4)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    text = text.replace("min_metric: 0.75", "min_metric: 0.6")
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        result = project.train()
        version = result.model_version.version if result.model_version else 1
        project.promote(version, "production", reason="bench", by="bench", override="bench")
    return root


def pattern(root: Path, customers: int) -> tuple[Any, Any]:
    """One week of live customers scored in batch: its log rows (an Arrow table) and labels
    (customer id -> churned). The batch run's own log record is removed again."""
    import pyarrow.parquet as pq

    import steadyml
    from steadyml.samples.churn import make_churn_weeks

    features, labels = make_churn_weeks(n_customers=customers, weeks=1,
                                        first_monday=FIRST_MONDAY, seed=11)  # fmt: skip
    file = root / "week.csv"
    features.to_csv(file, index=False)
    with steadyml.open(root, env={}) as project:
        project.score_batch(file, root / "week.scored.parquet")
        (logged,) = project.store.list_prediction_files()
        data = project.artifacts.get_bytes(logged.digest)
        project.store.delete_prediction_files([logged.id])
    import pyarrow as pa

    table = pq.read_table(pa.BufferReader(data))
    return table, dict(zip(labels["customer_id"], labels["churned"], strict=True))


def write_log(root: Path, table: Any, labels: dict[str, Any], rows: int) -> None:
    """``rows`` logged predictions: copies of ``table`` with new ids, as one batch log file;
    labels for the first copy."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.compute as pc

    import steadyml
    from steadyml.predlog.batchfile import BatchLogFile

    with steadyml.open(root, env={}) as project:
        for old in project.store.list_prediction_files():
            project.store.delete_prediction_files([old.id])
        log = BatchLogFile(project.store, project.artifacts, batch_id=f"bench-{rows}",
                           at=dt.datetime.now(dt.UTC), model_version=1, schema=table.schema,
                           expected_rows=rows)  # fmt: skip
        copies, held, written = [], 0, 0
        copy = 0
        while written + held < rows:
            take = min(table.num_rows, rows - written - held)
            part = table.slice(0, take)
            suffix = pa.scalar(f"~{copy}")
            part = part.set_column(
                0, "request_id", pc.binary_join_element_wise(part["request_id"], suffix, "")
            )
            part = part.set_column(
                1, "row_key", pc.binary_join_element_wise(part["row_key"], suffix, "")
            )
            copies.append(part)
            held += take
            copy += 1
            if held >= WRITE_ROWS or written + held == rows:
                log.write(pa.concat_tables(copies))
                written += held
                copies, held = [], 0
        log.upload()
        log.record()
        keys = [k + "~0" for k in table["row_key"].to_pylist() if k in labels]
        project.record_labels([(k, int(labels[k[:-2]])) for k in keys])


def run(code: str, *args: str) -> tuple[int, float, int, float]:
    """Run ``code`` in a fresh interpreter: rows, seconds, busy windows, peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows, seconds, busy = done.stdout.split()[-3:]
    return int(rows), float(seconds), int(busy), max(peak, before) / 1024


def measure(root: Path) -> dict[str, Any]:
    """The monitor in a grandchild, measured by a fresh parent (a clean RUSAGE_CHILDREN)."""
    done = subprocess.run([sys.executable, __file__, "--_one", str(root)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    rows, seconds, busy, peak = json.loads(done.stdout.strip().splitlines()[-1])
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "peak_rss_mib": round(peak), "busy_windows": busy}  # fmt: skip


def profile(root: Path, top: int = 30, sort: str = "cumulative") -> str:
    """cProfile of one monitor run: the functions with the most cumulative time."""
    import cProfile
    import io
    import pstats

    import steadyml
    import steadyml.monitoring.monitor  # imports outside the profile

    with steadyml.open(root, env={}) as project:
        profiler = cProfile.Profile()
        profiler.enable()
        project.monitor(notify=False)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    return out.getvalue()


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    small, large = results[0], results[-1]
    growth = large["peak_rss_mib"] / small["peak_rss_mib"]
    slowest = min(r["rows_per_s"] for r in results)
    return {
        "sizes": [r["rows"] for r in results],
        "memory_growth": round(growth, 3),
        "rows_ratio": round(large["rows"] / small["rows"], 1),
        "time_ratio": round(large["seconds"] / small["seconds"], 2),
        "slowest_rows_per_s": slowest,
        "goal_memory_met": growth <= 1.3,
        "goal_throughput_met": slowest >= 200_000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k and 500k rows")
    parser.add_argument("--sizes", type=int, nargs="+", help="logged predictions per run")
    parser.add_argument("--customers", type=int, default=5000, help="rows of the pattern")
    parser.add_argument("--profile", action="store_true", help="cProfile at the small size")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([100_000, 500_000] if args.quick else [1_000_000, 5_000_000])
    tmp = Path(tempfile.mkdtemp(prefix="steadyml-bench-monitor-"))
    results: list[dict[str, Any]] = []
    try:
        root = make_project(tmp / "churn")
        table, labels = pattern(root, args.customers)
        for size in sizes:
            started = time.perf_counter()
            write_log(root, table, labels, size)
            written = time.perf_counter() - started
            result = {**measure(root), "size": size, "write_s": round(written, 1)}
            results.append(result)
            if not args.json:
                print(json.dumps(result), flush=True)
            if args.profile and size == sizes[0]:
                print(profile(root), flush=True)
        summary = summarise(results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"runs": results, "summary": summary} if args.json else summary, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--_one":
        print(json.dumps(run(_MONITOR, sys.argv[2])))
    else:
        sys.exit(main())
