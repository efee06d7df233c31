"""Two real servers on one PostgreSQL store follow a rollout from shadow to production: both
evaluate it, each step is applied once, every step reaches both within 5 s, and no client
request fails (issue 13)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import churn_records, read_keys
from live_server import Server, start_server
from pg_project import pg_project

import steadyml
from steadyml.store.rollouts import rollouts_of

PLAN = """
retraining:
  rollout_plan:
    hold_minutes: 0.05
    min_requests: 30
    evaluate_every_seconds: 1
"""


def _load(server: Server, stop: threading.Event, out: list[int],
          recs: list[dict[str, Any]]) -> None:  # fmt: skip
    headers = {"X-API-Key": server.keys["predict"]}
    i = 0
    while not stop.is_set():
        try:
            res = server.post("/v1/predict", json={"records": recs[i % 10 : i % 10 + 3]},
                              headers=headers)  # fmt: skip
            out.append(res.status_code)
        except httpx.HTTPError:  # pragma: no cover - reported by the assertions
            out.append(-1)
        i += 1


def _traffic(server: Server) -> tuple[str, float]:
    body = server.get("/v1/model", headers={"X-API-Key": server.keys["admin"]}).json()
    return str(body["traffic"]["mode"]), float(body["traffic"].get("percent") or 0)


@pytest.mark.slow  # two real servers on the test PostgreSQL
@pytest.mark.postgres
def test_two_servers_follow_a_rollout_to_production(
    serving_template: Path, tmp_path: Path, postgres_url: str
) -> None:
    root = pg_project(serving_template, tmp_path, postgres_url, versions=2)
    cfg = root / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + PLAN, encoding="utf-8")
    recs = churn_records(root, 13)
    servers = [start_server(root, read_keys(root)) for _ in range(2)]
    stop = threading.Event()
    out: list[int] = []
    threads = [threading.Thread(target=_load, args=(s, stop, out, recs)) for s in servers]
    try:
        for t in threads:
            t.start()
        with steadyml.open(root, env={}) as project:
            project.start_rollout(2, reason="two servers", by="tests")
        seen: dict[tuple[str, float], list[float]] = {}
        started = time.monotonic()
        while time.monotonic() - started < 120:
            with steadyml.open(root, env={}) as project:
                policy = project.traffic()
                production = project.production()
            want = (policy.mode, float(policy.percent))
            lag = time.monotonic()
            moved_on = False  # the next step came before both servers showed this one
            while time.monotonic() - lag < 5 and any(_traffic(s) != want for s in servers):
                with steadyml.open(root, env={}) as project:
                    now = project.traffic()
                if (now.mode, float(now.percent)) != want:
                    moved_on = True
                    break
                time.sleep(0.1)
            if not moved_on:
                seen.setdefault(want, []).append(time.monotonic() - lag)
            if production is not None and production.version == 2:
                break
            time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join()
        with steadyml.open(root, env={}) as project:
            rollout = rollouts_of(project.store).latest_rollout()
        assert production is not None and production.version == 2, (seen, rollout.reason)
        lag = time.monotonic()  # the promotion reaches both servers within 5 s
        while time.monotonic() - lag < 5 and any(_traffic(s) != ("production", 0.0)
                                                 for s in servers):  # fmt: skip
            time.sleep(0.1)
        assert all(_traffic(s) == ("production", 0.0) for s in servers)
        assert all(s.get("/ready").json().get("model_version") == 2 for s in servers)
        assert all(max(lags) < 5 for lags in seen.values()), seen
        assert out and set(out) == {200}, sorted(set(out))
        with steadyml.open(root, env={}) as project:
            events = [e.action for e in project.deployment_events()
                      if e.action.startswith("rollout")]  # fmt: skip
        assert events == ["rollout:shadow", "rollout:canary", "rollout:canary",
                          "rollout:promote"]  # fmt: skip
    finally:
        stop.set()
        for s in servers:
            s.stop()
