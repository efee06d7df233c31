"""The fallback answers when the model is too slow, and says so: response, log, metrics
(the whole app, in process, with the project file's serving.fallback)."""

from __future__ import annotations

import time

from factories import churn_records
from inprocess import AppMaker

import steadyml


def test_a_slow_model_gets_the_constant_fallback_flagged_everywhere(
    make_server: AppMaker,
) -> None:
    srv = make_server("\nserving:\n  fallback: {strategy: constant, value: 0, timeout_ms: 0.2}\n")
    res = srv.post("/v1/predict", json={"records": churn_records(srv.root, 1)},
                   headers={"X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert res.status_code == 200, res.text
    (answer,) = res.json()["results"]
    assert answer["fallback"] is True and answer["prediction"] == 0
    assert "timed out" in answer["fallback_reason"]
    metrics = srv.get("/metrics").text
    assert 'steadyml_fallbacks_total{reason="timeout"} 1.0' in metrics
    deadline = time.monotonic() + 15
    logged = []
    with steadyml.open(srv.root, env={}) as project:
        while time.monotonic() < deadline and not logged:
            logged = project.store.list_predictions(request_ids=[answer["request_id"]])
            time.sleep(0.2)
    assert logged and logged[0].fallback is True
    assert "timed out" in (logged[0].error or "")


def test_without_a_fallback_a_slow_model_is_a_clear_503(make_server: AppMaker) -> None:
    srv = make_server("\nserving:\n  fallback: {strategy: error, timeout_ms: 0.2}\n")
    res = srv.post("/v1/predict", json={"records": churn_records(srv.root, 1)},
                   headers={"X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert res.status_code == 503
    body = res.json()
    assert body["ok"] is False and "no fallback is configured" in body["error"]
    assert body["request_id"]
