"""Request models generated from the data contract, the words of each validation error, and
the response models."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from factories import FEATURES, churn_contract, good_record, request_models
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from steadyml.data.contract import ColumnContract, ColumnRules, Contract
from steadyml.errors import DataContractError
from steadyml.serving.errors import validation_error_body
from steadyml.serving.requests import (
    FeedbackRequest,
    build_record_model,
    build_request_model,
    extra_columns,
)
from steadyml.serving.responses import ErrorResponse, PredictionResult, PredictResponse


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


def test_a_valid_record_validates_with_every_contract_column() -> None:
    _, request_model = request_models()
    req = request_model.model_validate(
        {"records": [good_record(), good_record(monthly_charges=None, email="a@b.c")]}
    )
    rows = [r.model_dump(by_alias=True) for r in req.records]
    assert len(rows) == 2
    assert set(rows[0]) == {"customer_id", "email", *FEATURES, "gender"}
    assert [r["tenure_months"] for r in rows] == [12, 12]
    assert [r["monthly_charges"] for r in rows] == [70.5, None]
    assert [r["contract"] for r in rows] == ["one-year", "one-year"]
    assert [r["signup_date"] for r in rows] == [datetime(2023, 5, 1)] * 2
    assert [r["email"] for r in rows] == [None, "a@b.c"]
    assert [r["gender"] for r in rows] == [None, None]  # optional and not sent


def test_whole_numbers_are_read_as_numbers_and_booleans_as_pydantic_spells_them() -> None:
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
    req = request_model.model_validate({"records": [{"x": 2, "flag": "true"}]})
    row = req.records[0].model_dump(by_alias=True)
    assert row == {"n": None, "x": 2.0, "flag": True, "when": None}
    assert isinstance(row["x"], float)


def test_the_target_is_not_a_request_field_and_optional_features_may_be_left_out() -> None:
    record, _ = request_models()
    fields = {f.alias for f in record.model_fields.values()}
    assert "churned" not in fields
    assert {"customer_id", "email", "gender"} <= fields
    required = {f.alias for f in record.model_fields.values() if f.is_required()}
    assert required == {"tenure_months", "contract"}  # the non-nullable features
    rec = record.model_validate({"tenure_months": 3, "contract": "two-year"})
    assert rec.model_dump(by_alias=True)["monthly_charges"] is None


def test_whole_floats_are_integers_and_datetimes_become_naive_utc() -> None:
    record, _ = request_models()
    rec = record.model_validate(
        good_record(tenure_months=3.0, signup_date="2024-01-31T10:00+02:00")
    )
    dumped = rec.model_dump(by_alias=True)
    assert dumped["tenure_months"] == 3 and isinstance(dumped["tenure_months"], int)
    assert dumped["signup_date"] == datetime(2024, 1, 31, 8, 0)


def test_columns_outside_the_model_are_accepted_without_their_categories() -> None:
    # gender is sensitive and not a feature: an unseen group must not cost a prediction
    record, _ = request_models()
    rec = record.model_validate(good_record(gender="X", customer_id="C-9"))
    assert rec.model_dump(by_alias=True)["gender"] == "X"


def test_a_feature_missing_from_the_contract_or_the_target_as_feature_is_refused() -> None:
    with pytest.raises(DataContractError, match=r"'colour'.*not in the data contract"):
        build_record_model(churn_contract(), target="churned", features=["colour"])
    with pytest.raises(DataContractError, match="target 'churned'"):
        build_record_model(churn_contract(), target="churned", features=["churned"])
    record, _ = request_models()
    with pytest.raises(ValueError, match="max_records must be at least 1"):
        build_request_model(record, max_records=0)


# --- each class of bad input -----------------------------------------------------------------


def test_a_missing_required_field_is_named() -> None:
    _, request_model = request_models()
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
            "0001-01-01T00:00:00+00:01",  # before year 1 once in UTC: refused, not a 500
            "records[0].signup_date: must be a date-time from year 1 to 9999 once its offset "
            "is applied (in UTC); send it in UTC or without an offset; "
            "got '0001-01-01T00:00:00+00:01'.",
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
    _, request_model = request_models()
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
    _, request_model = request_models()
    body = problems(request_model, {"records": [good_record(), good_record(**{field: value})]})
    assert only_msg(body) == f"records[1].{field}: {rule}"
    assert body["errors"][0]["type"] in ("less_than_equal", "greater_than_equal")


def test_an_unknown_category_lists_the_allowed_ones() -> None:
    _, request_model = request_models()
    body = problems(request_model, {"records": [good_record(contract="lifetime")]})
    assert only_msg(body) == (
        "records[0].contract: must be one of 'month-to-month', 'one-year', 'two-year'; "
        "got 'lifetime'."
    )
    assert body["errors"][0]["type"] == "literal_error"


def test_null_in_a_non_nullable_field_says_it_is_never_missing() -> None:
    _, request_model = request_models()
    for field in ("tenure_months", "contract"):
        body = problems(request_model, {"records": [good_record(**{field: None})]})
        assert only_msg(body) == (
            f"records[0].{field}: must not be null (the contract says it is never missing)."
        )


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_and_echoed_as_valid_json(raw: str) -> None:
    _, request_model = request_models()
    # Python's JSON reader accepts these literals, so a client can send them
    data = json.loads('{"records": [{"tenure_months": 1, "contract": "one-year", '
                      f'"monthly_charges": {raw}}}]}}')  # fmt: skip
    body = problems(request_model, data)
    assert body["errors"][0]["type"] == "finite_number"
    assert only_msg(body) == f"records[0].monthly_charges: expects a finite number; got {raw}."
    assert body["errors"][0]["input"] == raw


def test_an_extra_column_is_refused_under_reject_and_names_the_known_columns() -> None:
    _, request_model = request_models("reject")
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
    _, request_model = request_models("ignore")
    req = request_model.model_validate({"records": [good_record(colour="red"), good_record()]})
    assert extra_columns(req.records[0]) == ["colour"]
    assert extra_columns(req.records[1]) == []


def test_a_long_list_of_columns_is_cut_short_in_the_message() -> None:
    cols = {f"c{i}": ColumnContract(f"c{i}", "numeric", "number") for i in range(25)}
    record = build_record_model(Contract(columns=cols), target="y", features=list(cols))
    body = problems(build_request_model(record, max_records=5), {"records": [{"zzz": 1}]})
    assert only_msg(body).endswith("c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 (+15 more).")


def test_an_empty_list_and_too_many_records_are_explained() -> None:
    _, request_model = request_models(max_records=3)
    body = problems(request_model, {"records": []})
    assert only_msg(body) == "records: send at least one record; got an empty list."
    body = problems(request_model, {"records": [good_record()] * 5})
    assert only_msg(body) == "records: at most 3 records per request; got 5. Split the request."
    assert body["errors"][0]["type"] == "too_long"


def test_a_huge_input_is_not_echoed_back() -> None:
    _, request_model = request_models(max_records=3)
    body = problems(request_model, {"records": [good_record()] * 1500})
    assert body["errors"][0]["input"] == "<a list of 1500 items>"
    body = problems(request_model, {"records": [good_record(customer_id=["x" * 10_000])]})
    assert len(json.dumps(body)) < 2_000


def test_the_body_must_be_an_object_with_a_records_list() -> None:
    _, request_model = request_models()
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
    _, request_model = request_models()
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
    cols = {
        n: ColumnContract(n, "numeric", "number", nullable=False, rules=ColumnRules(max=10))
        for n in names
    }
    record = build_record_model(Contract(columns=cols), target="y", features=names)
    request_model = build_request_model(record, max_records=10)
    sent = {n: float(i) for i, n in enumerate(names)}
    req = request_model.model_validate({"records": [sent]})
    assert req.records[0].model_dump(by_alias=True) == sent
    body = problems(request_model, {"records": [{**sent, "Solar.R": 99, "first name": "x"}]})
    msgs = [e["msg"] for e in body["errors"]]
    assert "records[0]['Solar.R']: must be ≤ 10 (a rule in the contract); got 99." in msgs
    assert "records[0]['first name']: expects a number; got 'x'." in msgs
    assert [e["loc"][2] for e in body["errors"]] == ["Solar.R", "first name"]


# --- the OpenAPI schema ------------------------------------------------------------------------


def test_the_json_schema_shows_enums_bounds_descriptions_and_an_example() -> None:
    _, request_model = request_models(max_records=50)
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
    _, request_model = request_models()
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
