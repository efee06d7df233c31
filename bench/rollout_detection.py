"""Detection time of a bad candidate: from its first canary request to production-only traffic
(goal: within one evaluation interval plus 5 s), at 5 and at 50 requests a second.

A real ``steadyml serve`` on 127.0.0.1 over a small trained churn project; a load generator
sends one record per request at a steady rate (open loop: each request at its planned time,
on several threads); a rollout of a deliberately bad candidate starts straight at a 10 %
canary (plan ``steps: [10, 50]``, the default ``min_requests`` of 500 and hold of 30 min, so
only an early failure on decisive evidence can stop it in time). The server's own evaluator
rolls it back. Measured from the prediction log, where the server writes each record's time
and route: the first record the canary was given, and the last one (after it, every record
goes to production: production-only traffic). Also shown: when the rollback was committed.

Candidates (``--kinds``):

* ``errors``: the production model behind a step that raises on every call (callers never
  see it: production answers the canary's records; the guardrail counts the failures);
* ``flipped``: a model trained on the labels flipped, answering the opposite of production;
* ``flipped-shadow``: the same in a shadow step (plan ``steps: [0, 10, 50]``): from its first
  shadow answer to the rollback (no caller gets its answers at any time).

The first evaluation after the canary starts falls anywhere in the interval (the server
evaluates on its own clock), so one measurement lies between the time the evidence needs and
that plus one interval.

    .venv/bin/python bench/rollout_detection.py                      # interval 30 s
    .venv/bin/python bench/rollout_detection.py --interval 10 --rates 5 --kinds errors
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

import steadyml
from steadyml.store.rollouts import rollouts_of

CAP_S = 120.0  # the longest one measurement may run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_project(root: Path, interval: float) -> tuple[dict[str, int], dict[str, str],
                                                      list[dict[str, Any]]]:  # fmt: skip
    """A trained churn project (v1 in production), the bad candidates, an API key, records."""
    import pandas as pd
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from steadyml.flows.plan import init_from_template
    from steadyml.registry import load_bundle
    from steadyml.registry.bundle import dump_bundle

    init_from_template(root, "churn", n_customers=1500, months=4)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    text = text.replace("min_metric: 0.75", "min_metric: 0.6")
    cfg.write_text(text + f"""
retraining:
  rollout_plan:
    steps: [10, 50]
    evaluate_every_seconds: {interval:g}
""", encoding="utf-8")  # fmt: skip
    candidates: dict[str, int] = {}
    with steadyml.open(root, env={}) as project:
        project.train()
        project.promote(1, "production", reason="bench", by="bench")
        keys = {"predict": project.create_key("bench", ["predict"])[0],
                "admin": project.create_key("bench-ops", ["admin"])[0]}  # fmt: skip
        frame = project.load_snapshot(1).iloc[:200]
        source = project.load_data().frame.iloc[:200]
        frame = frame.assign(**{c: source[c].to_numpy() for c in project.config.data.columns.pii})
        records = []
        for row in frame.drop(columns=["churned", "cancellation_reason"],
                              errors="ignore").to_dict(orient="records"):  # fmt: skip
            records.append({k: (None if not isinstance(v, str) and pd.isna(v) else
                                v.isoformat() if hasattr(v, "isoformat") else
                                v.item() if hasattr(v, "item") else v)
                            for k, v in row.items()})  # fmt: skip
        v1 = project.store.get_model_version(1)

        def register(digest: str, size: int, model_type: str) -> int:
            return int(project.store.add_model_version(
                run_number=v1.run_number, artifact_digest=digest, size_bytes=size,
                model_type=model_type, task=v1.task, gates_passed=True,
                features=list(v1.features), dataset_version=v1.dataset_version,
                primary_metric=v1.primary_metric, primary_value=v1.primary_value,
                contract=dict(v1.contract), reference=dict(v1.reference),
            ).version)  # fmt: skip

        bundle = load_bundle(project.artifacts, v1)
        bundle.pipeline = Pipeline([("broken", FunctionTransformer(int)),
                                    ("model", bundle.pipeline)])  # fmt: skip
        bundle.version = None
        data = dump_bundle(bundle)
        candidates["errors"] = register(project.artifacts.put_bytes(data), len(data), "broken")
        # flipped: trained by the same pipeline on the labels flipped
        path = root / "data" / "churn.csv"
        original = pd.read_csv(path)
        flipped = original.copy()
        flipped["churned"] = 1 - flipped["churned"]
        flipped.to_csv(path, index=False)
        project.snapshot()
        run = project.train(force=True)
        original.to_csv(path, index=False)
        mv = run.model_version
        assert mv is not None
        candidates["flipped"] = register(mv.artifact_digest, mv.size_bytes, mv.model_type)
    return candidates, keys, records


class Load:
    """One record per request at ``rate`` a second, each at its planned time, on threads."""

    def __init__(self, url: str, key: str, records: list[dict[str, Any]], rate: float) -> None:
        self.url, self.key, self.records, self.rate = url, key, records, rate
        self.stop = threading.Event()
        self.statuses: list[int] = []
        self.late = 0
        self.threads = [threading.Thread(target=self._run, args=(i, n), daemon=True)
                        for n in [max(1, math.ceil(rate / 8))] for i in range(n)]  # fmt: skip

    def _run(self, i: int, n: int) -> None:
        every = n / self.rate
        at = time.monotonic() + i * every / n
        k = i
        with httpx.Client(timeout=30, headers={"X-API-Key": self.key}) as client:
            while not self.stop.is_set():
                wait = at - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -every:
                    self.late += 1
                rec = self.records[k % len(self.records)]
                try:
                    res = client.post(f"{self.url}/v1/predict", json={"records": [rec]})
                    self.statuses.append(res.status_code)
                except httpx.HTTPError:
                    self.statuses.append(-1)
                k += n
                at += every

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def _log_times(root: Path, version: int, since: dt.datetime,
               route: str) -> tuple[dt.datetime | None, dt.datetime | None, int]:  # fmt: skip
    from steadyml.predlog import read_log

    first = last = None
    n = 0
    with steadyml.open(root, env={}) as project:
        for frame in read_log(project.store, project.artifacts, since=since,
                              model_version=version, columns=["route", "at"]):  # fmt: skip
            mine = frame[frame["route"].astype(str) == route]
            if mine.empty:
                continue
            n += len(mine)
            lo, hi = mine["at"].min().to_pydatetime(), mine["at"].max().to_pydatetime()
            first = lo if first is None or lo < first else first
            last = hi if last is None or hi > last else last
    return first, last, n


def _production_only_at(url: str, admin: str) -> dt.datetime:
    """When the server says its traffic is production only (polled every 50 ms)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/v1/model", headers={"X-API-Key": admin}, timeout=10).json()
        if body["traffic"]["mode"] == "production":
            break
        time.sleep(0.05)
    return dt.datetime.now(dt.UTC)


def measure(root: Path, url: str, keys: dict[str, str], records: list[dict[str, Any]],
            version: int, rate: float, shadow: bool) -> dict[str, Any]:  # fmt: skip
    key, admin = keys["predict"], keys["admin"]
    route = "shadow" if shadow else "canary"
    with steadyml.open(root, env={}) as project:
        project.config.retraining.rollout_plan.steps = [0.0, 10.0, 50.0] if shadow else [10.0, 50.0]
        with Load(url, key, records, rate) as load:
            time.sleep(3)  # steady traffic first
            started = dt.datetime.now(dt.UTC)
            project.start_rollout(version, reason="detection benchmark", by="bench")
            t0 = time.monotonic()
            state = "running"
            while state == "running" and time.monotonic() - t0 < CAP_S:
                time.sleep(0.2)
                state = rollouts_of(project.store).latest_rollout().status
            if state == "running":
                project.abort_rollout(reason="benchmark cap reached", by="bench")
            switched = _production_only_at(url, admin)
            time.sleep(3)  # a few production-only seconds, then stop
        rollout = rollouts_of(project.store).latest_rollout()
    time.sleep(2.5)  # the server writes its log within about a second
    first, last, n = _log_times(root, version, started, route)
    out: dict[str, Any] = {"state": state, "requests": len(load.statuses),
                           "failed": sum(1 for s in load.statuses if s != 200),
                           "late": load.late, "candidate_rows": n,
                           "reason": rollout.reason or ""}  # fmt: skip
    if first is not None and last is not None and state == "rolled_back":
        out["detect_s"] = ((rollout.finished_at or last) - first).total_seconds()
        # from then on every answer is production's: the server follows the rollback (its
        # /v1/model says production only) and no record went to the candidate after it
        out["production_only_s"] = (max(last, switched) - first).total_seconds()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=30.0,
                        help="evaluate_every_seconds (default 30, the plan's default)")  # fmt: skip
    parser.add_argument("--rates", default="5,50", help="requests a second, comma-separated")
    parser.add_argument("--kinds", default="errors,flipped,flipped-shadow")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    kinds = args.kinds.split(",")
    goal = args.interval + 5
    tmp = Path(tempfile.mkdtemp(prefix="steadyml-detect-"))
    root = tmp / "churn"
    proc = None
    try:
        candidates, keys, records = make_project(root, args.interval)
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
        log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed in finally
        proc = subprocess.Popen(
            [sys.executable, "-m", "steadyml.serving", "--project", str(root), "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        print(f"Evaluation interval {args.interval:g} s: goal {goal:g} s (interval + 5 s); "
              f"min_requests 500 per arm; {os.cpu_count()} CPUs.")  # fmt: skip
        worst = 0.0
        for kind in kinds:
            version = candidates[kind.removesuffix("-shadow")]
            for rate in rates:
                shadow = kind.endswith("-shadow")
                got = measure(root, url, keys, records, version, rate, shadow)
                where = "first shadow answer" if shadow else "first canary request"
                said = f"{kind:>14} at {rate:>4g} req/s: "
                if "detect_s" in got:
                    ratio = got["production_only_s"] / goal
                    worst = max(worst, ratio)
                    said += (f"{where} -> production-only traffic {got['production_only_s']:.1f} s "
                             f"(rollback committed at {got['detect_s']:.1f} s), "
                             f"{ratio:.2f}x the goal")  # fmt: skip
                else:
                    worst = math.inf
                    said += f"not rolled back within {CAP_S:g} s ({got['state']})"
                said += (f"; {got['candidate_rows']} {where.split()[1]} rows, "
                         f"{got['requests']} requests, {got['failed']} failed, "
                         f"{got['late']} sent late")  # fmt: skip
                print(said, flush=True)
                check = got["reason"].split(": ", 1)[-1][:160]
                print(f"{'':>16}{check}", flush=True)
        print(f"Worst ratio to the goal: {worst:.2f}x.")
        return 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
