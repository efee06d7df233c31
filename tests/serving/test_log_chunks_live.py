"""A real server logging in chunks (the path busy traffic takes): every answer is found in the
log, refused records still go to the SQL log with their reason, labels find chunked answers,
no raw personal data is stored, and a SIGTERM writes what was gathered."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live_server import Server, start_server, store_dump

import steadyml


@pytest.fixture
def chunking_server(serving_template: Path, tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "churn"
    shutil.copytree(serving_template, root)
    keys = dict(line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
    srv = start_server(root, keys, "--log-chunk-min-rows", "1")
    yield srv
    srv.stop()


def _records(root: Path, n: int, start: int) -> list[dict[str, Any]]:
    with steadyml.open(root, env={}) as project:
        frame = project.load_snapshot(1).iloc[start : start + n]
    out = []
    for row in frame.drop(columns=["churned", "cancellation_reason"]).to_dict(orient="records"):
        out.append({k: (v.isoformat() if hasattr(v, "isoformat") else None if v != v else
                        v.item() if hasattr(v, "item") else v) for k, v in row.items()})  # fmt: skip
    return out


def test_answers_logged_in_chunks_are_found_labelled_and_scrubbed(
    chunking_server: Server,
) -> None:
    srv = chunking_server
    headers = {"X-API-Key": srv.keys["predict"]}
    recs = _records(srv.root, 30, start=200)
    ids: list[str] = []
    for i in range(0, 30, 10):
        res = httpx.post(f"{srv.url}/v1/predict", json={"records": recs[i : i + 10]},
                         headers=headers, timeout=30)  # fmt: skip
        assert res.status_code == 200, res.text
        ids += [r["request_id"] for r in res.json()["results"]]
    bad = dict(recs[0], tenure_months="long")
    refused = httpx.post(f"{srv.url}/v1/predict", json={"records": [bad]}, headers=headers,
                         timeout=30)  # fmt: skip
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

    fb = httpx.post(f"{srv.url}/v1/feedback",
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


def test_sigterm_writes_the_gathered_chunk(chunking_server: Server) -> None:
    srv = chunking_server
    headers = {"X-API-Key": srv.keys["predict"]}
    recs = _records(srv.root, 20, start=300)
    res = httpx.post(f"{srv.url}/v1/predict", json={"records": recs}, headers=headers,
                     timeout=30)  # fmt: skip
    ids = [r["request_id"] for r in res.json()["results"]]
    # at once, before the chunk went out; uvicorn re-raises SIGTERM after a graceful stop
    assert srv.stop(signal.SIGTERM) in (0, -signal.SIGTERM), srv.output()
    with steadyml.open(srv.root, env={}) as project:
        found = project.store.list_predictions(limit=1000, request_ids=ids)
    assert sorted(p.request_id for p in found) == sorted(ids)
