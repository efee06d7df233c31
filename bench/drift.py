"""Benchmark: per-feature data drift, steadyml's ``drift_table`` against Evidently's preset.

Data: 25 columns (20 numeric, 5 categorical with 2, 3, 6, 12 and 40 categories), generated
deterministically (seed 7) at 10k, 100k and 1M rows per side, with known shifts in the live
side: ``num_00`` mean +0.5 sd, ``num_05`` spread ×1.4, ``num_10`` mean +0.03 sd (too small to
matter), ``cat_2`` shares changed, ``cat_4`` a new category; 1% missing in two columns. The
parent writes every column once to ``.npy`` files, so both sides read identical values.

Sides, each run in a fresh child process (A B A B over ``--rounds`` rounds per size):

* **steadyml**: ``NumericReference`` / ``CategoricalReference.from_values`` for every column
  of the reference frame, then ``drift_table`` (default settings, threads = cores). Timed
  together ("total") and the comparison alone ("compare").
* **Evidently**: ``Report([DataDriftPreset()]).run(current, reference)`` with a
  ``DataDefinition`` naming the numeric and categorical columns, in its own virtual
  environment ``bench/.venvs/evidently`` (it needs pandas < 3; made on first use).

Each child loads the data and imports its library, runs the work once on 2,000 rows (so
lazy imports are paid), then resets the kernel's RSS high-water mark (``/proc/self/clear_refs``)
and times the real run. "Extra memory" is the high-water mark minus the RSS just before the
run: the memory the drift computation needs beyond holding the two frames.

Agreement: for every column where both sides run the same test (normalised Wasserstein and
Jensen-Shannon at large n; KS and the two-category z-test, which equals a 2 x 2 chi-square of
homogeneity, at small n) the script prints the largest difference of the statistics (goal
≤ 1e-9). Evidently's chi-square for three or more categories is a goodness-of-fit test against
the reference shares; steadyml's is a test of homogeneity (on purpose, see
``steadyml.monitoring.drift``), so those are listed, not compared.

Null simulation: ``--null-reps`` pairs of samples from one distribution (no drift at all) at
300, 500 and 1,000 rows per side; the false-alarm rate per feature at default thresholds
(goal ≤ 5%) for both tools.

Goals (from the issue): at 1M rows per side at least 50× faster than Evidently with at most a
tenth of its extra memory. The script prints ratios with met / NOT met and exits 0 either way.

Run it from the repository root::

    .venv/bin/python bench/drift.py                       # 10k, 100k, 1M; 2 rounds (~15 min)
    .venv/bin/python bench/drift.py --sizes 10000,100000 --rounds 1
    .venv/bin/python bench/drift.py --quick --no-evidently  # seconds; used by the smoke test

Results are recorded in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_VENV = ROOT / "bench" / ".venvs" / "evidently"
READY_MARKER = "steadyml-bench-ready.json"
RESULT_PREFIX = "BENCH_RESULT "
EVIDENTLY_REQUIREMENTS = ["evidently==0.7.23", "pandas<3"]
SPEED_GOAL = 50.0
MEMORY_GOAL = 0.1
FALSE_ALARM_GOAL = 0.05
SEED = 7
NUMERIC = [f"num_{i:02d}" for i in range(20)]
CATEGORICAL = [f"cat_{i}" for i in range(5)]
CATEGORY_COUNTS = [2, 3, 6, 12, 40]
SHIFTED = {
    "num_00": "mean +0.5 sd",
    "num_05": "spread ×1.4",
    "num_10": "mean +0.03 sd (tiny)",
    "cat_2": "shares changed",
    "cat_4": "new category",
}
# the same test on both sides: Evidently's method name -> steadyml's test
SAME_TEST = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensen_shannon",
    "K-S p_value": "ks",
    "Z-test p_value": "chi_square",
}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data


def _numeric(rng: np.random.Generator, i: int, n: int, live: bool, drift: bool) -> np.ndarray:
    kind = i % 5
    shift = scale = 0.0
    if drift and live and i == 0:
        shift = 0.5
    if drift and live and i == 10:
        shift = 0.03
    if drift and live and i == 5:
        scale = 0.4
    if kind == 0:
        x = rng.normal(0.0, 1.0, n) * (1 + scale) + shift
    elif kind == 1:
        x = rng.lognormal(3.0, 0.6, n)
    elif kind == 2:
        x = rng.gamma(2.0, 10.0, n) * (1 + scale)
    elif kind == 3:
        x = rng.poisson(4.0, n).astype(float)  # counts: many ties, more than 5 values
    else:
        x = np.where(rng.random(n) < 0.3, rng.normal(-2, 0.5, n), rng.normal(1, 1, n))
    if i in (3, 12):
        x[rng.random(n) < 0.01] = np.nan
    return x


def _categorical(rng: np.random.Generator, j: int, n: int, live: bool, drift: bool) -> np.ndarray:
    k = CATEGORY_COUNTS[j]
    weights = 1.0 / np.arange(1, k + 1) ** 0.8
    labels = [f"c{j}_{v:02d}" for v in range(k)]
    if drift and live and j == 2:
        weights = weights[::-1].copy()
    if drift and live and j == 4:
        labels.append("brand_new")
        weights = np.append(weights, weights.sum() * 0.15)
    codes = rng.choice(len(labels), size=n, p=weights / weights.sum())
    return np.asarray(labels)[codes]


def make_side(n: int, *, seed: int, live: bool, drift: bool = True) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        cols[name] = _numeric(rng, i, n, live, drift)
    for j, name in enumerate(CATEGORICAL):
        cols[name] = _categorical(rng, j, n, live, drift)
    return cols


def write_data(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for side, live in (("reference", False), ("current", True)):
        for name, values in make_side(n, seed=SEED + int(live), live=live).items():
            np.save(folder / f"{side}.{name}.npy", values, allow_pickle=False)


def write_null(folder: Path, n: int, reps: int) -> None:
    """``reps`` pairs of same-distribution samples, stacked as (reps, n) per column."""
    folder.mkdir(parents=True, exist_ok=True)
    for side in ("reference", "current"):
        stacked: dict[str, list[np.ndarray]] = {name: [] for name in NUMERIC + CATEGORICAL}
        for r in range(reps):
            seed = 1000 + 2 * r + (side == "current")
            for name, values in make_side(n, seed=seed, live=False, drift=False).items():
                stacked[name].append(values)
        for name, parts in stacked.items():
            np.save(folder / f"{side}.{name}.npy", np.stack(parts), allow_pickle=False)


def load_frames(folder: Path, row: int | None = None) -> tuple[Any, Any]:
    import pandas as pd

    frames = []
    for side in ("reference", "current"):
        data = {}
        for name in NUMERIC + CATEGORICAL:
            arr = np.load(folder / f"{side}.{name}.npy", allow_pickle=False)
            data[name] = arr if row is None else arr[row]
        frames.append(pd.DataFrame(data))
    return frames[0], frames[1]


# ---------------------------------------------------------------- the two sides (children)


class ReferencesInWorkers(Mapping[str, Any]):
    """Builds each column's reference when ``drift_table``'s worker asks for it, then drops it.

    For a one-off comparison of two frames nothing needs to stay: the references are built in
    the worker threads, in parallel, and only ``threads`` of them exist at a time.
    """

    def __init__(self, frame: Any) -> None:
        self.frame = frame

    def __getitem__(self, name: str) -> Any:
        from steadyml.monitoring.drift import CategoricalReference, NumericReference

        kind = NumericReference if name in NUMERIC else CategoricalReference
        return kind.from_values(self.frame[name])

    def __iter__(self) -> Iterator[str]:
        return iter(NUMERIC + CATEGORICAL)

    def __len__(self) -> int:
        return len(NUMERIC) + len(CATEGORICAL)


def _columns(table: list[Any]) -> dict[str, Any]:
    return {
        f.feature: {
            "test": f.test,
            "value": f.p_value if f.threshold_kind == "p_value" else f.statistic,
            "drift": f.drifted,
        }
        for f in table
    }


def run_steadyml(ref: Any, cur: Any) -> dict[str, Any]:
    """References built first and held (as a monitor keeps them), then compared."""
    from steadyml.monitoring.drift import (
        CategoricalReference,
        DriftSettings,
        NumericReference,
        drift_table,
    )

    started = time.perf_counter()
    refs: dict[str, Any] = {name: NumericReference.from_values(ref[name]) for name in NUMERIC}
    refs.update({name: CategoricalReference.from_values(ref[name]) for name in CATEGORICAL})
    built = time.perf_counter()
    table = drift_table(refs, cur, DriftSettings())
    done = time.perf_counter()
    return {"total_s": done - started, "compare_s": done - built, "columns": _columns(table)}


def run_steadyml_in_workers(ref: Any, cur: Any) -> dict[str, Any]:
    """Each reference built inside drift_table's worker threads and dropped after use."""
    from steadyml.monitoring.drift import DriftSettings, drift_table

    started = time.perf_counter()
    table = drift_table(ReferencesInWorkers(ref), cur, DriftSettings())
    done = time.perf_counter()
    return {"total_s": done - started, "compare_s": None, "columns": _columns(table)}


def run_evidently(ref: Any, cur: Any) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    started = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(
        current_data=Dataset.from_pandas(cur, data_definition=definition),
        reference_data=Dataset.from_pandas(ref, data_definition=definition),
    )
    result = snapshot.dict()
    done = time.perf_counter()
    columns = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            value = float(metric["value"])
            drift = value >= config["threshold"]
            if "p_value" in config["method"]:
                drift = value < config["threshold"]
            columns[config["column"]] = {"test": config["method"], "value": value, "drift": drift}
    return {"total_s": done - started, "compare_s": done - started, "columns": columns}


def _status() -> dict[str, int]:
    with open("/proc/self/status", encoding="ascii") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}


def measured(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` and add the RSS high-water mark above the RSS just before it."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        poller = None
    except OSError:  # not allowed here: sample RSS every 2 ms instead
        peak = [0]
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _status()["VmRSS"])
                time.sleep(0.002)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
    baseline = _status()["VmRSS"]
    result = work()
    if poller is None:
        high = _status()["VmHWM"]
    else:
        stop.set()
        poller.join()
        high = max(peak[0], _status()["VmRSS"])
    result["extra_bytes"] = max(0, high - baseline)
    return result


def child(args: argparse.Namespace) -> int:
    run = run_steadyml if args.side == "steadyml" else run_evidently
    folder = Path(args.data)
    if args.job == "timing":
        ref, cur = load_frames(folder)
        run(ref.iloc[:2000].copy(), cur.iloc[:2000].copy())  # warm-up: imports, first calls
        result = measured(lambda: run(ref, cur))
        if args.side == "steadyml":
            result["in_workers"] = measured(lambda: run_steadyml_in_workers(ref, cur))
    else:
        reps = np.load(folder / f"reference.{NUMERIC[0]}.npy", mmap_mode="r").shape[0]
        runs = [run(*load_frames(folder, r))["columns"] for r in range(reps)]
        result = {"runs": runs}
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


# ---------------------------------------------------------------- the parent


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _tail(text: str, lines: int = 15) -> str:
    kept = [ln for ln in text.splitlines() if not ln.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


def ensure_evidently_venv(*, skip_setup: bool) -> Path:
    python = _venv_python(EVIDENTLY_VENV)
    if (EVIDENTLY_VENV / READY_MARKER).exists() and python.exists():
        return python
    if skip_setup:
        raise SystemExit(
            f"Error: the Evidently environment {EVIDENTLY_VENV.relative_to(ROOT)} is missing "
            "or unfinished, and --skip-setup was given. Run once without it to create it, "
            "or pass --no-evidently."
        )
    if EVIDENTLY_VENV.exists():
        shutil.rmtree(EVIDENTLY_VENV)
    say(f"Creating the Evidently environment in {EVIDENTLY_VENV.relative_to(ROOT)} (once)")
    subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True, timeout=300)
    command = [str(python), "-m", "pip", "install", "--quiet", *EVIDENTLY_REQUIREMENTS]
    say(f"  $ {' '.join(command[2:])}")
    proc = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"Error: pip could not install Evidently:\n{_tail(proc.stderr)}")
    (EVIDENTLY_VENV / READY_MARKER).write_text(json.dumps({"pins": EVIDENTLY_REQUIREMENTS}))
    return python


def run_child(python: Path, side: str, job: str, data: Path, limit: int) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["DO_NOT_TRACK"] = "1"  # Evidently's usage telemetry
    env["EVIDENTLY_DISABLE_TELEMETRY"] = "1"
    command = [str(python), str(Path(__file__).resolve())]
    command += ["--side", side, "--job", job, "--data", str(data)]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=limit, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"Error: the {side} side took more than {limit} s; stopped.") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"Error: the {side} side failed (exit {proc.returncode}):\n{proc.stderr}")
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def compare_columns(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """The largest |difference| per shared test, and the columns whose tests differ."""
    diffs: dict[str, float] = {}
    differ: dict[str, str] = {}
    for name, mine in ours.items():
        other = theirs.get(name)
        if other is None or mine["value"] is None:
            continue
        if SAME_TEST.get(other["test"]) == mine["test"]:
            d = abs(float(mine["value"]) - float(other["value"]))
            diffs[mine["test"]] = max(diffs.get(mine["test"], 0.0), d)
        else:
            differ[name] = f"steadyml {mine['test']}, Evidently {other['test']}"
    return {"max_diff": diffs, "different_tests": differ}


def timing(args: argparse.Namespace, python: Path | None, work: Path) -> list[dict[str, Any]]:
    out = []
    for n in args.sizes:
        folder = work / f"rows-{n}"
        say(f"Generating {n:,} rows per side (25 columns)")
        write_data(folder, n)
        runs: dict[str, list[dict[str, Any]]] = {"steadyml": [], "evidently": []}
        limit = 600 + n // 1000
        for r in range(1, args.rounds + 1):
            say(f"  {n:,} rows, round {r}/{args.rounds}: steadyml")
            runs["steadyml"].append(
                run_child(Path(sys.executable), "steadyml", "timing", folder, limit)
            )
            if python is not None:
                say(f"  {n:,} rows, round {r}/{args.rounds}: Evidently")
                runs["evidently"].append(run_child(python, "evidently", "timing", folder, limit))
        shutil.rmtree(folder)
        out.append({"rows": n, **runs})
    return out


def null_simulation(
    args: argparse.Namespace, python: Path | None, work: Path
) -> list[dict[str, Any]]:
    out = []
    for n in args.null_sizes:
        folder = work / f"null-{n}"
        write_null(folder, n, args.null_reps)
        say(f"Null simulation: {args.null_reps} same-distribution pairs at {n} rows")
        sides = {"steadyml": run_child(Path(sys.executable), "steadyml", "null", folder, 1800)}
        if python is not None:
            sides["evidently"] = run_child(python, "evidently", "null", folder, 1800)
        shutil.rmtree(folder)
        entry: dict[str, Any] = {"rows": n}
        for side, result in sides.items():
            runs = result["runs"]
            rates = {
                name: sum(bool(run[name]["drift"]) for run in runs) / len(runs)
                for name in NUMERIC + CATEGORICAL
            }
            tests = sorted({str(run[name]["test"]) for run in runs for name in run})
            entry[side] = {"rates": rates, "tests": tests}
        if "evidently" in sides:
            pairs = zip(sides["steadyml"]["runs"], sides["evidently"]["runs"], strict=True)
            checks = [compare_columns(a, b) for a, b in pairs]
            entry["max_diff"] = {
                test: max(c["max_diff"].get(test, 0.0) for c in checks)
                for test in {t for c in checks for t in c["max_diff"]}
            }
        out.append(entry)
    return out


def summarise(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in sizes:
        ours = entry["steadyml"]
        row: dict[str, Any] = {
            "rows": entry["rows"],
            "steadyml_total_s": statistics.median(r["total_s"] for r in ours),
            "steadyml_compare_s": statistics.median(r["compare_s"] for r in ours),
            "steadyml_extra_mb": statistics.median(r["extra_bytes"] for r in ours) / 2**20,
            "workers_s": statistics.median(r["in_workers"]["total_s"] for r in ours),
            "workers_extra_mb": statistics.median(r["in_workers"]["extra_bytes"] for r in ours)
            / 2**20,
            "drifted": sorted(k for k, v in ours[0]["columns"].items() if v["drift"]),
        }
        if entry["evidently"]:
            theirs = entry["evidently"]
            row["evidently_s"] = statistics.median(r["total_s"] for r in theirs)
            row["evidently_extra_mb"] = statistics.median(r["extra_bytes"] for r in theirs) / 2**20
            row["speed_ratio"] = row["evidently_s"] / row["steadyml_total_s"]
            row["compare_ratio"] = row["evidently_s"] / row["steadyml_compare_s"]
            row["memory_ratio"] = row["steadyml_extra_mb"] / max(row["evidently_extra_mb"], 1e-9)
            row["workers_speed_ratio"] = row["evidently_s"] / row["workers_s"]
            row["workers_memory_ratio"] = row["workers_extra_mb"] / max(
                row["evidently_extra_mb"], 1e-9
            )
            row["evidently_drifted"] = sorted(
                k for k, v in theirs[0]["columns"].items() if v["drift"]
            )
            row["agreement"] = compare_columns(ours[0]["columns"], theirs[0]["columns"])
        rows.append(row)
    return rows


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(f"Machine: {m['cores']} cores, {m['system']}, Python {m['python']}")
    print(f"Versions: {json.dumps(report['versions'])}")
    print(f"Shifted in the live data: {json.dumps(SHIFTED, ensure_ascii=False)}")
    print()
    print("steadyml A: references built first and held, then drift_table (compare = 2nd part)")
    print("steadyml B: each reference built inside drift_table's worker and dropped after use")
    print("ratios: Evidently ÷ steadyml for time, steadyml ÷ Evidently for extra memory")
    print()
    print(
        f"{'rows/side':>10}  {'Evidently':>10} {'extra MB':>8}  {'A total':>8} {'compare':>8} "
        f"{'extra MB':>8} {'speed':>6} {'memory':>6}  {'B total':>8} {'extra MB':>8} "
        f"{'speed':>6} {'memory':>6}"
    )
    for row in report["sizes"]:
        ev = (
            f"{row['evidently_s']:>8.2f} s {row['evidently_extra_mb']:>8.1f}"
            if "evidently_s" in row
            else f"{'-':>10} {'-':>8}"
        )
        a_ratio = b_ratio = f"{'-':>6} {'-':>6}"
        if "speed_ratio" in row:
            a_ratio = f"{row['speed_ratio']:>5.0f}× {row['memory_ratio']:>6.3f}"
            b_ratio = f"{row['workers_speed_ratio']:>5.0f}× {row['workers_memory_ratio']:>6.3f}"
        print(
            f"{row['rows']:>10,}  {ev}  {row['steadyml_total_s']:>6.3f} s "
            f"{row['steadyml_compare_s']:>6.3f} s {row['steadyml_extra_mb']:>8.1f} {a_ratio}  "
            f"{row['workers_s']:>6.3f} s {row['workers_extra_mb']:>8.1f} {b_ratio}"
        )
    for row in report["sizes"]:
        print(f"\n{row['rows']:,} rows: steadyml flags {', '.join(row['drifted']) or 'nothing'}")
        if "agreement" in row:
            print(f"  Evidently flags {', '.join(row['evidently_drifted']) or 'nothing'}")
            for test, diff in sorted(row["agreement"]["max_diff"].items()):
                print(f"  same test {test}: largest difference {diff:.2e}")
            for name, what in row["agreement"]["different_tests"].items():
                print(f"  different on purpose: {name}: {what}")
    big = [r for r in report["sizes"] if "speed_ratio" in r]
    if big:
        top = max(big, key=lambda r: r["rows"])
        for label, speed, memory in (
            ("A (held)", top["speed_ratio"], top["memory_ratio"]),
            ("B (in workers)", top["workers_speed_ratio"], top["workers_memory_ratio"]),
        ):
            speed_ok, memory_ok = speed >= SPEED_GOAL, memory <= MEMORY_GOAL
            print(
                f"\nAt {top['rows']:,} rows, steadyml {label}: {speed:.0f}× faster "
                f"(goal ≥{SPEED_GOAL:.0f}×: {'met' if speed_ok else 'NOT met'}); extra memory "
                f"{memory:.3f} of Evidently's (goal ≤{MEMORY_GOAL}: "
                f"{'met' if memory_ok else 'NOT met'})"
            )
    for entry in report["null"]:
        print(f"\nNull simulation, {entry['rows']} rows per side (no drift at all):")
        for side in ("steadyml", "evidently"):
            if side not in entry:
                continue
            rates = entry[side]["rates"]
            worst = max(rates, key=rates.get)
            num = statistics.mean(rates[c] for c in NUMERIC)
            cat = ", ".join(f"{c} {rates[c]:.0%}" for c in CATEGORICAL)
            ok = rates[worst] <= FALSE_ALARM_GOAL
            print(
                f"  {side:>9}: worst {worst} {rates[worst]:.1%} "
                f"(goal ≤{FALSE_ALARM_GOAL:.0%}: {'met' if ok else 'NOT met'}); "
                f"numeric mean {num:.1%}; {cat}; tests {', '.join(entry[side]['tests'])}"
            )
        for test, diff in sorted(entry.get("max_diff", {}).items()):
            print(f"  same test {test}: largest difference {diff:.2e}")


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "system": platform.system(),
        "python": platform.python_version(),
    }


def _versions(python: Path | None) -> dict[str, str]:
    versions = {name: metadata.version(name) for name in ("numpy", "scipy", "pandas")}
    if python is not None:
        code = (
            "import json; from importlib import metadata as m; print(json.dumps("
            "{n: m.version(n) for n in ('evidently', 'pandas', 'numpy', 'scipy')}))"
        )
        out = subprocess.run(
            [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=True
        )
        versions.update({f"evidently-env {k}": v for k, v in json.loads(out.stdout).items()})
    return versions


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=_ints, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds per size (2)")
    parser.add_argument("--null-sizes", type=_ints, default=[300, 500, 1000])
    parser.add_argument("--null-reps", type=int, default=100, help="pairs per null size (100)")
    parser.add_argument("--quick", action="store_true", help="10k rows, 1 round, 20 null pairs")
    parser.add_argument("--no-evidently", action="store_true", help="steadyml side only")
    parser.add_argument(
        "--skip-setup", action="store_true", help="fail if Evidently's venv is missing"
    )
    parser.add_argument("--json", action="store_true", help="print the full results as JSON")
    parser.add_argument("--side", choices=["steadyml", "evidently"], help=argparse.SUPPRESS)
    parser.add_argument("--job", choices=["timing", "null"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        return child(args)
    if args.quick:
        args.sizes, args.rounds, args.null_sizes, args.null_reps = [10_000], 1, [300], 20
    if args.rounds < 1 or args.null_reps < 1:
        parser.error("--rounds and --null-reps must be at least 1")
    python = None if args.no_evidently else ensure_evidently_venv(skip_setup=args.skip_setup)
    with tempfile.TemporaryDirectory(prefix="steadyml-bench-drift-") as tmp:
        work = Path(tmp)
        sizes = timing(args, python, work)
        null = null_simulation(args, python, work)
    report = {
        "machine": machine(),
        "versions": _versions(python),
        "sizes": summarise(sizes),
        "null": null,
    }
    if args.json:
        print(json.dumps({**report, "raw": sizes}, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
