"""Benchmark: serving predictions over HTTP, steadyml against MLflow and BentoML, in the same run.

Every side serves the same fitted pipeline: the churn sample project (5,000 customers × 6
months, ``cancellation_reason`` dropped as a leak), trained once with ``project.train()`` and
promoted; its ``project.load_model(1).pipeline`` is pickled with joblib for the peers.

Sides, each its own process tree on 127.0.0.1 with ``OMP_NUM_THREADS=1``:

* **steadyml**: ``python -m steadyml.serving --project DIR --no-auth`` (``POST /v1/predict``):
  request validation generated from the data contract, micro-batching, prediction log writes
  to the project's SQLite store. Main numbers with logging on; a second server with
  ``--no-log`` measures what logging costs. Each round serves a fresh copy of the project.
* **BentoML** with adaptive batching (``@bentoml.api(batchable=True)``, ``bench/_serving_bento.py``
  ``ChurnBatched``), started by ``bentoml serve`` with ``BENTOML_DO_NOT_TRACK=true``; and the
  same service without batching (``ChurnUnbatched``) for the one-client comparison. Own
  virtual environment ``bench/.venvs/bentoml``, made on first use.
* **MLflow**: the pipeline logged with ``mlflow.sklearn.log_model`` (``bench/_serving_mlflow.py``,
  explicit requirements, cloudpickle) and served by ``mlflow models serve --env-manager
  local`` (``POST /invocations``, ``dataframe_records``). Reuses ``bench/.venvs/mlflow`` from
  ``bench/tracking.py``.
* **framework floor** (side ``floor``): FastAPI + uvicorn, what every Python model server
  pays before any model work: this script with ``--serve-floor`` parses the same body with a
  pydantic model of the records (each column typed as the sample values are) and answers a
  constant, no model, no log (``serve_floor``).
* **floor**: ``pipeline.predict_proba`` in this process on 1-row and 100-row frames, no HTTP.

Loads (wrk, one thread, keep-alive, outside the servers; a Lua script posts a pre-encoded
JSON body and reports every non-2xx answer and socket error): 1 record at concurrency 1, 8
and 32; 100 records at concurrency 4. For each load the sides run one after the other,
A B A B over ``--rounds`` rounds (all servers of a round are up; only the one under load
works), each run a warm-up then a measured run. Cold start: each round first starts every
server alone (nothing else running) and times it from spawning the process until its
readiness endpoint answers 200, then stops it. Memory: RSS of the server's process tree (all
its processes, from /proc) after the loads.

Goals (from the issues): at c=8 and c=32 at least 1.5× the throughput of BentoML with
batching, with a p99 no worse; at c=1 at least BentoML without batching; cold start at most
0.7× BentoML's; memory at most BentoML's; logging costs at most 10% of throughput; against
the framework floor, at c=1 a p50 of at most 3 ms and at least 0.35× its throughput, at c=32
at least 0.9× its throughput (issue 11). The script prints the ratios with met / NOT met and
exits 0 either way.

Run it from the repository root::

    .venv/bin/python bench/serving.py            # 2 rounds, 10 s runs (about 12 minutes)
    .venv/bin/python bench/serving.py --quick    # 1 round, 5 s runs
    .venv/bin/python bench/serving.py --json

Needs ``wrk`` (Debian: ``apt-get install wrk``). The first run trains the sample project
(about 1.5 minutes) and keeps it in ``bench/.venvs/serving-cache`` (``--retrain`` redoes it),
and creates the BentoML environment (needs the package index). Results are recorded in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
VENVS = BENCH / ".venvs"
CACHE = VENVS / "serving-cache"
BENTO_VENV = VENVS / "bentoml"
MLFLOW_VENV = VENVS / "mlflow"
READY_MARKER = "steadyml-bench-ready.json"
RESULT_PREFIX = "BENCH_RESULT "
WRK_PREFIX = "WRK_RESULT "
SHARED = ("scikit-learn", "pandas", "numpy", "scipy", "joblib", "fairlearn")
# also pinned in BentoML's environment: without pyarrow, pandas 3 gives read-only string
# arrays and steadyml's column preparation fails ("assignment destination is read-only")
BENTO_EXTRA = ("pyarrow",)

# (key, records per request, concurrency)
LOADS: list[tuple[str, int, int]] = [
    ("1 rec c=1", 1, 1),
    ("1 rec c=8", 1, 8),
    ("1 rec c=32", 1, 32),
    ("100 rec c=4", 100, 4),
]
THROUGHPUT_GOAL = 1.5
FLOOR_C1_GOAL = 0.35  # steadyml's throughput at c=1 against the framework floor's
FLOOR_C32_GOAL = 0.9  # ... and at c=32
P50_C1_GOAL_MS = 3.0
COLD_GOAL = 0.7
LOG_COST_GOAL = 0.10


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _tail(text: str, lines: int = 15) -> str:
    kept = [ln for ln in text.splitlines() if not ln.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _ours() -> dict[str, str]:
    return {name: metadata.version(name) for name in SHARED}


# ---------------------------------------------------------------- the project and its model


MODELS = {"linear": "linear", "hgb": "hist_gradient_boosting"}


def prepare(retrain: bool, model: str = "linear") -> dict[str, Any]:
    """The trained, promoted sample project, its pickled pipeline and 100 sample records.

    ``model`` picks the one candidate family trained (``linear`` or ``hgb``); each has its own
    cache folder, so both sides serve the same fitted model."""
    global CACHE
    CACHE = VENVS / ("serving-cache" if model == "linear" else f"serving-cache-{model}")
    marker = CACHE / "prepared.json"
    version = metadata.version("steadyml")
    if marker.exists() and not retrain:
        info: dict[str, Any] = json.loads(marker.read_text())
        if info.get("steadyml") == version and info.get("versions") == _ours():
            return info
    if CACHE.exists():
        shutil.rmtree(CACHE)
    CACHE.mkdir(parents=True)
    import joblib

    import steadyml
    from steadyml.flows.plan import init_from_template

    project_dir = CACHE / "churn"
    say("Training the churn sample once (5,000 customers × 6 months; about 1.5 minutes)")
    init_from_template(project_dir, "churn", n_customers=5000, months=6)
    cfg = project_dir / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: leak}")
    text = text.replace("models: [linear, hist_gradient_boosting]", f"models: [{MODELS[model]}]")
    text += "\nserving:\n  auth: none\n"
    cfg.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    with steadyml.open(project_dir, env={}) as project:
        result = project.train()
        # a speed benchmark: the boosting model's fairness gate may fail on this sample
        project.promote(1, "production", reason="bench", by="bench",
                        override="benchmark of serving speed only")  # fmt: skip
        pipeline = project.load_model(1).pipeline
        frame = project.load_snapshot(1).iloc[:100]
    fit_s = time.perf_counter() - started
    joblib.dump(pipeline, CACHE / "pipeline.joblib")
    frame = frame.drop(columns=["churned", "cancellation_reason"])
    frame["snapshot_month"] = frame["snapshot_month"].astype(str)
    records = [
        {k: (None if v != v else (v.item() if hasattr(v, "item") else v)) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]
    (CACHE / "records.json").write_text(json.dumps(records))
    info = {
        "steadyml": version,
        "versions": _ours(),
        "model_type": result.run.model_type,
        "train_s": round(fit_s, 1),
        "project": str(project_dir),
        "pipeline": str(CACHE / "pipeline.joblib"),
        "records": str(CACHE / "records.json"),
    }
    marker.write_text(json.dumps(info, indent=2))
    return info


# ---------------------------------------------------------------- peer environments


def _pip(python: Path, requirements: list[str]) -> subprocess.CompletedProcess[str]:
    command = [str(python), "-m", "pip", "install", "--quiet", *requirements]
    say(f"  $ {' '.join(command[2:])}")
    return subprocess.run(command, capture_output=True, text=True, timeout=1200, check=False)


def ensure_bento_venv(skip_setup: bool) -> Path | None:
    python = _venv_python(BENTO_VENV)
    if (BENTO_VENV / READY_MARKER).exists() and python.exists():
        return python
    if skip_setup:
        say("BentoML environment missing and --skip-setup given: BentoML left out")
        return None
    if BENTO_VENV.exists():
        shutil.rmtree(BENTO_VENV)
    say(f"Creating the BentoML environment in {BENTO_VENV.relative_to(ROOT)} (once)")
    subprocess.run([sys.executable, "-m", "venv", str(BENTO_VENV)], check=True, timeout=300)
    ours = {**_ours(), **{name: metadata.version(name) for name in BENTO_EXTRA}}
    pinned = [f"{name}=={version}" for name, version in ours.items()]
    proc = _pip(python, ["bentoml", *pinned])
    note = "same versions as steadyml's environment"
    if proc.returncode != 0:
        say(_tail(proc.stderr))
        say("  BentoML does not install beside these pins; installing what it allows instead")
        proc = _pip(python, ["bentoml", *SHARED, *BENTO_EXTRA])
        note = "BentoML's own choice of versions (steadyml's pins did not resolve)"
        if proc.returncode != 0:
            say(f"pip could not install BentoML; BentoML left out:\n{_tail(proc.stderr)}")
            return None
    (BENTO_VENV / READY_MARKER).write_text(json.dumps({"pins": pinned, "note": note}, indent=2))
    return python


def ensure_mlflow_venv(skip_setup: bool) -> Path | None:
    """Reuse ``bench/tracking.py``'s MLflow environment (it creates it when missing)."""
    spec = importlib.util.spec_from_file_location("_steadyml_bench_tracking", BENCH / "tracking.py")
    if spec is None or spec.loader is None:  # pragma: no cover
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    try:
        return Path(module.ensure_mlflow_venv(MLFLOW_VENV, skip_setup=skip_setup))
    except SystemExit as exc:
        say(f"MLflow left out: {exc}")
        return None


def versions_in(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import json; from importlib import metadata as m; "
        f"print(json.dumps({{n: m.version(n) for n in {names!r}}}))"
    )
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return dict(json.loads(out.stdout))


def peer_env(venv_python: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEADYML_", "MLFLOW_"))}
    # the peer's own tools first (``mlflow models serve`` runs ``exec uvicorn ...``)
    env["PATH"] = os.pathsep.join([str(venv_python.parent), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    # the pickled pipeline holds steadyml's column-preparation step: make it importable
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(
        {
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "true",
            "BENTOML_DO_NOT_TRACK": "true",
        }
    )
    env.update(extra or {})
    return env


def log_mlflow_model(python: Path, pipeline: str) -> str | None:
    marker = CACHE / "mlflow-model.json"
    if marker.exists():
        path = json.loads(marker.read_text())["model_path"]
        if (Path(path) / "MLmodel").exists():
            return str(path)
    workdir = CACHE / "mlflow"
    if workdir.exists():
        shutil.rmtree(workdir)
    reqs = versions_in(python, [*SHARED, "mlflow"])
    requirements = ",".join(f"{n}=={v}" for n, v in reqs.items())
    say("Logging the pipeline as an MLflow model (once)")
    proc = subprocess.run(
        [str(python), str(BENCH / "_serving_mlflow.py"), f"--pipeline={pipeline}",
         f"--workdir={workdir}", f"--pip-requirements={requirements}"],
        capture_output=True, text=True, timeout=600, env=peer_env(python), check=False,
    )  # fmt: skip
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if proc.returncode != 0 or not lines:
        say(f"MLflow could not log the model; MLflow left out:\n{_tail(proc.stderr, 20)}")
        return None
    info = json.loads(lines[-1][len(RESULT_PREFIX) :])
    marker.write_text(json.dumps(info))
    return str(info["model_path"])


# ---------------------------------------------------------------- the framework floor


def serve_floor(port: int, records_path: str) -> None:
    """The framework floor: FastAPI + uvicorn parse ``{"records": [...]}`` with a pydantic
    model of the sample records (each column typed as its values are, null allowed where a
    value is missing) and answer a constant. No model, no validation rules, no log."""
    from typing import Any as AnyType

    import uvicorn
    from fastapi import FastAPI
    from pydantic import create_model

    records = json.loads(Path(records_path).read_text())
    kinds = {bool: bool, int: int, float: float, str: str}

    def typed(values: list[AnyType]) -> AnyType:
        seen = {kinds.get(type(v), str) for v in values if v is not None}
        kind: AnyType = float if seen == {int, float} else (seen.pop() if len(seen) == 1 else str)
        return kind | None if any(v is None for v in values) else kind

    fields: dict[str, AnyType] = {
        name: (typed([r.get(name) for r in records]), ...) for name in records[0]
    }
    record = create_model("Record", **fields)
    body = create_model("Body", records=(list[record], ...))  # type: ignore[valid-type]
    app = FastAPI()

    async def predict(request: AnyType) -> dict[str, AnyType]:
        return {"ok": True, "results": [{"prediction": 0, "score": 0.5}] * len(request.records)}

    # the body model is made here, so the annotation is set here too (FastAPI reads it)
    predict.__annotations__ = {"request": body, "return": dict[str, AnyType]}

    async def ready() -> dict[str, bool]:
        return {"ok": True}

    app.add_api_route("/v1/predict", predict, methods=["POST"])
    app.add_api_route("/ready", ready, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# ---------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (VmRSS from /proc), in MB."""
    kids = _children()
    total_kb = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        todo.extend(kids.get(p, []))
        try:
            with open(f"/proc/{p}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total_kb += int(line.split()[1])
        except OSError:
            pass
    return total_kb * 1024 / 1e6


@dataclass
class Side:
    key: str
    label: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    ready_path: str
    predict_path: str
    body_key: str  # "records" or "dataframe_records"
    loads: list[str]
    log: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    cold_start_s: float | None = None
    rss_mb: float | None = None
    error: str | None = None
    results: dict[str, dict[str, Any]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 120) -> None:
        self.port = free_port()
        command = [c.replace("{port}", str(self.port)) for c in self.command]
        out = open(self.log, "ab")  # noqa: SIM115 - closed with the process
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
            start_new_session=True,
        )  # fmt: skip
        out.close()
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                self.error = f"exited early (code {self.proc.returncode}); see {self.log}"
                raise RuntimeError(f"{self.label} {self.error}:\n{_tail(self.log.read_text())}")
            try:
                with urllib.request.urlopen(self.url(self.ready_path), timeout=1) as r:
                    if r.status == 200:
                        self.cold_start_s = time.perf_counter() - started
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{self.label} not ready within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # its own session: the server's tree
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15  # and wait until the whole tree is gone
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def fresh_projects(info: dict[str, Any], work: Path) -> Path:
    """Fresh copies of the trained project for the two steadyml servers (own stores)."""
    for key in ("steadyml", "steadyml_nolog"):
        if (work / key).exists():
            shutil.rmtree(work / key)
        shutil.copytree(info["project"], work / key / "churn")
    return work


def make_sides(args: argparse.Namespace, info: dict[str, Any], work: Path,
               bento: Path | None, mlflow: tuple[Path, str] | None) -> list[Side]:  # fmt: skip
    keys = [k for k, _, _ in LOADS]
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    sides: list[Side] = []
    ours_env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    ours_env["OMP_NUM_THREADS"] = "1"
    for key, label, extra in (("steadyml", "steadyml", []),
                              ("steadyml_nolog", "steadyml --no-log", ["--no-log"])):  # fmt: skip
        sides.append(
            Side(
                key=key, label=label,
                command=[sys.executable, "-m", "steadyml.serving", "--project",
                         str(work / key / "churn"), "--host", "127.0.0.1", "--port", "{port}",
                         "--no-auth", "--log-level", "warning", *extra],
                env=ours_env, cwd=ROOT, ready_path="/ready", predict_path="/v1/predict",
                body_key="records", loads=keys, log=logs / f"{key}.log",
            )
        )  # fmt: skip
    sides.append(
        Side(
            key="floor", label="framework floor",
            command=[sys.executable, str(Path(__file__).resolve()), "--serve-floor", "{port}",
                     "--floor-records", info["records"]],
            env=ours_env, cwd=ROOT, ready_path="/ready", predict_path="/v1/predict",
            body_key="records", loads=keys, log=logs / "floor.log",
        )
    )  # fmt: skip
    if bento is not None:
        env = peer_env(bento, {"STEADYML_BENCH_PIPELINE": info["pipeline"]})
        for key, label, cls, loads in (
            ("bento", "BentoML (batching)", "ChurnBatched", keys),
            ("bento_nobatch", "BentoML (no batching)", "ChurnUnbatched", ["1 rec c=1"]),
        ):
            sides.append(
                Side(
                    key=key, label=label,
                    command=[str(bento.parent / "bentoml"), "serve", f"_serving_bento:{cls}",
                             "--working-dir", str(BENCH), "--host", "127.0.0.1",
                             "--port", "{port}"],
                    env=env, cwd=work, ready_path="/readyz", predict_path="/predict",
                    body_key="records", loads=loads, log=logs / f"{key}.log",
                )
            )  # fmt: skip
    if mlflow is not None:
        python, model = mlflow
        sides.append(
            Side(
                key="mlflow", label="MLflow",
                command=[str(python.parent / "mlflow"), "models", "serve", "-m", model,
                         "--env-manager", "local", "-h", "127.0.0.1", "-p", "{port}"],
                env=peer_env(python), cwd=work, ready_path="/ping", predict_path="/invocations",
                body_key="dataframe_records", loads=keys, log=logs / "mlflow.log",
            )
        )  # fmt: skip
    return sides


# ---------------------------------------------------------------- load (wrk)

LUA = r"""
wrk.method = "POST"
wrk.path = "%(path)s"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%(body)s]==]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(prefix)s{"requests":%%d,"duration_us":%%d,"status_errors":%%d,"connect":%%d,' ..
    '"read":%%d,"write":%%d,"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,' ..
    '"max_us":%%d,"mean_us":%%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
"""


def wrk(side: Side, body: str, concurrency: int, seconds: float, work: Path) -> dict[str, Any]:
    script = work / f"load-{side.key}-{side.port}.lua"
    script.write_text(
        LUA % {"path": side.predict_path, "body": body, "prefix": WRK_PREFIX}, encoding="utf-8"
    )
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout",
               "10s", "-s", str(script), side.url("/")]  # fmt: skip
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(WRK_PREFIX)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(lines[-1][len(WRK_PREFIX) :])
    errors = raw["status_errors"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    ok = max(0, raw["requests"] - raw["status_errors"])
    seconds_run = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "errors": errors,
        "non_2xx": raw["status_errors"],
        "req_s": ok / seconds_run,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "seconds": seconds_run,
    }


# ---------------------------------------------------------------- in-process floor


def floor(info: dict[str, Any], seconds: float) -> dict[str, Any]:
    import joblib
    import pandas as pd

    pipe = joblib.load(info["pipeline"])
    records = json.loads(Path(info["records"]).read_text())
    out: dict[str, Any] = {}
    for n in (1, 100):
        frame = pd.DataFrame(records[:n])
        for _ in range(20):
            pipe.predict_proba(frame)
        calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            pipe.predict_proba(frame)
            calls += 1
        elapsed = time.perf_counter() - started
        out[f"{n}_rows"] = {"calls_s": calls / elapsed, "ms_per_call": elapsed / calls * 1000}
    return out


# ---------------------------------------------------------------- report


def med(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(sides: list[Side], rounds: int) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for side in sides:
        per_load: dict[str, Any] = {}
        for key, runs in side.results.items():
            if key.startswith("_"):
                continue
            good = runs["runs"]
            per_load[key] = {
                "req_s": med([r["req_s"] for r in good]),
                "p99_ms": med([r["p99_ms"] for r in good]),
                "p50_ms": med([r["p50_ms"] for r in good]),
                "errors": sum(r["errors"] for r in good),
                "per_round": [
                    {"req_s": r["req_s"], "p99_ms": r["p99_ms"], "errors": r["errors"]}
                    for r in good
                ],
            }
        table[side.key] = {
            "label": side.label,
            "loads": per_load,
            "cold_start_s": med(runs_of(side, "cold")),
            "rss_mb": med(runs_of(side, "rss")),
            "cold_per_round": runs_of(side, "cold"),
            "rss_per_round": runs_of(side, "rss"),
        }
    return table


def runs_of(side: Side, what: str) -> list[float]:
    return list(side.results.get("_" + what, {}).get("values", []))


def goals(table: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def load(side: str, key: str) -> dict[str, Any] | None:
        s = table.get(side)
        return None if s is None else s["loads"].get(key)

    for key in ("1 rec c=8", "1 rec c=32"):
        a, b = load("steadyml", key), load("bento", key)
        if a and b and a["req_s"] and b["req_s"]:
            ratio = a["req_s"] / b["req_s"]
            out.append({"goal": f"{key}: throughput ≥ {THROUGHPUT_GOAL}× BentoML (batching)",
                        "value": ratio, "text": f"{ratio:.2f}×", "met": ratio >= THROUGHPUT_GOAL,
                        "clean": a["errors"] == 0 and b["errors"] == 0})  # fmt: skip
            pr = a["p99_ms"] / b["p99_ms"]
            out.append({"goal": f"{key}: p99 ≤ BentoML's (batching)", "value": pr,
                        "text": f"{a['p99_ms']:.1f} ms vs {b['p99_ms']:.1f} ms ({pr:.2f}×)",
                        "met": pr <= 1.0, "clean": True})  # fmt: skip
    a, b = load("steadyml", "1 rec c=1"), load("bento_nobatch", "1 rec c=1")
    if a and b and b["req_s"]:
        ratio = a["req_s"] / b["req_s"]
        out.append({"goal": "1 rec c=1: throughput ≥ BentoML (no batching)", "value": ratio,
                    "text": f"{ratio:.2f}×", "met": ratio >= 1.0,
                    "clean": a["errors"] == 0 and b["errors"] == 0})  # fmt: skip
    sa, sb = table.get("steadyml"), table.get("bento")
    if sa and sb and sa["cold_start_s"] and sb["cold_start_s"]:
        ratio = sa["cold_start_s"] / sb["cold_start_s"]
        out.append({"goal": f"cold start ≤ {COLD_GOAL}× BentoML's", "value": ratio,
                    "text": f"{sa['cold_start_s']:.2f} s vs {sb['cold_start_s']:.2f} s "
                    f"({ratio:.2f}×)", "met": ratio <= COLD_GOAL, "clean": True})  # fmt: skip
    if sa and sb and sa["rss_mb"] and sb["rss_mb"]:
        ratio = sa["rss_mb"] / sb["rss_mb"]
        out.append({"goal": "memory ≤ BentoML's", "value": ratio,
                    "text": f"{sa['rss_mb']:.0f} MB vs {sb['rss_mb']:.0f} MB ({ratio:.2f}×)",
                    "met": ratio <= 1.0, "clean": True})  # fmt: skip
    a, f = load("steadyml", "1 rec c=1"), load("floor", "1 rec c=1")
    if a and a["p50_ms"]:
        out.append({"goal": f"1 rec c=1: p50 ≤ {P50_C1_GOAL_MS:g} ms", "value": a["p50_ms"],
                    "text": f"{a['p50_ms']:.2f} ms", "met": a["p50_ms"] <= P50_C1_GOAL_MS,
                    "clean": a["errors"] == 0})  # fmt: skip
    for key, goal in (("1 rec c=1", FLOOR_C1_GOAL), ("1 rec c=32", FLOOR_C32_GOAL)):
        a, f = load("steadyml", key), load("floor", key)
        if a and f and f["req_s"]:
            ratio = a["req_s"] / f["req_s"]
            out.append({"goal": f"{key}: throughput ≥ {goal:g}× the framework floor",
                        "value": ratio, "text": f"{ratio:.2f}× ({a['req_s']:.0f} vs "
                        f"{f['req_s']:.0f} req/s)", "met": ratio >= goal,
                        "clean": a["errors"] == 0 and f["errors"] == 0})  # fmt: skip
    for key, _, _ in LOADS:
        a, b = load("steadyml", key), load("steadyml_nolog", key)
        if a and b and b["req_s"]:
            cost = 1 - a["req_s"] / b["req_s"]
            out.append({"goal": f"{key}: logging costs ≤ {LOG_COST_GOAL:.0%} of throughput",
                        "value": cost, "text": f"{cost:+.1%}", "met": cost <= LOG_COST_GOAL,
                        "clean": a["errors"] == 0 and b["errors"] == 0})  # fmt: skip
    return out


def print_report(report: dict[str, Any]) -> None:
    v, m = report["versions"], report["machine"]
    print(
        f"Serving the churn pipeline ({report['model_type']}): steadyml {v['steadyml']}, "
        f"BentoML {v.get('bentoml', '-')}, MLflow {v.get('mlflow', '-')}"
    )
    print(
        f"machine: {m['cores']} cores, Python {m['python']}; scikit-learn {v['scikit-learn']}; "
        f"wrk {report['wrk']}; {report['rounds']} round(s), {report['seconds']:.0f} s runs "
        f"after {report['warmup']:.0f} s warm-up"
    )
    fl = report["floor"]
    print(
        f"floor (predict_proba in process, no HTTP): 1 row {fl['1_rows']['calls_s']:.0f} calls/s "
        f"({fl['1_rows']['ms_per_call']:.2f} ms), 100 rows {fl['100_rows']['calls_s']:.0f} "
        f"calls/s ({fl['100_rows']['ms_per_call']:.2f} ms)"
    )
    table = report["table"]
    head = f"{'side':<22}" + "".join(f"{k:>24}" for k, _, _ in LOADS)
    print(head + f"{'cold start':>12}{'memory':>10}")
    for s in table.values():
        cells = []
        for key, _, _ in LOADS:
            r = s["loads"].get(key)
            if r is None:
                cells.append(f"{'-':>24}")
                continue
            err = f" ERR{r['errors']}" if r["errors"] else ""
            cells.append(f"{r['req_s']:>8.0f}/s p99 {r['p99_ms']:>6.1f} ms{err:>0}".rjust(24))
        cold = f"{s['cold_start_s']:.2f} s" if s["cold_start_s"] else "-"
        rss = f"{s['rss_mb']:.0f} MB" if s["rss_mb"] else "-"
        print(f"{s['label']:<22}" + "".join(cells) + f"{cold:>12}{rss:>10}")
    if report["rounds"] > 1:
        print("per round (req/s):")
        for s in table.values():
            parts = []
            for key, _, _ in LOADS:
                r = s["loads"].get(key)
                if r:
                    each = " / ".join(f"{x['req_s']:.0f}" for x in r["per_round"])
                    parts.append(f"{key}: {each}")
            print(f"  {s['label']:<22} " + "; ".join(parts))
    print("goals:")
    for g in report["goals"]:
        flag = "met" if g["met"] else "NOT met"
        warn = "" if g["clean"] else "  (runs had errors: see the table)"
        print(f"  {g['goal']:<52} {g['text']:<34} {flag}{warn}")
    for s in report["errors"]:
        print(f"  ! {s}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve predictions: steadyml against BentoML and MLflow (A B A B)."
    )
    parser.add_argument("--rounds", type=int, default=None, help="A B rounds (2; --quick 1)")
    parser.add_argument("--seconds", type=float, default=None, help="measured run (10; quick 5)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up run (2; quick 1)")
    parser.add_argument("--quick", action="store_true", help="1 round, 5 s runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--retrain", action="store_true", help="train the sample project again")
    parser.add_argument(
        "--skip-setup",
        action="store_true",
        help="leave out a peer whose environment is missing instead of making it",
    )
    parser.add_argument("--no-mlflow", action="store_true", help="leave MLflow out")
    parser.add_argument("--no-bento", action="store_true", help="leave BentoML out")
    parser.add_argument(
        "--model", choices=sorted(MODELS), default="linear",
        help="the model family served: linear (default) or hgb (histogram gradient boosting)",
    )  # fmt: skip
    parser.add_argument("--serve-floor", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--floor-records", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)  # fmt: skip
    if args.serve_floor:  # the framework floor's server (started by this script as a side)
        serve_floor(args.serve_floor, args.floor_records)
        return 0
    rounds = args.rounds or (1 if args.quick else 2)
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    warmup = args.warmup or (1.0 if args.quick else 2.0)
    if shutil.which("wrk") is None:
        raise SystemExit("Error: wrk is not installed (Debian: apt-get install wrk).")
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_v = (wrk_version.stdout or wrk_version.stderr).split()[1] if wrk_version else "?"

    info = prepare(args.retrain, args.model)
    versions: dict[str, Any] = {"steadyml": info["steadyml"], **info["versions"]}
    notes: list[str] = []
    bento = None if args.no_bento else ensure_bento_venv(args.skip_setup)
    if bento is not None:
        versions["bentoml"] = versions_in(bento, ["bentoml"])["bentoml"]
        theirs = versions_in(bento, list(SHARED))
        if theirs != info["versions"]:
            notes.append(f"BentoML's environment differs: {theirs}")
    mlflow: tuple[Path, str] | None = None
    if not args.no_mlflow:
        mpy = ensure_mlflow_venv(args.skip_setup)
        if mpy is not None:
            model = log_mlflow_model(mpy, info["pipeline"])
            if model is not None:
                mlflow = (mpy, model)
                versions["mlflow"] = versions_in(mpy, ["mlflow"])["mlflow"]

    records = json.loads(Path(info["records"]).read_text())
    say("In-process floor: predict_proba on 1 and 100 rows")
    fl = floor(info, 1.0 if args.quick else 2.0)

    errors: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="steadyml-serving-bench-") as tmp:
        work = Path(tmp)
        sides: list[Side] = []
        cold: dict[str, list[float]] = {}
        for rnd in range(1, rounds + 1):
            # cold start: each server alone (nothing else running), started and stopped
            for side in make_sides(args, info, fresh_projects(info, work), bento, mlflow):
                say(f"Round {rnd}/{rounds}: cold start of {side.label}")
                try:
                    side.start()
                except RuntimeError as exc:
                    errors.append(str(exc).splitlines()[0])
                    say(str(exc))
                    continue
                finally:
                    side.stop()
                cold.setdefault(side.key, []).append(side.cold_start_s or 0.0)
                say(f"  ready in {side.cold_start_s:.2f} s")
            # loads: every server of the round up, on fresh copies of the project
            round_sides = make_sides(args, info, fresh_projects(info, work), bento, mlflow)
            if not sides:
                sides = round_sides
            else:  # keep the results on the first round's objects
                for old, new in zip(sides, round_sides, strict=True):
                    new.results = old.results
                sides = round_sides
            live: list[Side] = []
            try:
                for side in sides:
                    say(f"Round {rnd}/{rounds}: starting {side.label} for the loads")
                    try:
                        side.start()
                    except RuntimeError as exc:
                        errors.append(str(exc).splitlines()[0])
                        say(str(exc))
                        continue
                    live.append(side)
                for key, n, conc in LOADS:
                    for side in live:
                        if key not in side.loads:
                            continue
                        body = json.dumps({side.body_key: records[:n]})
                        try:
                            wrk(side, body, conc, warmup, work)
                            r = wrk(side, body, conc, seconds, work)
                        except RuntimeError as exc:
                            errors.append(f"{side.label} {key}: {exc}")
                            continue
                        entry = side.results.setdefault(key, {"runs": []})
                        entry["runs"].append(r)
                        err = f", {r['errors']} ERRORS" if r["errors"] else ""
                        say(
                            f"  {key:<12} {side.label:<22} {r['req_s']:>7.0f} req/s  "
                            f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms{err}"
                        )
                        if r["errors"]:
                            errors.append(
                                f"{side.label} {key} round {rnd}: {r['errors']} errors "
                                f"({r['non_2xx']} non-2xx) of {r['requests']}"
                            )
                for side in live:
                    side.rss_mb = tree_rss_mb(side.proc.pid) if side.proc else None
                    side.results.setdefault("_rss", {"values": []})["values"].append(side.rss_mb)
            finally:
                for side in sides:
                    side.stop()
        say(f"Done in {time.perf_counter() - started:.0f} s")
    for side in sides:
        side.results["_cold"] = {"values": cold.get(side.key, [])}

    table = summarise(sides, rounds)
    report = {
        "benchmark": "serving: HTTP predictions on the churn pipeline",
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": versions,
        "wrk": wrk_v,
        "model_type": info["model_type"],
        "rounds": rounds,
        "seconds": seconds,
        "warmup": warmup,
        "floor": fl,
        "table": table,
        "goals": goals(table),
        "errors": errors,
        "notes": notes,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
