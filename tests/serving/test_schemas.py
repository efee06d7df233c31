"""Request models generated from the data contract, and the one JSON error shape of the API."""

from __future__ import annotations

import json
import math
import warnings
from datetime import datetime
from typing import Any

import pandas as pd
import pytest
from fastapi import FastAPI, HTTPException, Request
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from steadyml.data.contract import ColumnContract, Contract
from steadyml.errors import DataContractError
from steadyml.serving.errors import (
    ERROR_RESPONSES,
    error_body,
    install_error_handlers,
    validation_error_body,
)
from steadyml.serving.schemas import (
    ErrorResponse,
    FeedbackRequest,
    PredictionResult,
    PredictResponse,
    build_record_model,
    build_request_model,
    extra_columns,
    records_frame,
)

with warnings.catch_warnings():
    # starlette asks for `httpx2`; the `httpx` it still supports is what is installed
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FEATURES = ["tenure_months", "monthly_charges", "contract", "payment_method", "signup_date"]
PAYMENT = ["bank transfer", "credit card", "electronic check", "mailed check"]


def churn_contract() -> Contract:
    cols = [
        ColumnContract("customer_id", "id", "string", nullable=False),
        ColumnContract("email", "pii", "string"),
        ColumnContract("tenure_months", "numeric", "integer", nullable=False, min=0, max=72),
        ColumnContract("monthly_charges", "numeric", "number", min=18.25, max=118.75),
        ColumnContract(
            "contract",
            "categorical",
            "string",
            nullable=False,
            allowed=["month-to-month", "one-year", "two-year"],
        ),
        ColumnContract("payment_method", "categorical", "string", allowed=PAYMENT),
        ColumnContract("signup_date", "timestamp", "datetime"),
        ColumnContract("gender", "sensitive", "string", allowed=["F", "M"]),
        ColumnContract("churned", "target", "integer", nullable=False, allowed=[0, 1]),
    ]
    return Contract(columns={c.name: c for c in cols})


def good_record(**overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "customer_id": "C-0001",
        "tenure_months": 12,
        "monthly_charges": 70.5,
        "contract": "one-year",
        "payment_method": "credit card",
        "signup_date": "2023-05-01",
    }
    rec.update(overrides)
    return rec


def models(unknown: str = "reject", max_records: int = 1000) -> tuple[Any, Any]:
    record = build_record_model(
        churn_contract(),
        target="churned",
        features=FEATURES,
        unknown_columns=unknown,  # type: ignore[arg-type]
    )
    return record, build_request_model(record, max_records=max_records)


def problems(request_model: Any, body: Any) -> dict[str, Any]:
    """The error body the API would send for ``body``; fails if it validates."""
    with pytest.raises(ValidationError) as info:
        request_model.model_validate(body)
    out = validation_error_body(info.value)
    json.dumps(out, allow_nan=False)  # always valid JSON
    ErrorResponse.model_validate(out)  # and always the documented shape
    return out


def only_msg(body: dict[str, Any]) -> str:
    assert len(body["errors"]) == 1, body
    return str(body["errors"][0]["msg"])


# --- valid records ------------------------------------------------------------------------


def test_a_valid_record_validates_and_becomes_a_frame_with_contract_columns() -> None:
    _, request_model = models()
    req = request_model.model_validate(
        {"records": [good_record(), good_record(monthly_charges=None, email="a@b.c")]}
    )
    columns = ["customer_id", "email", *FEATURES, "gender"]
    frame = records_frame(req, columns)
    assert list(frame.columns) == columns
    assert len(frame) == 2
    assert frame["tenure_months"].tolist() == [12, 12]
    assert frame["tenure_months"].dtype == "int64"
    assert frame["monthly_charges"].dtype == "float64"
    assert frame["monthly_charges"].iloc[0] == 70.5
    assert math.isnan(frame["monthly_charges"].iloc[1])
    assert frame["contract"].tolist() == ["one-year", "one-year"]
    assert frame["signup_date"].tolist() == [pd.Timestamp("2023-05-01")] * 2
    assert frame["email"].isna().tolist() == [True, False]
    assert frame["email"].iloc[1] == "a@b.c"
    assert frame["gender"].tolist() == [None, None]  # optional and not sent


def test_frame_dtypes_follow_the_contract_not_the_values_sent() -> None:
    cols = [
        ColumnContract("n", "numeric", "integer"),
        ColumnContract("x", "numeric", "number"),
        ColumnContract("flag", "categorical", "boolean"),
        ColumnContract("when", "timestamp", "datetime"),
    ]
    record = build_record_model(
        Contract(columns={c.name: c for c in cols}), target="y", features=[c.name for c in cols]
    )
    request_model = build_request_model(record, max_records=5)
    frame = records_frame(
        request_model.model_validate({"records": [{"x": 2, "flag": "true"}]}),
        ["n", "x", "flag", "when"],
    )
    assert frame.dtypes.astype(str).tolist()[:3] == ["float64", "float64", "bool"]
    assert frame["when"].dtype.kind == "M" and frame["when"].isna().all()
    assert frame["flag"].tolist() == [True]
    frame = records_frame(
        request_model.model_validate({"records": [{"n": 1}, {"n": 2, "flag": None}]}), ["n", "flag"]
    )
    assert frame["n"].dtype == "int64"
    assert frame["flag"].tolist() == [None, None]


def test_the_target_is_not_a_request_field_and_optional_features_may_be_left_out() -> None:
    record, _ = models()
    fields = {f.alias for f in record.model_fields.values()}
    assert "churned" not in fields
    assert {"customer_id", "email", "gender"} <= fields
    required = {f.alias for f in record.model_fields.values() if f.is_required()}
    assert required == {"tenure_months", "contract"}  # the non-nullable features
    rec = record.model_validate({"tenure_months": 3, "contract": "two-year"})
    assert rec.model_dump(by_alias=True)["monthly_charges"] is None


def test_whole_floats_are_integers_and_datetimes_become_naive_utc() -> None:
    record, _ = models()
    rec = record.model_validate(
        good_record(tenure_months=3.0, signup_date="2024-01-31T10:00+02:00")
    )
    dumped = rec.model_dump(by_alias=True)
    assert dumped["tenure_months"] == 3 and isinstance(dumped["tenure_months"], int)
    assert dumped["signup_date"] == datetime(2024, 1, 31, 8, 0)


def test_columns_outside_the_model_are_accepted_without_their_categories() -> None:
    # gender is sensitive and not a feature: an unseen group must not cost a prediction
    record, _ = models()
    rec = record.model_validate(good_record(gender="X", customer_id="C-9"))
    assert rec.model_dump(by_alias=True)["gender"] == "X"


def test_a_feature_missing_from_the_contract_or_the_target_as_feature_is_refused() -> None:
    with pytest.raises(DataContractError, match=r"'colour'.*not in the data contract"):
        build_record_model(churn_contract(), target="churned", features=["colour"])
    with pytest.raises(DataContractError, match="target 'churned'"):
        build_record_model(churn_contract(), target="churned", features=["churned"])
    record, _ = models()
    with pytest.raises(ValueError, match="max_records must be at least 1"):
        build_request_model(record, max_records=0)


# --- each class of bad input -----------------------------------------------------------------


def test_a_missing_required_field_is_named() -> None:
    _, request_model = models()
    rec = good_record()
    del rec["tenure_months"]
    body = problems(request_model, {"records": [good_record(), rec]})
    assert body["errors"][0]["loc"] == ["records", 1, "tenure_months"]
    assert body["errors"][0]["type"] == "missing"
    assert body["errors"][0]["input"] is None  # not the whole record echoed back
    assert only_msg(body) == "records[1].tenure_months: is required but missing."
    assert body["error"] == "1 problem in the request: " + only_msg(body)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("tenure_months", "abc", "records[0].tenure_months: expects a whole number; got 'abc'."),
        ("tenure_months", 3.5, "records[0].tenure_months: expects a whole number; got 3.5."),
        ("tenure_months", True, "records[0].tenure_months: expects a whole number; got true."),
        ("monthly_charges", "70.5", "records[0].monthly_charges: expects a number; got '70.5'."),
        ("customer_id", 17, "records[0].customer_id: expects text; got 17."),
        (
            "signup_date",
            1700000000,
            "records[0].signup_date: expects an ISO 8601 date or date-time such as "
            "'2024-01-31' or '2024-01-31T09:30:00'; got 1700000000.",
        ),
        (
            "signup_date",
            "yesterday",
            "records[0].signup_date: expects an ISO 8601 date or date-time such as "
            "'2024-01-31' or '2024-01-31T09:30:00'; got 'yesterday'.",
        ),
    ],
)
def test_a_wrong_type_names_the_field_the_rule_and_the_value(
    field: str, value: Any, expected: str
) -> None:
    _, request_model = models()
    body = problems(request_model, {"records": [good_record(**{field: value})]})
    assert only_msg(body) == expected
    assert body["errors"][0]["loc"] == ["records", 0, field]
    assert body["errors"][0]["input"] == value


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("tenure_months", 900, "must be ≤ 72 (the largest value seen in training); got 900."),
        ("tenure_months", -1, "must be ≥ 0 (the smallest value seen in training); got -1."),
        ("monthly_charges", 5, "must be ≥ 18.25 (the smallest value seen in training); got 5."),
        (
            "monthly_charges",
            200.5,
            "must be ≤ 118.75 (the largest value seen in training); got 200.5.",
        ),
    ],
)
def test_out_of_range_at_either_end_says_the_bound(field: str, value: Any, rule: str) -> None:
    _, request_model = models()
    body = problems(request_model, {"records": [good_record(), good_record(**{field: value})]})
    assert only_msg(body) == f"records[1].{field}: {rule}"
    assert body["errors"][0]["type"] in ("less_than_equal", "greater_than_equal")


def test_an_unknown_category_lists_the_allowed_ones() -> None:
    _, request_model = models()
    body = problems(request_model, {"records": [good_record(contract="lifetime")]})
    assert only_msg(body) == (
        "records[0].contract: must be one of 'month-to-month', 'one-year', 'two-year'; "
        "got 'lifetime'."
    )
    assert body["errors"][0]["type"] == "literal_error"


def test_null_in_a_non_nullable_field_says_it_is_never_missing() -> None:
    _, request_model = models()
    for field in ("tenure_months", "contract"):
        body = problems(request_model, {"records": [good_record(**{field: None})]})
        assert only_msg(body) == (
            f"records[0].{field}: must not be null (the contract says it is never missing)."
        )


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_and_echoed_as_valid_json(raw: str) -> None:
    _, request_model = models()
    # Python's JSON reader accepts these literals, so a client can send them
    data = json.loads('{"records": [{"tenure_months": 1, "contract": "one-year", '
                      f'"monthly_charges": {raw}}}]}}')  # fmt: skip
    body = problems(request_model, data)
    assert body["errors"][0]["type"] == "finite_number"
    assert only_msg(body) == f"records[0].monthly_charges: expects a finite number; got {raw}."
    assert body["errors"][0]["input"] == raw


def test_an_extra_column_is_refused_under_reject_and_names_the_known_columns() -> None:
    _, request_model = models("reject")
    body = problems(
        request_model, {"records": [good_record(), good_record(), good_record(colour=1)]}
    )
    assert body["errors"][0]["loc"] == ["records", 2, "colour"]
    assert body["errors"][0]["type"] == "extra_forbidden"
    assert only_msg(body) == (
        "records[2].colour: unknown column; the model's columns are: customer_id, email, "
        "tenure_months, monthly_charges, contract, payment_method, signup_date, gender."
    )


def test_an_extra_column_is_accepted_and_reported_under_ignore() -> None:
    _, request_model = models("ignore")
    req = request_model.model_validate({"records": [good_record(colour="red"), good_record()]})
    assert extra_columns(req.records[0]) == ["colour"]
    assert extra_columns(req.records[1]) == []
    frame = records_frame(req, FEATURES)
    assert "colour" not in frame.columns
    assert list(frame.columns) == FEATURES


def test_a_long_list_of_columns_is_cut_short_in_the_message() -> None:
    cols = {f"c{i}": ColumnContract(f"c{i}", "numeric", "number") for i in range(25)}
    record = build_record_model(Contract(columns=cols), target="y", features=list(cols))
    body = problems(build_request_model(record, max_records=5), {"records": [{"zzz": 1}]})
    assert only_msg(body).endswith("c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 (+15 more).")


def test_an_empty_list_and_too_many_records_are_explained() -> None:
    _, request_model = models(max_records=3)
    body = problems(request_model, {"records": []})
    assert only_msg(body) == "records: send at least one record; got an empty list."
    body = problems(request_model, {"records": [good_record()] * 5})
    assert only_msg(body) == "records: at most 3 records per request; got 5. Split the request."
    assert body["errors"][0]["type"] == "too_long"


def test_a_huge_input_is_not_echoed_back() -> None:
    _, request_model = models(max_records=3)
    body = problems(request_model, {"records": [good_record()] * 1500})
    assert body["errors"][0]["input"] == "<a list of 1500 items>"
    body = problems(request_model, {"records": [good_record(customer_id=["x" * 10_000])]})
    assert len(json.dumps(body)) < 2_000


def test_the_body_must_be_an_object_with_a_records_list() -> None:
    _, request_model = models()
    assert only_msg(problems(request_model, [1, 2])) == (
        'body: must be a JSON object such as {"records": [{...}]}; got a list of 2 items.'
    )
    assert only_msg(problems(request_model, {"records": {"a": 1}})) == (
        "records: must be a list of records (a JSON array of objects); got an object."
    )
    assert only_msg(problems(request_model, {"records": [3]})) == (
        "records[0]: each record must be a JSON object of column: value pairs; got 3."
    )
    assert only_msg(problems(request_model, {"records": [good_record()], "model": "x"})) == (
        "model: unknown field; the allowed fields are: records."
    )


def test_several_problems_are_summarised_in_one_line() -> None:
    _, request_model = models()
    records = [good_record(), good_record(contract="lifetime"), good_record(tenure_months=900)]
    body = problems(request_model, {"records": records})
    assert body["error"] == (
        "2 problems in the request: records[1].contract: must be one of 'month-to-month', "
        "'one-year', 'two-year'; got 'lifetime'; records[2].tenure_months: must be ≤ 72 "
        "(the largest value seen in training); got 900."
    )
    body = problems(request_model, {"records": [good_record(tenure_months=-1)] * 5})
    assert body["error"].startswith("5 problems in the request: records[0].tenure_months")
    assert body["error"].endswith("; and 2 more.")


# --- names that are not identifiers -------------------------------------------------------


def test_column_names_that_are_not_identifiers_round_trip_by_alias() -> None:
    names = ["Solar.R", "class", "first name", "model_dump", "_hidden", "2nd", "Solar R"]
    cols = {n: ColumnContract(n, "numeric", "number", nullable=False, max=10) for n in names}
    record = build_record_model(Contract(columns=cols), target="y", features=names)
    request_model = build_request_model(record, max_records=10)
    sent = {n: float(i) for i, n in enumerate(names)}
    req = request_model.model_validate({"records": [sent]})
    assert req.records[0].model_dump(by_alias=True) == sent
    assert records_frame(req, names).iloc[0].to_dict() == sent
    body = problems(request_model, {"records": [{**sent, "Solar.R": 99, "first name": "x"}]})
    msgs = [e["msg"] for e in body["errors"]]
    assert (
        "records[0]['Solar.R']: must be ≤ 10 (the largest value seen in training); got 99." in msgs
    )
    assert "records[0]['first name']: expects a number; got 'x'." in msgs
    assert [e["loc"][2] for e in body["errors"]] == ["Solar.R", "first name"]


# --- the OpenAPI schema ------------------------------------------------------------------------


def test_the_json_schema_shows_enums_bounds_descriptions_and_an_example() -> None:
    _, request_model = models(max_records=50)
    schema = request_model.model_json_schema()
    props = schema["$defs"]["Record"]["properties"]
    assert props["contract"]["enum"] == ["month-to-month", "one-year", "two-year"]
    assert props["tenure_months"]["minimum"] == 0
    assert props["tenure_months"]["maximum"] == 72
    number = next(s for s in props["monthly_charges"]["anyOf"] if s["type"] == "number")
    assert (number["minimum"], number["maximum"]) == (18.25, 118.75)
    assert props["tenure_months"]["description"] == (
        "numeric feature: a whole number between 0 and 72; never null."
    )
    assert "not used by the model; never stored raw" in props["email"]["description"]
    assert schema["$defs"]["Record"]["additionalProperties"] is False
    assert schema["properties"]["records"]["maxItems"] == 50
    assert schema["properties"]["records"]["minItems"] == 1
    example = schema["examples"][0]
    assert example["records"][0] == {
        "customer_id": "text",
        "tenure_months": 36,
        "monthly_charges": 68.5,
        "contract": "month-to-month",
        "payment_method": "bank transfer",
        "signup_date": "2024-01-31T09:30:00",
    }
    request_model.model_validate(example)  # the example is itself a valid request


def test_response_models_hold_the_documented_fields() -> None:
    result = PredictionResult(
        request_id="r1", prediction=1, score=0.8, probabilities={"0": 0.2, "1": 0.8},
        model_version=3, route="live", fallback=False, fallback_reason=None,
    )  # fmt: skip
    resp = PredictResponse(request_id="r", model_version=3, results=[result])
    assert resp.model_dump()["ok"] is True
    with pytest.raises(ValidationError):
        FeedbackRequest.model_validate({"labels": []})
    assert ErrorResponse(error="x").model_dump() == {
        "ok": False, "error": "x", "errors": [], "request_id": None,
    }  # fmt: skip


# --- property: every broken field is reported ---------------------------------------------

RANGED = {"tenure_months": (0, 72), "monthly_charges": (18.25, 118.75)}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.dictionaries(
            st.sampled_from(sorted(RANGED)),
            st.tuples(st.booleans(), st.integers(min_value=1, max_value=10_000)),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_every_out_of_range_field_appears_in_the_errors(
    rows: list[dict[str, tuple[bool, int]]],
) -> None:
    _, request_model = models()
    records, broken = [], set()
    for i, mutations in enumerate(rows):
        rec = good_record()
        for field, (above, by) in mutations.items():
            lo, hi = RANGED[field]
            rec[field] = hi + by if above else lo - by
            broken.add(("records", i, field))
        records.append(rec)
    try:
        request_model.model_validate({"records": records})
    except ValidationError as exc:
        body = validation_error_body(exc)
    else:
        assert not broken
        return
    assert {tuple(e["loc"]) for e in body["errors"]} == broken
    assert all(e["msg"].startswith("records[") for e in body["errors"])


# --- the app: every 4xx / 5xx in the one shape -------------------------------------------


@pytest.fixture
def client() -> TestClient:
    _, request_model = models(max_records=3)
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

    return TestClient(app, raise_server_exceptions=False)


def assert_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    ErrorResponse.model_validate(body)
    assert set(body) == {"ok", "error", "errors", "request_id"}
    assert body["ok"] is False
    assert body["request_id"] == "rid-1"
    return dict(body)


def test_the_app_accepts_a_good_request(client: TestClient) -> None:
    r = client.post("/v1/predict", json={"records": [good_record()]})
    assert r.status_code == 200, r.text
    assert r.json() == {"ok": True, "n": 1}


def test_the_app_answers_422_with_field_level_items(client: TestClient) -> None:
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


def test_the_app_answers_422_for_nan_sent_as_a_json_literal(client: TestClient) -> None:
    raw = '{"records": [{"tenure_months": 1, "contract": "one-year", "monthly_charges": NaN}]}'
    r = client.post("/v1/predict", content=raw, headers={"content-type": "application/json"})
    body = assert_shape(r, 422)
    assert body["errors"][0]["input"] == "NaN"


def test_the_app_answers_400_for_malformed_json(client: TestClient) -> None:
    r = client.post(
        "/v1/predict", content=b'{"records": [1', headers={"content-type": "application/json"}
    )
    body = assert_shape(r, 400)
    assert body["error"] == (
        "The body is not valid JSON: Expecting ',' delimiter at position 14. "
        "Check the quotes, commas and brackets."
    )
    assert body["errors"][0]["type"] == "json_invalid"


def test_the_app_answers_for_a_missing_body_and_a_non_json_content_type(client: TestClient) -> None:
    body = assert_shape(client.post("/v1/predict"), 422)
    assert body["errors"][0]["msg"].startswith("body: is required but missing")
    r = client.post("/v1/predict", content=b"tenure=3", headers={"content-type": "text/plain"})
    body = assert_shape(r, 415)
    assert "Content-Type: application/json; got Content-Type 'text/plain'" in body["error"]


def test_the_app_answers_404_405_and_401_in_the_one_shape(client: TestClient) -> None:
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
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("ERROR", logger="steadyml.serving"):
        r = client.get("/boom")
    body = assert_shape(r, 500)
    assert body["error"] == (
        "Internal error: the service could not answer. It is logged with request id rid-1."
    )
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert any("rid-1" in rec.getMessage() and rec.exc_info for rec in caplog.records)


def test_the_openapi_document_shows_the_contract_and_the_error_shape(client: TestClient) -> None:
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
