"""A candidate that fails never fails a caller: its failure is logged under its version and
route (for the rollout's guardrails) and production answers the canary's records."""

from __future__ import annotations

import time

import pytest
from factories import churn_records
from inprocess import AppMaker

import steadyml


@pytest.mark.slow  # waits for the log writer
def test_a_failing_canary_is_logged_and_production_answers(make_server: AppMaker) -> None:
    # every model call times out (0.2 ms): production's own fallback answers, the candidate's
    # failure is logged as the candidate's
    srv = make_server("\nserving:\n  fallback: {strategy: constant, value: 0, timeout_ms: 0.2}\n")
    with steadyml.open(srv.root, env={}) as project:
        project.set_traffic("canary", challenger=2, percent=50, reason="half to the candidate")
    deadline = time.monotonic() + 10
    while srv.get("/v1/model").json()["traffic"]["mode"] != "canary":
        assert time.monotonic() < deadline, "the server never picked the canary up"
        time.sleep(0.2)
    records = churn_records(srv.root, 40)
    res = srv.post("/v1/predict", json={"records": records},
                   headers={"X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert res.status_code == 200, res.text
    answers = res.json()["results"]
    assert [a["route"] for a in answers] == ["live"] * 40
    assert all(a["model_version"] == 1 for a in answers)
    ids = [a["request_id"] for a in answers]
    deadline = time.monotonic() + 15
    canary: list[steadyml.entities.PredictionRecord] = []
    with steadyml.open(srv.root, env={}) as project:
        while time.monotonic() < deadline and not canary:
            logged = project.store.list_predictions(request_ids=ids)
            canary = [p for p in logged if p.route == "canary"]
            time.sleep(0.2)
    time.sleep(1.5)  # every row of the request is written together
    with steadyml.open(srv.root, env={}) as project:
        canary = [p for p in project.store.list_predictions(request_ids=ids) if p.route == "canary"]
    assert 0 < len(canary) < 40 and {p.model_version for p in canary} == {2}
    assert all(
        p.fallback and "candidate failed: model timed out" in (p.error or "") for p in canary
    )
    assert (
        f'steadyml_fallbacks_total{{reason="candidate"}} {len(canary)}.0'
        in srv.get("/metrics").text
    )
