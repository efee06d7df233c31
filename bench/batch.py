"""Batch scoring against the floor: rows per second and peak memory, at two sizes.

    python bench/batch.py            # 1M and 5M rows (about 1.2 GB of Parquet in a temp dir)
    python bench/batch.py --quick    # 100k and 500k rows
    python bench/batch.py --json

The floor is the least any batch scorer must do: read the Parquet file with pyarrow, call
the model pipeline's ``predict_proba`` per batch, write Parquet; no validation, no logging.
steadyml runs ``Project.score_batch`` with validation and the prediction log on (SQLite). Runs go
A B A B, each in its own subprocess, whose peak RSS is read from ``getrusage(RUSAGE_CHILDREN)``
(so runs do not contaminate each other). Goals: steadyml ≥ 0.8× the floor's rows/s, and
peak memory at the large size ≤ 1.2× that at the small size.

Data: ``make_churn_history`` (84k customers × 12 months ≈ 1M rows), repeated with new ids to
reach the larger size, written once to Parquet. The project is trained on a small sample.
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

CHUNK = 50_000

_FLOOR = """
import sys, time, pyarrow as pa, pyarrow.parquet as pq, steadyml
project = steadyml.open(sys.argv[1], env={})
project.load_model()  # warm-up: imports scikit-learn, as the other side does
start = time.perf_counter()  # both sides time loading the model, as `batch score` must
bundle = project.load_model()
pf = pq.ParquetFile(sys.argv[2]); writer = None; rows = 0
for batch in pf.iter_batches(batch_size=int(sys.argv[4])):
    frame = batch.to_pandas()
    proba = bundle.pipeline.predict_proba(frame)[:, 1]
    table = pa.table({"score": proba})
    writer = writer or pq.ParquetWriter(sys.argv[3], table.schema)
    writer.write_table(table); rows += len(frame)
writer.close()
print(rows, time.perf_counter() - start)
"""

_STEADYML = """
import sys, time, steadyml
project = steadyml.open(sys.argv[1], env={})
project.load_model()  # warm-up: imports scikit-learn, as the other side does
start = time.perf_counter()
r = project.score_batch(sys.argv[2], sys.argv[3], chunk_rows=int(sys.argv[4]),
               log=sys.argv[5] == "log")
assert r.rows_in == r.rows_scored + r.rows_rejected
print(r.rows_in, time.perf_counter() - start)
"""


def make_data(path: Path, rows: int) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from steadyml.samples.churn import LEAK_COLUMN, TARGET, make_churn_history

    base = make_churn_history(n_customers=max(rows // 12, 1000), months=12, seed=3)
    base = base.drop(columns=[TARGET, LEAK_COLUMN])
    base["snapshot_month"] = base["snapshot_month"].astype(str)
    writer = None
    written = 0
    copy = 0
    while written < rows:
        part = base.head(rows - written).copy()
        part["customer_id"] = part["customer_id"] + f"-{copy}"
        table = pa.Table.from_pandas(part, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=100_000)
        written += len(part)
        copy += 1
    if writer is not None:
        writer.close()
    del pd


def make_project(root: Path) -> Path:
    import steadyml
    from steadyml.flows.plan import init_from_template

    init_from_template(root, "churn", n_customers=3000, months=6)
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


def run(code: str, *args: str) -> tuple[int, float, float]:
    """Run ``code`` in a fresh interpreter; return rows, seconds and its peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows, seconds = done.stdout.split()[-2:]
    # ru_maxrss of children is the max over all children so far: only a rise is attributable
    return int(rows), float(seconds), max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k and 500k rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-log", action="store_true", help="steadyml without the log too")
    args = parser.parse_args()
    sizes = [100_000, 500_000] if args.quick else [1_000_000, 5_000_000]
    tmp = Path(tempfile.mkdtemp(prefix="steadyml-bench-batch-"))
    results: list[dict[str, object]] = []
    try:
        project = make_project(tmp / "project")
        for size in sizes:
            data = tmp / f"data-{size}.parquet"
            make_data(data, size)
            mib = data.stat().st_size / 2**20
            variants = [("floor", _FLOOR, ()), ("steadyml", _STEADYML, ("log",))]
            if args.no_log:
                variants.append(("steadyml-no-log", _STEADYML, ("nolog",)))
            for round_ in range(2):  # A B A B
                for name, _code, extra in variants:
                    out = tmp / f"out-{name}.parquet"
                    # peak RSS per run: a fresh parent per run keeps RUSAGE_CHILDREN clean
                    measure = subprocess.run(
                        [sys.executable, __file__, "--_one", name, str(project), str(data),
                         str(out), *extra], capture_output=True, text=True,
                    )  # fmt: skip
                    if measure.returncode != 0:
                        raise RuntimeError(measure.stderr[-3000:])
                    rows, seconds, peak = json.loads(measure.stdout.strip().splitlines()[-1])
                    results.append({
                        "size": size, "file_mib": round(mib, 1), "variant": name,
                        "round": round_ + 1, "rows": rows, "seconds": round(seconds, 2),
                        "rows_per_s": round(rows / seconds), "peak_rss_mib": round(peak),
                    })  # fmt: skip
                    if not args.json:
                        print(json.dumps(results[-1]), flush=True)
            data.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = summarise(results, sizes)
    if args.json:
        print(json.dumps({"runs": results, "summary": summary}, indent=2))
    else:
        print(json.dumps(summary, indent=2))


def summarise(results: list[dict[str, object]], sizes: list[int]) -> dict[str, object]:
    def best(size: int, variant: str, key: str, fn: object = max) -> float:
        vals = [float(r[key]) for r in results if r["size"] == size and r["variant"] == variant]  # type: ignore[arg-type]
        return fn(vals) if vals else float("nan")  # type: ignore[operator]

    out: dict[str, object] = {}
    for size in sizes:
        floor = best(size, "floor", "rows_per_s")
        ours = best(size, "steadyml", "rows_per_s")
        out[str(size)] = {
            "floor_rows_per_s": floor,
            "steadyml_rows_per_s": ours,
            "ratio": round(ours / floor, 3),
            "steadyml_peak_rss_mib": best(size, "steadyml", "peak_rss_mib", min),
            "floor_peak_rss_mib": best(size, "floor", "peak_rss_mib", min),
        }
    small, large = (out[str(s)] for s in sizes)
    out["memory_growth"] = round(
        float(large["steadyml_peak_rss_mib"]) / float(small["steadyml_peak_rss_mib"]),
        3,  # type: ignore[index]
    )
    out["goal_throughput_met"] = all(float(out[str(s)]["ratio"]) >= 0.8 for s in sizes)  # type: ignore[index]
    out["goal_memory_met"] = float(out["memory_growth"]) <= 1.2  # type: ignore[arg-type]
    return out


def _one() -> None:
    """Child mode: run one variant in a grandchild and report rows, seconds, peak RSS."""
    name, project, data, out, *extra = sys.argv[2:]
    code = _FLOOR if name == "floor" else _STEADYML
    mode = extra[0] if extra else "log"
    argv = [project, data, out, str(CHUNK)] + ([] if name == "floor" else [mode])
    started = time.perf_counter()
    rows, seconds, peak = run(code, *argv)
    del started
    print(json.dumps([rows, seconds, peak]))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_one":
        _one()
    else:
        main()
