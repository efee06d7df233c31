"""The one JSON error shape of the API: every 4xx and 5xx of an app with the error handlers
installed (in process, through httpx.ASGITransport), and the bodies they are built from."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from factories import good_record, request_models
from fastapi import FastAPI, HTTPException, Request
from inprocess import AppClient
from pydantic import BaseModel, ValidationError

from steadyml.serving.errors import ERROR_RESPONSES, error_body, validation_error_body
from steadyml.serving.handlers import install_error_handlers
from steadyml.serving.responses import ErrorResponse


@pytest.fixture
def client() -> Iterator[AppClient]:
    _, request_model = request_models(max_records=3)
    app = FastAPI()
    install_error_handlers(app)

    @app.middleware("http")
    async def request_id(request: Request, call_next: Any) -> Any:
        request.state.request_id = "rid-1"
        return await call_next(request)

    async def predict(body: Any) -> dict[str, Any]:
        return {"ok": True, "n": len(body.records)}

    predict.__annotations__["body"] = request_model  # a model built at run time
    app.post("/v1/predict", responses=ERROR_RESPONSES)(predict)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret traceback text")

    @app.get("/locked")
    def locked() -> None:
        raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})

    served = AppClient(app).start()
    yield served
    served.stop()


def assert_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ErrorResponse.model_validate(body)
    assert set(body) == {"ok", "error", "errors", "request_id"}
    assert body["ok"] is False
    assert body["request_id"] == "rid-1"
    return dict(body)


def test_the_app_accepts_a_good_request(client: AppClient) -> None:
    r = client.post("/v1/predict", json={"records": [good_record()]})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "n": 1}


def test_the_app_answers_422_with_field_level_items(client: AppClient) -> None:
    r = client.post(
        "/v1/predict", json={"records": [good_record(), good_record(tenure_months=900)]}
    )
    body = assert_shape(r, 422)
    assert body["errors"] == [
        {
            "loc": ["records", 1, "tenure_months"],
            "msg": "records[1].tenure_months: must be ≤ 72 (the largest value seen in training); got 900.",
            "type": "less_than_equal",
            "input": 900,
        }
    ]


def test_the_app_answers_422_for_nan_sent_as_a_json_literal(client: AppClient) -> None:
    raw = '{"records": [{"tenure_months": 1, "contract": "one-year", "monthly_charges": NaN}]}'
    r = client.post("/v1/predict", content=raw, headers={"content-type": "application/json"})
    body = assert_shape(r, 422)
    assert body["errors"][0]["input"] == "NaN"


def test_the_app_answers_400_for_malformed_json(client: AppClient) -> None:
    r = client.post(
        "/v1/predict", content=b'{"records": [1', headers={"content-type": "application/json"}
    )
    body = assert_shape(r, 400)
    assert body["error"] == (
        "The body is not valid JSON: Expecting ',' delimiter at position 14. "
        "Check the quotes, commas and brackets."
    )
    assert body["errors"][0]["type"] == "json_invalid"


def test_the_app_answers_for_a_missing_body_and_a_non_json_content_type(client: AppClient) -> None:
    body = assert_shape(client.post("/v1/predict"), 422)
    assert body["errors"][0]["msg"].startswith("body: is required but missing")
    r = client.post("/v1/predict", content=b"tenure=3", headers={"content-type": "text/plain"})
    body = assert_shape(r, 415)
    assert "Content-Type: application/json; got Content-Type 'text/plain'" in body["error"]


def test_the_app_answers_404_405_and_401_in_the_one_shape(client: AppClient) -> None:
    body = assert_shape(client.get("/v1/nope"), 404)
    assert body["error"].startswith("Not Found: there is no route GET /v1/nope.")
    r = client.get("/v1/predict")
    body = assert_shape(r, 405)
    assert body["error"] == "Method Not Allowed: /v1/predict does not take GET; use POST."
    assert r.headers["allow"] == "POST"
    r = client.get("/locked")
    body = assert_shape(r, 401)
    assert body["error"].startswith("Unauthorized: send an API key in the X-API-Key header")
    assert r.headers["www-authenticate"] == "Bearer"


def test_an_unhandled_error_is_a_500_without_the_traceback(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="steadyml.serving"):
        r = client.get("/boom")
    body = assert_shape(r, 500)
    assert body["error"] == (
        "Internal error: the service could not answer. It is logged with request id rid-1."
    )
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert any("rid-1" in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_the_openapi_document_shows_the_contract_and_the_error_shape(client: AppClient) -> None:
    doc = client.get("/openapi.json").json()
    record = doc["components"]["schemas"]["Record"]["properties"]
    assert record["contract"]["enum"] == ["month-to-month", "one-year", "two-year"]
    assert (record["tenure_months"]["minimum"], record["tenure_months"]["maximum"]) == (0, 72)
    responses = doc["paths"]["/v1/predict"]["post"]["responses"]
    assert responses["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorResponse"
    )


def test_error_body_fills_in_a_bare_phrase_and_keeps_inputs_json_safe() -> None:
    assert error_body("", status=503)["error"] == (
        "Service Unavailable: the service is not ready; retry shortly."
    )
    assert error_body("Model 'churn' has no version 9.", status=404)["error"] == (
        "Model 'churn' has no version 9."
    )
    body = error_body(
        "x", request_id="r", errors=[{"loc": ["a"], "msg": "m", "type": "t", "input": math.inf}]
    )
    assert body == {
        "ok": False,
        "error": "x",
        "errors": [{"loc": ["a"], "msg": "m", "type": "t", "input": "Infinity"}],
        "request_id": "r",
    }
    json.dumps(body, allow_nan=False)


def test_validation_error_body_takes_fastapi_style_dicts() -> None:
    errors = [{"type": "missing", "loc": ("body", "records"), "msg": "Field required", "input": {}}]
    body = validation_error_body(errors, request_id="r9")
    assert body["errors"][0]["loc"] == ["records"]
    assert body["errors"][0]["msg"] == "records: is required but missing."
    assert body["request_id"] == "r9"

    class Odd(BaseModel):
        when: int

    with pytest.raises(ValidationError) as info:
        Odd.model_validate({"when": object()})
    item = validation_error_body(info.value)["errors"][0]
    assert item["input"].startswith("<object object at")
