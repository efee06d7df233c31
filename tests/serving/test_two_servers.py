"""Two real servers on one PostgreSQL store and one artifact folder, as behind a load
balancer: promotion, rollback and traffic changes reach both within seconds; every answered
prediction is logged exactly once while compaction merges chunks beside the writers; a label
posted to one server finds a prediction the other answered."""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import churn_records, read_keys
from live_server import Server, start_server
from pg_project import pg_project

import steadyml
from steadyml.predlog import compact_log


def _load(server: Server, stop: threading.Event, out: list[tuple[str, int, list[str]]],
          recs: list[dict[str, Any]]) -> None:  # fmt: skip
    headers = {"X-API-Key": server.keys["predict"]}
    i = 0
    while not stop.is_set():
        try:
            res = server.post("/v1/predict", json={"records": recs[i % 10 : i % 10 + 3]},
                              headers=headers)  # fmt: skip
        except httpx.HTTPError:  # pragma: no cover - reported by the assertions
            out.append((server.url, -1, []))
            continue
        ids = [r["request_id"] for r in res.json()["results"]] if res.status_code == 200 else []
        out.append((server.url, res.status_code, ids))
        i += 1


def _within(seconds: float, done: Callable[[], bool]) -> float | None:
    """How long until ``done()`` held (checked every 0.1 s); None when it did not in time."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if done():
            return time.monotonic() - started
        time.sleep(0.1)
    return None


def _version(server: Server) -> int | None:
    return server.get("/ready").json().get("model_version")  # type: ignore[no-any-return]


def _traffic(server: Server) -> str:
    body = server.get("/v1/model", headers={"X-API-Key": server.keys["admin"]}).json()
    return str(body["traffic"]["mode"])


@pytest.mark.slow  # two real servers on the test PostgreSQL
@pytest.mark.postgres
def test_two_servers_share_one_store(
    serving_template: Path, tmp_path: Path, postgres_url: str
) -> None:
    root = pg_project(serving_template, tmp_path, postgres_url, versions=2)
    recs = churn_records(root, 13)
    a = start_server(root, read_keys(root), "--log-chunk-min-rows", "10")
    b = start_server(root, read_keys(root), "--log-chunk-min-rows", "10")
    servers = [a, b]
    stop = threading.Event()
    try:
        out: list[tuple[str, int, list[str]]] = []
        compacted: list[int] = []

        failures: list[BaseException] = []

        def compact() -> None:  # every chunk is "old": merge whatever the writers wrote
            try:
                with steadyml.open(root, env={}) as project:
                    while not stop.is_set():
                        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
                        compacted.append(compact_log(project.store, older_than=later).merged)
                        time.sleep(0.3)
            except BaseException as exc:  # reported by the test, not lost in the thread
                failures.append(exc)

        threads = [threading.Thread(target=_load, args=(s, stop, out, recs), daemon=True)
                   for s in servers]  # fmt: skip
        threads.append(threading.Thread(target=compact, daemon=True))
        for t in threads:
            t.start()
        time.sleep(1.5)
        with steadyml.open(root, env={}) as project:
            project.promote(2, "production", reason="both servers", by="test")
            took = [_within(5, lambda s=s: _version(s) == 2) for s in servers]
            assert None not in took, took
            project.rollback(reason="back again", by="test")
            took = [_within(5, lambda s=s: _version(s) == 1) for s in servers]
            assert None not in took, took
            project.set_traffic("canary", challenger=2, percent=50, reason="try", by="test")
            took = [_within(5, lambda s=s: _traffic(s) == "canary") for s in servers]
            assert None not in took, took
            project.set_traffic("production", reason="done", by="test")
            took = [_within(5, lambda s=s: _traffic(s) == "production") for s in servers]
            assert None not in took, took
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(60)
        assert not failures, failures
        statuses = collections.Counter(code for _, code, _ in out)
        assert set(statuses) == {200}, statuses
        by_a = [i for url, _, ids in out if url == a.url for i in ids]
        assert by_a and any(url == b.url for url, _, _ in out)
        with steadyml.open(root, env={}) as project:  # a's log written: a second or so
            assert _within(10, lambda: len(project.store.list_predictions(
                limit=10, request_ids=by_a[-5:])) == 5) is not None  # fmt: skip
        labels = [{"request_id": i, "label": 1} for i in by_a[:20] + by_a[-5:]]
        res = b.post("/v1/feedback", json={"labels": labels},
                     headers={"X-API-Key": b.keys["feedback"]})  # fmt: skip
        assert res.status_code == 200, res.text
        assert res.json()["unknown_request_ids"] == []
    finally:
        stop.set()
        for s in servers:
            s.stop()
    for s in servers:
        assert "Traceback" not in s.output(), s.output()[-3000:]
    answered = [i for _, _, ids in out for i in ids]
    with steadyml.open(root, env={}) as project:
        logged = collections.Counter(
            p.request_id for p in project.store.list_predictions(limit=1_000_000)
        )
    assert sum(compacted) > 0  # compaction did merge chunks while the servers wrote
    missing = [i for i in answered if logged[i] == 0]
    twice = [i for i in answered if logged[i] > 1]
    assert not missing, f"{len(missing)} of {len(answered)} answered predictions not logged"
    assert not twice, f"{len(twice)} answered predictions logged more than once"
