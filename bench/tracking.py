"""Benchmark: recording a run with its model, steadyml against MLflow, in the same run.

What is timed, on the same fitted pipeline (steadyml's churn sample, 5,000 customers × 6
months, fitted once with steadyml's own training code and pickled for both sides):

* steadyml (A): exactly what ``steadyml train`` does after the fit (``flows.train.train``):
  pickle the model bundle, store it in the content-addressed artifact folder (sha256), and
  record the artifact, the run (params, metrics, full summary) and the model version in the
  SQLite store. Its defaults: a SQLite file and a local artifacts folder, in a temp folder.
* MLflow (B): ``mlflow.start_run()``, ``log_params``, ``log_metrics`` and
  ``mlflow.sklearn.log_model(..., registered_model_name="churn")`` with MLflow's defaults,
  against a local ``sqlite:///…/mlflow.db`` tracking and registry store and a local
  artifacts folder. MLflow runs in its own virtual environment (``bench/.venvs/mlflow``,
  created on first use) because it pins other versions of shared packages; scikit-learn,
  pandas and numpy there are pinned to steadyml's versions so the same pickle loads.

Method: the sides alternate A B A B … for ``--rounds`` rounds. Each round opens a fresh
store on each side, does one warm-up recording (not counted: imports, table creation and
first-call caches are paid there) and then ``--iterations`` timed recordings. The script
prints the median per round and overall, and the ratio MLflow ÷ steadyml (goal: ≥ 10×).
It exits 0 whether or not the goal is met. Everything stays on local files; the MLflow side
gets its telemetry switched off.

Run it from the repository root::

    .venv/bin/python bench/tracking.py                  # 2 rounds × 5 iterations per side
    .venv/bin/python bench/tracking.py --rounds 3 --json
    .venv/bin/python bench/tracking.py --skip-setup     # fail if the MLflow venv is missing

The first run creates the MLflow environment (about a minute, about 900 MB, needs the package
index); later runs reuse it. Delete ``bench/.venvs/mlflow`` to rebuild it. Results are
recorded in ``docs/benchmarks.md``.
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
import time
import uuid
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = ROOT / "bench" / ".venvs" / "mlflow"
MLFLOW_SIDE = ROOT / "bench" / "_mlflow_side.py"
READY_MARKER = "steadyml-bench-ready.json"
RESULT_PREFIX = "BENCH_RESULT "
GOAL = 10.0
PRIMARY_METRIC = "roc_auc"
# the packages whose versions must match for the pickled pipeline to load in MLflow's venv
SHARED = ("scikit-learn", "pandas", "numpy", "scipy", "joblib", "fairlearn")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the fitted pipeline


@dataclass(frozen=True)
class Fitted:
    outcome: Any  # steadyml.training.run.TrainOutcome
    contract: dict[str, Any]
    training_config: dict[str, Any]
    fit_s: float


def fit(customers: int = 5000, months: int = 6, *, contract: bool = True) -> Fitted:
    """Fit the churn sample with steadyml's own training code, as ``steadyml train`` would.

    ``contract=False`` skips inferring the data contract (the MLflow side's refit needs only
    the pipeline, and its environment lacks the contract's dependencies).
    """
    from dataclasses import asdict

    from steadyml.config import TrainingSection
    from steadyml.entities import Roles
    from steadyml.samples.churn import make_churn_history
    from steadyml.training.run import train_model

    roles = Roles(
        target="churned",
        id="customer_id",
        timestamp="snapshot_month",
        numeric=(
            "tenure_months",
            "monthly_charges",
            "total_charges",
            "data_usage_gb",
            "support_calls",
        ),
        categorical=("contract", "payment_method", "plan", "region"),
        sensitive=("gender", "age_band"),
        pii=("email", "phone"),
        drop={"cancellation_reason": "leak"},
    )
    frame = make_churn_history(n_customers=customers, months=months)
    training = TrainingSection()
    started = time.perf_counter()
    outcome = train_model(
        frame,
        roles,
        training,
        task="classification",
        primary_metric=PRIMARY_METRIC,
        direction="higher_is_better",
        missing_codes={"support_calls": [-1]},
    )
    fit_s = time.perf_counter() - started
    contract_dict: dict[str, Any] = {}
    if contract:
        from steadyml.data.contract import infer_contract

        inferred = infer_contract(frame, roles, source="bench")
        contract_dict = {
            "version": inferred.version,
            "inferred_from": inferred.inferred_from,
            "columns": {k: asdict(v) for k, v in inferred.columns.items()},
        }
    return Fitted(outcome, contract_dict, {"training": training.model_dump(mode="json")}, fit_s)


# ---------------------------------------------------------------- steadyml side (A)


def record_with_steadyml(store: Any, artifacts: Any, fitted: Fitted) -> int:
    """What ``steadyml train`` does after the fit (``flows.train.record_outcome``, the same
    function); returns the new model version. The bundle carries a unique marker so every
    recording writes new bytes, as a retrained model would, instead of finding an identical
    artifact already stored.
    """
    from steadyml.flows.train import record_outcome
    from steadyml.training.lineage import CodeVersion

    marker = uuid.uuid4().hex
    _, mv = record_outcome(
        store,
        artifacts,
        fitted.outcome,
        run_key=marker,
        dataset_version=1,
        data_hash="0" * 64,
        config_hash="0" * 64,
        code=CodeVersion(commit=None, dirty=False, changes_hash=""),
        training_config=fitted.training_config,
        duration_s=fitted.fit_s,
        primary_metric=PRIMARY_METRIC,
        contract=fitted.contract,
        extra_packages={"bench_marker": marker},
    )
    return int(mv.version)


def steadyml_round(fitted: Fitted, iterations: int, workdir: Path) -> dict[str, Any]:
    """A fresh project store in ``workdir``: one warm-up recording, then the timed ones."""
    from steadyml.artifacts import ArtifactStore
    from steadyml.store import open_store

    store = open_store(str(workdir / ".steadyml" / "store.db"), project="bench")
    artifacts = ArtifactStore(str(workdir / ".steadyml" / "artifacts"))
    try:
        started = time.perf_counter()
        record_with_steadyml(store, artifacts, fitted)
        warmup = time.perf_counter() - started
        times = []
        for _ in range(iterations):
            started = time.perf_counter()
            record_with_steadyml(store, artifacts, fitted)
            times.append(time.perf_counter() - started)
    finally:
        store.close()
    return {"warmup_s": warmup, "times_s": times}


# ---------------------------------------------------------------- MLflow side (B)


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ours() -> dict[str, str]:
    return {name: metadata.version(name) for name in SHARED}


def _pip(python: Path, requirements: list[str]) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "pip", "install", "--quiet", *requirements]
    say(f"  $ {' '.join(command[2:])}")
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)


def ensure_mlflow_venv(venv: Path, *, skip_setup: bool) -> Path:
    """The MLflow environment's python, creating the environment once if needed."""
    python = _venv_python(venv)
    if (venv / READY_MARKER).exists() and python.exists():
        return python
    if skip_setup:
        raise SystemExit(
            f"Error: the MLflow environment {venv.relative_to(ROOT)} is missing or unfinished, "
            "and --skip-setup was given. Run without --skip-setup once to create it."
        )
    if venv.exists():
        shutil.rmtree(venv)
    say(f"Creating the MLflow environment in {venv.relative_to(ROOT)} (once; about a minute)")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pinned = [f"{name}=={version}" for name, version in _ours().items()]
    proc = _pip(python, ["mlflow", *pinned])
    note = "same versions as steadyml's environment"
    if proc.returncode != 0:
        say(_tail(proc.stderr))
        say("  MLflow does not install beside these pins; installing what it allows instead")
        proc = _pip(python, ["mlflow", *SHARED])
        note = "MLflow's own choice of versions (steadyml's pins did not resolve)"
        if proc.returncode != 0:
            raise SystemExit(f"Error: pip could not install MLflow:\n{_tail(proc.stderr)}")
    (venv / READY_MARKER).write_text(json.dumps({"pins": pinned, "note": note}, indent=2))
    return python


def _tail(text: str, lines: int = 15) -> str:
    kept = [ln for ln in text.splitlines() if not ln.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


def _versions_in(python: Path) -> dict[str, str]:
    code = (
        "import json; from importlib import metadata as m; "
        f"print(json.dumps({{n: m.version(n) for n in {[*SHARED, 'mlflow']!r}}}))"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


def mlflow_env() -> dict[str, str]:
    env = dict(os.environ)
    # the pickled pipeline holds steadyml's column-preparation step: make it importable
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["DO_NOT_TRACK"] = "true"
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("MLFLOW_REGISTRY_URI", None)
    return env


def mlflow_round(
    python: Path,
    *,
    pipeline: Path,
    payload: Path,
    iterations: int,
    workdir: Path,
    fmt: str,
    refit_customers: int,
    pip_requirements: list[str],
) -> dict[str, Any]:
    command = [
        str(python),
        str(MLFLOW_SIDE),
        f"--pipeline={pipeline}",
        f"--payload={payload}",
        f"--workdir={workdir}",
        f"--iterations={iterations}",
        f"--format={fmt}",
        f"--refit={refit_customers}",
        f"--pip-requirements={','.join(pip_requirements)}",
    ]
    limit = 180 + 60 * (iterations + 1)
    workdir.mkdir(parents=True)
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=limit,
            env=mlflow_env(),
            cwd=workdir,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SystemExit(f"Error: the MLflow side took more than {limit} s; stopped.") from None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(
            f"Error: the MLflow side failed (exit {proc.returncode}):\n{_tail(proc.stderr, 30)}"
        )
    result: dict[str, Any] = json.loads(lines[-1][len(RESULT_PREFIX) :])
    return result


def mlflow_payload(fitted: Fitted) -> dict[str, Any]:
    """The same params and metrics steadyml records; MLflow takes only numeric metrics."""
    summary = fitted.outcome.to_dict()
    metrics = {
        k: float(v)
        for k, v in summary["metrics"].items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }
    return {"params": summary["params"], "metrics": metrics}


# ---------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    a = [t for r in rounds for t in r["steadyml"]["times_s"]]
    b = [t for r in rounds for t in r["mlflow"]["times_s"]]
    med_a, med_b = statistics.median(a), statistics.median(b)
    ratio = med_b / med_a
    return {
        "steadyml_median_s": med_a,
        "mlflow_median_s": med_b,
        "ratio": ratio,
        "goal": GOAL,
        "goal_met": ratio >= GOAL,
    }


def print_report(report: dict[str, Any]) -> None:
    v = report["versions"]
    m = report["machine"]
    print(f"Recording a run with its model: steadyml {v['steadyml']} vs MLflow {v['mlflow']}")
    print(
        f"machine: {m['cores']} cores, Python {m['python']}; scikit-learn "
        f"{v['scikit-learn']} (steadyml) / {v['mlflow_env']['scikit-learn']} (MLflow); "
        f"MLflow format: {report['mlflow_format']}, requirements "
        f"{report['mlflow_requirements']}"
        + ("; MLflow side refitted the pipeline" if report["mlflow_refit"] else "")
    )
    print(f"model fitted once in {report['fit_s']:.1f} s; model bundle {report['bundle_kib']} KiB")
    print(f"{'round':>5}  {'steadyml median':>16}  {'MLflow median':>14}  {'ratio':>7}")
    for i, r in enumerate(report["rounds"], 1):
        a = statistics.median(r["steadyml"]["times_s"])
        b = statistics.median(r["mlflow"]["times_s"])
        print(f"{i:>5}  {a * 1000:>13.1f} ms  {b:>12.2f} s  {b / a:>6.1f}×")
    s = report["summary"]
    print(
        f"{'all':>5}  {s['steadyml_median_s'] * 1000:>13.1f} ms  "
        f"{s['mlflow_median_s']:>12.2f} s  {s['ratio']:>6.1f}×"
    )
    print(f"MLflow writes per model: {', '.join(report['mlflow_model_files'])}")
    if s["goal_met"]:
        print(f"goal met (≥{GOAL:.0f}×): MLflow takes {s['ratio']:.0f}× as long")
    else:
        print(f"goal NOT met (needs ≥{GOAL:.0f}×): MLflow takes {s['ratio']:.1f}× as long")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time recording a run with its model: steadyml against MLflow (A B A B)."
    )
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds (default 2)")
    parser.add_argument(
        "--iterations", type=int, default=5, help="timed recordings per side per round (5)"
    )
    parser.add_argument("--customers", type=int, default=5000, help="churn sample size (5000)")
    parser.add_argument(
        "--mlflow-format",
        default="skops",
        choices=("skops", "cloudpickle", "pickle"),
        help="MLflow's serialization_format (default: skops, MLflow's own default)",
    )
    parser.add_argument(
        "--mlflow-explicit-requirements",
        action="store_true",
        help="give log_model pip_requirements (the shared packages, pinned) instead of letting "
        "MLflow infer them, which is most of its default cost",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--skip-setup", action="store_true", help="fail if the MLflow environment is missing"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.iterations < 1:
        parser.error("--rounds and --iterations must be at least 1")

    python = ensure_mlflow_venv(MLFLOW_VENV, skip_setup=args.skip_setup)
    theirs = _versions_in(python)
    ours = _ours()
    refit = theirs["scikit-learn"] != ours["scikit-learn"]
    if refit:
        say(
            f"MLflow's environment has scikit-learn {theirs['scikit-learn']}, steadyml's "
            f"{ours['scikit-learn']}: the MLflow side refits the same pipeline from the same data"
        )

    requirements = (
        [f"{name}=={version}" for name, version in theirs.items() if name != "mlflow"]
        if args.mlflow_explicit_requirements
        else []
    )
    say(f"Fitting the churn pipeline once ({args.customers:,} customers × 6 months)")
    fitted = fit(args.customers)
    from steadyml.registry import ModelBundle, dump_bundle

    with tempfile.TemporaryDirectory(prefix="steadyml-bench-") as tmp:
        work = Path(tmp)
        import joblib

        pipeline = work / "pipeline.joblib"
        joblib.dump(fitted.outcome.pipeline, pipeline)
        payload = work / "payload.json"
        payload.write_text(json.dumps(mlflow_payload(fitted)))
        o = fitted.outcome
        bundle = ModelBundle(
            pipeline=o.pipeline,
            task=o.task,
            model_type=o.model_name,
            features=list(o.features),
            classes=o.classes,
            positive_label=o.positive_label,
            threshold=None,
        )
        size = len(dump_bundle(bundle))

        rounds: list[dict[str, Any]] = []
        mlflow_files: list[str] = []
        started = time.perf_counter()
        for i in range(1, args.rounds + 1):
            say(f"Round {i}/{args.rounds}: steadyml, {args.iterations} recordings (+1 warm-up)")
            a = steadyml_round(fitted, args.iterations, work / f"steadyml-{i}")
            say(f"  median {statistics.median(a['times_s']) * 1000:.1f} ms")
            say(f"Round {i}/{args.rounds}: MLflow, {args.iterations} recordings (+1 warm-up)")
            b = mlflow_round(
                python,
                pipeline=pipeline,
                payload=payload,
                iterations=args.iterations,
                workdir=work / f"mlflow-{i}",
                fmt=args.mlflow_format,
                refit_customers=args.customers if refit else 0,
                pip_requirements=requirements,
            )
            say(f"  median {statistics.median(b['times_s']):.2f} s")
            mlflow_files = b["model_files"]
            rounds.append({"steadyml": a, "mlflow": b})
        say(f"Done in {time.perf_counter() - started:.0f} s")

    report = {
        "benchmark": "tracking: record a run with its model artifact",
        "machine": machine(),
        "versions": {
            "steadyml": metadata.version("steadyml"),
            "mlflow": theirs["mlflow"],
            "scikit-learn": ours["scikit-learn"],
            "mlflow_env": theirs,
        },
        "mlflow_format": args.mlflow_format,
        "mlflow_refit": refit,
        "mlflow_requirements": "explicit" if requirements else "inferred (default)",
        "mlflow_model_files": mlflow_files,
        "customers": args.customers,
        "fit_s": fitted.fit_s,
        "bundle_kib": round(size / 1024, 1),
        "rounds": rounds,
        "summary": summarise(rounds),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
