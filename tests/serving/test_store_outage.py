"""A database outage under a real server: answers go on from memory (cached models and API
keys), the log waits in memory, /ready says so, and once the database is back every answered
prediction is in the log exactly once. The database is a cluster of the test's own, stopped
and started again under the server."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import churn_records, read_keys
from inprocess import QUICK, start_app
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
            labels = {"labels": [{"request_id": "r-unknown", "label": 1}]}
            feedback = {"X-API-Key": server.keys["feedback"]}
            assert server.post("/v1/feedback", json=labels, headers=feedback).status_code == 200
            cluster.stop()
            down_at = len(out)
            deadline = time.monotonic() + 15
            ready = server.get("/ready")
            while ready.status_code == 200 and time.monotonic() < deadline:
                time.sleep(0.2)
                ready = server.get("/ready")
            assert ready.status_code == 503, ready.text
            assert "database unreachable since" in ready.json()["log"]
            never_used = server.post("/v1/predict", json={"records": recs[:1]},
                                     headers={"X-API-Key": server.keys["admin"]})  # fmt: skip
            assert never_used.status_code == 503, never_used.text
            assert "cannot be reached" in never_used.json()["error"]
            late = server.post("/v1/feedback", json=labels, headers=feedback)
            assert late.status_code == 503, late.text
            assert "labels were not stored" in late.json()["error"]
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
        _logged_once(root, answered)
        assert "Traceback" not in server.output(), server.output()[-3000:]


def _logged_once(root: Path, answered: list[str]) -> None:
    with steadyml.open(root, env={}) as project:
        logged = collections.Counter(
            p.request_id for p in project.store.list_predictions(limit=1_000_000)
        )
    missing = [i for i in answered if logged[i] == 0]
    twice = [i for i in answered if logged[i] > 1]
    assert not missing, f"{len(missing)} of {len(answered)} answered predictions not logged"
    assert not twice, f"{len(twice)} answered predictions logged more than once"


@pytest.mark.slow  # an app on a PostgreSQL cluster stopped and started under it
def test_a_full_log_buffer_refuses_new_predictions(serving_template: Path, tmp_path: Path) -> None:
    """At ``log_buffer_rows`` rows waiting through an outage, predictions get a 503 that says
    why (an answer then could not be logged); when the database is back they are answered
    again and every earlier answer is in the log."""
    with own_cluster() as cluster:
        root = pg_project(serving_template, tmp_path, cluster.url)
        recs = churn_records(root, 5)
        app = start_app(root, read_keys(root), dataclasses.replace(QUICK, log_buffer_rows=30))
        headers = {"X-API-Key": app.keys["predict"]}
        answered: list[str] = []
        try:

            def predict() -> httpx.Response:
                res = app.post("/v1/predict", json={"records": recs[:1]}, headers=headers)
                if res.status_code == 200:
                    answered.extend(r["request_id"] for r in res.json()["results"])
                return res

            assert predict().status_code == 200
            cluster.stop()
            refused = None
            deadline = time.monotonic() + 20
            while refused is None and time.monotonic() < deadline:
                res = predict()
                if res.status_code != 200:
                    refused = res
                time.sleep(0.01)
            assert refused is not None and refused.status_code == 503, refused
            assert "log_buffer_rows" in refused.json()["error"], refused.text
            assert 30 <= len(answered) < 60
            cluster.start()
            deadline = time.monotonic() + 30
            while app.get("/ready").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert predict().status_code == 200
        finally:
            app.stop()
        _logged_once(root, answered)
