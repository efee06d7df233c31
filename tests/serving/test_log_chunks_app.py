"""Logging in chunks (the path busy traffic takes): every answer is found in the log, refused
records still go to the SQL log with their reason, labels find chunked answers, no raw
personal data is stored (in process); and a SIGTERM writes what was gathered (a real
uvicorn process)."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from factories import churn_records, copy_project, read_keys
from inprocess import QUICK, AppMaker
from live_server import Server, start_server, store_dump

import steadyml

CHUNK_EVERY_ROW = replace(QUICK, log_chunk_min_rows=1)  # as `steadyml serve --log-chunk-min-rows 1`


@pytest.fixture
def chunking_live_server(serving_template: Path, tmp_path: Path) -> Iterator[Server]:
    root = copy_project(serving_template, tmp_path)
    srv = start_server(root, read_keys(root), "--log-chunk-min-rows", "1")
    yield srv
    srv.stop()


def test_answers_logged_in_chunks_are_found_labelled_and_scrubbed(
    make_server: AppMaker,
) -> None:
    srv = make_server(settings=CHUNK_EVERY_ROW)
    headers = {"X-API-Key": srv.keys["predict"]}
    recs = churn_records(srv.root, 30, start=200)
    ids: list[str] = []
    for i in range(0, 30, 10):
        res = srv.post("/v1/predict", json={"records": recs[i : i + 10]}, headers=headers)
        assert res.status_code == 200, res.text
        ids += [r["request_id"] for r in res.json()["results"]]
    bad = dict(recs[0], tenure_months="long")
    refused = srv.post("/v1/predict", json={"records": [bad]}, headers=headers)
    assert refused.status_code == 422

    deadline = time.monotonic() + 20
    with steadyml.open(srv.root, env={}) as project:
        while time.monotonic() < deadline:
            found = project.store.list_predictions(limit=1000, request_ids=ids)
            if len(found) == len(ids):
                break
            time.sleep(0.2)
        assert sorted(p.request_id for p in found) == sorted(ids)
        assert project.store.list_prediction_files(inline=True)  # they went to chunks
        assert all(p.route == "live" and p.model_version == 1 for p in found)
        assert project.store.count_predictions(answered=False) >= 1  # the refused record

    fb = srv.post("/v1/feedback",
                    json={"labels": [{"request_id": ids[3], "label": 1},
                                     {"request_id": ids[29], "label": 0},
                                     {"request_id": "0" * 32, "label": 0}]},
                    headers={"X-API-Key": srv.keys["feedback"]})  # fmt: skip
    assert fb.status_code == 200, fb.text
    assert fb.json()["unknown_request_ids"] == ["0" * 32]

    raw = [r["email"] for r in recs] + [r["phone"] for r in recs]
    for table, dump in store_dump(srv.root).items():
        for value in raw:
            assert value not in dump, f"{value!r} found in table {table}"


@pytest.mark.slow  # a real process, stopped by a signal
def test_sigterm_writes_the_gathered_chunk(chunking_live_server: Server) -> None:
    srv = chunking_live_server
    headers = {"X-API-Key": srv.keys["predict"]}
    recs = churn_records(srv.root, 20, start=300)
    res = srv.post("/v1/predict", json={"records": recs}, headers=headers)
    ids = [r["request_id"] for r in res.json()["results"]]
    # at once, before the chunk went out; uvicorn re-raises SIGTERM after a graceful stop
    assert srv.stop(signal.SIGTERM) in (0, -signal.SIGTERM), srv.output()
    with steadyml.open(srv.root, env={}) as project:
        found = project.store.list_predictions(limit=1000, request_ids=ids)
    assert sorted(p.request_id for p in found) == sorted(ids)
