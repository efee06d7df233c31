"""The prediction service over HTTP, in process: validation, auth, logging, feedback, the
operations endpoints and the OpenAPI document (the whole app, its lifespan running)."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from factories import churn_records
from live_server import store_dump

import steadyml

Server = Any  # inprocess.AppServer (the fixtures live in conftest.py)


def records(server: Server, n: int = 3, start: int = 0) -> list[dict[str, Any]]:
    return churn_records(server.root, n, start)


def post(server: Server, body: Any, key: str | None = "predict", **kw: Any) -> httpx.Response:
    headers = {} if key is None else {"X-API-Key": server.keys[key]}
    if isinstance(body, (bytes, str)):
        headers["Content-Type"] = "application/json"
        return server.post("/v1/predict", content=body, headers=headers)
    return server.post("/v1/predict", json=body, headers=headers, **kw)


def wait_logged(server: Server, request_ids: list[str], timeout: float = 15) -> set[str]:
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    with steadyml.open(server.root, env={}) as project:
        while time.monotonic() < deadline:
            found = {p.request_id for p in project.store.list_predictions(
                limit=100_000, request_ids=request_ids)}  # fmt: skip
            if found >= set(request_ids):
                break
            time.sleep(0.2)
    return found


def test_valid_records_get_predictions_and_are_logged(server: Server) -> None:
    res = post(server, {"records": records(server, 3)})
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["ok"] is True and body["model_version"] == 1
    assert len(body["results"]) == 3
    for r in body["results"]:
        assert r["model_version"] == 1 and r["route"] == "live" and r["fallback"] is False
        assert r["prediction"] in (0, 1)
        assert 0 <= r["score"] <= 1
        assert set(r["probabilities"]) == {"0", "1"}
    ids = [r["request_id"] for r in body["results"]]
    assert len(set(ids)) == 3
    assert wait_logged(server, ids) == set(ids)


def test_the_same_record_gets_the_same_answer_as_the_library(server: Server) -> None:
    recs = records(server, 5, start=10)
    res = post(server, {"records": recs}).json()
    with steadyml.open(server.root, env={}) as project:
        import pandas as pd

        from steadyml.registry.scoring import score_frame

        out = score_frame(project.load_model(1), pd.DataFrame(recs))
    assert [r["prediction"] for r in res["results"]] == out.predictions
    assert [r["score"] for r in res["results"]] == pytest.approx(out.scores)


@pytest.mark.parametrize(
    ("mutate", "loc", "words"),
    [
        (
            lambda r: r.update(tenure_months="abc"),
            ["records", 0, "tenure_months"],
            "whole number",
        ),
        (lambda r: r.update(colour="red"), ["records", 0, "colour"], "unknown column"),
    ],
    ids=["wrong-type", "extra-column"],
)
def test_each_bad_field_gets_a_422_that_names_it(server: Server, mutate, loc, words) -> None:  # type: ignore[no-untyped-def]
    rec = records(server, 1)[0]
    mutate(rec)
    res = post(server, {"records": [rec]})
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["ok"] is False
    assert any(e["loc"] == loc for e in body["errors"]), body
    field = ".".join(str(p) for p in loc[2:])
    assert f"records[0].{field}" in body["error"] or f"records[0].{field}" in json.dumps(body)
    assert words.lower() in json.dumps(body).lower()


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda r: r.pop("tenure_months"), "tenure_months: is missing, and was never missing"),
        (lambda r: r.update(tenure_months=100000), "tenure_months: 100000 is above the training"),
        (lambda r: r.update(contract="lifetime"), "contract: 'lifetime' was not seen in training"),
        (lambda r: r.update(monthly_charges=None), "monthly_charges: is missing, and was never"),
    ],
    ids=["absent", "out-of-range", "unknown-category", "null"],
)
def test_a_field_outside_what_training_showed_is_answered_with_a_warning(
    server: Server, mutate, words
) -> None:  # type: ignore[no-untyped-def]
    # expectations (contract.yaml without rules:) flag a record, never refuse it (issue 11)
    rec = records(server, 1)[0]
    mutate(rec)
    res = post(server, {"records": [rec]})
    assert res.status_code == 200, res.text
    (result,) = res.json()["results"]
    assert len(result["warnings"]) == 1 and result["warnings"][0].startswith(words)


def test_bodies_that_are_not_requests(server: Server) -> None:
    empty = post(server, b"")
    assert empty.status_code in (400, 422) and empty.json()["ok"] is False
    broken = post(server, b'{"records": [')
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    none = post(server, {"records": []})
    assert none.status_code == 422 and none.json()["errors"][0]["loc"] == ["records"]
    too_many = post(server, {"records": records(server, 1) * 1001})
    assert too_many.status_code == 422 and "at most 1000" in too_many.text
    huge = post(server, b'{"records": [' + b'{"a": 1},' * 300_000 + b'{"a": 1}]}')
    assert huge.status_code == 413 and "larger than the limit" in huge.json()["error"]


def test_auth_matrix(server: Server) -> None:
    body = {"records": records(server, 1)}
    no_key = post(server, body, key=None)
    assert no_key.status_code == 401 and "X-API-Key" in no_key.json()["error"]
    wrong = server.post("/v1/predict", json=body, headers={"X-API-Key": "sml_x_y"})
    assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]
    scope = post(server, body, key="feedback")
    assert scope.status_code == 403 and "may not predict" in scope.json()["error"]
    assert post(server, body, key="admin").status_code == 200
    fb = server.post("/v1/feedback", json={"labels": [{"request_id": "x", "label": 1}]},
                     headers={"X-API-Key": server.keys["predict"]})  # fmt: skip
    assert fb.status_code == 403


@pytest.mark.slow  # the key cache holds a check for 2 s
def test_revoked_key_is_refused_within_seconds(fresh_server: Server) -> None:
    body = {"records": records(fresh_server, 1)}
    assert post(fresh_server, body).status_code == 200
    with steadyml.open(fresh_server.root, env={}) as project:
        key_id = next(k.id for k in project.api_keys() if k.name == "app")
        project.revoke_key(key_id)
    deadline = time.monotonic() + 10
    status = 200
    while time.monotonic() < deadline and status == 200:
        status = post(fresh_server, body).status_code
        time.sleep(0.2)
    assert status == 401


def test_feedback_is_stored_by_request_id(server: Server) -> None:
    res = post(server, {"records": records(server, 2, start=40)}).json()
    ids = [r["request_id"] for r in res["results"]]
    wait_logged(server, ids)
    labels = [{"request_id": ids[0], "label": 1}, {"request_id": "nope", "label": 0}]
    fb = server.post("/v1/feedback", json={"labels": labels},
                     headers={"X-API-Key": server.keys["feedback"]})  # fmt: skip
    assert fb.status_code == 200, fb.text
    assert fb.json()["stored"] == 2 and fb.json()["unknown_request_ids"] == ["nope"]
    with steadyml.open(server.root, env={}) as project:
        assert project.store.get_feedback(ids[0]) == (1, 1)


def test_operations_endpoints(server: Server) -> None:
    assert server.get("/health").json() == {"ok": True, "status": "alive"}
    ready = server.get("/ready").json()
    assert ready["status"] == "ready" and ready["model_version"] == 1
    info = server.get("/v1/model").json()
    assert info["version"] == 1 and "tenure_months" in info["features"]
    assert info["card"] == "/v1/model/card"
    card = server.get("/v1/model/card")
    assert card.status_code == 200 and "Model card" in card.text
    post(server, {"records": records(server, 2)})
    metrics = server.get("/metrics").text
    assert 'steadyml_requests_total{endpoint="/v1/predict",status="200"}' in metrics
    assert "steadyml_request_seconds_bucket" in metrics
    assert "steadyml_batch_rows_bucket" in metrics
    assert 'steadyml_model_version{role="production"} 1.0' in metrics
    assert "steadyml_prediction_log_failed 0.0" in metrics  # nothing lost
    docs = server.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()
    assert server.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    schema = server.get("/openapi.json").json()
    text = json.dumps(schema)
    assert "month-to-month" in text and "tenure_months" in text


def test_no_raw_personal_data_anywhere_in_the_store(server: Server) -> None:
    recs = records(server, 5, start=100)
    raw = [r["email"] for r in recs] + [r["phone"] for r in recs]
    res = post(server, {"records": recs}).json()
    wait_logged(server, [r["request_id"] for r in res["results"]])
    for table, dump in store_dump(server.root).items():
        for value in raw:
            assert value not in dump, f"{value!r} found in table {table}"
