"""A database outage under a real server: answers go on from memory (cached models and API
keys), the log waits in memory, /ready says so, and once the database is back every answered
prediction is in the log exactly once. The database is a cluster of the test's own, stopped
and started again under the server."""

from __future__ import annotations

import collections
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import churn_records, read_keys
from live_server import Server, start_server
from pg_cluster import own_cluster
from pg_project import pg_project

import steadyml


def _load(server: Server, stop: threading.Event, out: list[tuple[int, list[str], str]],
          recs: list[dict[str, Any]]) -> None:  # fmt: skip
    headers = {"X-API-Key": server.keys["predict"]}
    i = 0
    while not stop.is_set():
        try:
            res = server.post("/v1/predict", json={"records": [recs[i % len(recs)]]},
                              headers=headers)  # fmt: skip
        except httpx.HTTPError as exc:  # pragma: no cover - reported by the assertions
            out.append((-1, [], repr(exc)))
            continue
        body = res.json()
        ids = [r["request_id"] for r in body.get("results", [])] if res.status_code == 200 else []
        out.append((res.status_code, ids, "" if res.status_code == 200 else res.text))
        i += 1
        time.sleep(0.005)


@pytest.mark.slow  # a real server and a PostgreSQL cluster stopped and started under it
def test_an_outage_loses_no_answered_prediction(serving_template: Path, tmp_path: Path) -> None:
    with own_cluster() as cluster:
        root = pg_project(serving_template, tmp_path, cluster.url)
        recs = churn_records(root, 20)
        server = start_server(root, read_keys(root), "--log-chunk-min-rows", "20")
        try:
            stop = threading.Event()
            out: list[tuple[int, list[str], str]] = []
            threads = [threading.Thread(target=_load, args=(server, stop, out, recs))
                       for _ in range(3)]  # fmt: skip
            for t in threads:
                t.start()
            time.sleep(1.5)
            cluster.stop()
            down_at = len(out)
            deadline = time.monotonic() + 15
            ready = server.get("/ready")
            while ready.status_code == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                ready = server.get("/ready")
            assert ready.status_code == 503, ready.text
            assert "database unreachable since" in ready.json()["log"]
            time.sleep(4)
            metrics = server.get("/metrics").text
            assert "steadyml_prediction_log_buffered" in metrics
            answered_down = len(out) - down_at
            cluster.start()
            deadline = time.monotonic() + 30
            while server.get("/ready").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert server.get("/ready").status_code == 200
            time.sleep(1)
            stop.set()
            for t in threads:
                t.join(60)
        finally:
            server.stop()
        statuses = collections.Counter(code for code, _, _ in out)
        assert answered_down > 10, statuses  # requests really were answered in the outage
        assert set(statuses) == {200}, [text for code, _, text in out if code != 200][:3]
        answered = [i for _, ids, _ in out for i in ids]
        with steadyml.open(root, env={}) as project:
            logged = collections.Counter(
                p.request_id for p in project.store.list_predictions(limit=1_000_000)
            )
        missing = [i for i in answered if logged[i] == 0]
        twice = [i for i in answered if logged[i] > 1]
        assert not missing, f"{len(missing)} of {len(answered)} answered predictions not logged"
        assert not twice, f"{len(twice)} answered predictions logged more than once"
        assert "Traceback" not in server.output(), server.output()[-3000:]
