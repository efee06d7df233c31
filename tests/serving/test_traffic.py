"""Canary and shadow traffic, picked up from the store while the app serves (in process)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from factories import churn_records as records_of

import steadyml

Server = Any  # inprocess.AppServer (the fixtures live in conftest.py)


def churn_records(server: Server, n: int, start: int = 0) -> list[dict[str, Any]]:
    return records_of(server.root, n, start)


def predict(server: Server, recs: list[dict[str, Any]]) -> httpx.Response:
    headers = {"X-API-Key": server.keys["predict"]}
    return server.post("/v1/predict", json={"records": recs}, headers=headers)


def wait_for_mode(server: Server, mode: str) -> None:
    """Until the server has picked the traffic policy up from the store (it polls)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if server.get("/v1/model").json()["traffic"]["mode"] == mode:
            break
        time.sleep(0.2)


def test_canary_share_is_within_tolerance_and_sticky(fresh_server: Server) -> None:
    with steadyml.open(fresh_server.root, env={}) as project:
        project.set_traffic("canary", challenger=2, percent=20, sticky_by="customer_id",
                            reason="try v2 on a fifth")  # fmt: skip
    recs = churn_records(fresh_server, 600)
    wait_for_mode(fresh_server, "canary")
    routes: dict[str, str] = {}
    for i in range(0, 600, 100):
        for rec, res in zip(recs[i : i + 100], predict(fresh_server, recs[i : i + 100]).json()
                            ["results"], strict=True):  # fmt: skip
            assert res["route"] in ("live", "canary")
            assert res["model_version"] == (2 if res["route"] == "canary" else 1)
            previous = routes.setdefault(rec["customer_id"], res["route"])
            assert previous == res["route"]  # the same customer always gets the same model
    share = sum(1 for r in routes.values() if r == "canary") / len(routes)
    assert 0.12 <= share <= 0.28, share


@pytest.mark.slow  # waits for the store watcher
def test_shadow_answers_are_logged_but_never_returned(fresh_server: Server) -> None:
    with steadyml.open(fresh_server.root, env={}) as project:
        project.set_traffic("shadow", challenger=2, reason="compare quietly")
    wait_for_mode(fresh_server, "shadow")
    ids = []
    for i in range(5):
        body = predict(fresh_server, churn_records(fresh_server, 20, start=20 * i)).json()
        assert {(r["route"], r["model_version"]) for r in body["results"]} == {("live", 1)}
        ids += [r["request_id"] for r in body["results"]]
    deadline = time.monotonic() + 15
    shadow = []
    with steadyml.open(fresh_server.root, env={}) as project:
        while time.monotonic() < deadline:
            logged = project.store.list_predictions(limit=10_000, request_ids=ids)
            shadow = [p for p in logged if p.route == "shadow"]
            if len(shadow) == len(ids):
                break
            time.sleep(0.3)
    assert len(shadow) == len(ids)
    assert {p.model_version for p in shadow} == {2}
