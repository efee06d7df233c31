"""The request model under ``on_unexpected="answer"`` (the default): only rules refuse; and
``ExpectationCheck``, the warnings of answered records, worded as batch scoring words them."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from factories import FEATURES, churn_contract, good_record, request_models
from pydantic import ValidationError

from steadyml.data.contract import ColumnRules, check_rows
from steadyml.serving.errors import validation_error_body
from steadyml.serving.expectations import ExpectationCheck

COLUMNS = ["customer_id", "email", *FEATURES, "gender"]


def rows_of(request_model: Any, records: list[dict[str, Any]]) -> list[list[Any]]:
    """The validated records as the service holds them: one row of values per record."""
    req = request_model.model_validate({"records": records})
    return [[r.model_dump(by_alias=True)[c] for c in COLUMNS] for r in req.records]


def batch_words(records: list[dict[str, Any]], codes: dict[str, Any] | None = None) -> Any:
    contract = churn_contract()
    cols = [contract.columns[f] for f in FEATURES]
    frame = pd.DataFrame([{c.name: r.get(c.name) for c in cols} for r in records], dtype=object)
    return check_rows(frame, cols, missing_codes=codes).row_warnings()


def test_expectations_do_not_refuse_under_answer() -> None:
    record, request_model = request_models(on_unexpected="answer")
    odd = [
        good_record(tenure_months=900),
        good_record(contract="lifetime"),
        good_record(tenure_months=None, monthly_charges=5),
    ]
    assert len(request_model.model_validate({"records": odd}).records) == 3
    required = {f.alias for f in record.model_fields.values() if f.is_required()}
    assert required == set()  # no rule says never missing
    props = request_model.model_json_schema()["$defs"]["Record"]["properties"]
    assert "enum" not in props["contract"]
    assert props["tenure_months"]["description"] == (
        "numeric feature: a whole number; may be null. Training had values between 0 and 72, "
        "never missing; other values are answered with a warning."
    )


def test_rules_refuse_under_answer_and_say_they_are_rules() -> None:
    contract = churn_contract()
    contract.columns["tenure_months"].rules = ColumnRules(min=0, nullable=False)
    contract.columns["contract"].rules = ColumnRules(allowed=["one-year", "two-year"])
    _, request_model = request_models(on_unexpected="answer", contract=contract)
    for record, msg in [
        (good_record(tenure_months=-1), "must be ≥ 0 (a rule in the contract); got -1."),
        (good_record(tenure_months=None), "must not be null (the contract says it is never"),
        (good_record(contract="month-to-month"), "must be one of 'one-year', 'two-year'; got"),
    ]:
        with pytest.raises(ValidationError) as info:
            request_model.model_validate({"records": [record]})
        body = validation_error_body(info.value)
        assert len(body["errors"]) == 1 and msg in body["errors"][0]["msg"], body
    request_model.model_validate({"records": [good_record(tenure_months=500)]})  # expectation


def test_under_refuse_the_tighter_of_rule_and_expectation_refuses() -> None:
    contract = churn_contract()
    contract.columns["tenure_months"].rules = ColumnRules(min=5, max=1000)
    _, request_model = request_models(contract=contract)  # on_unexpected="refuse"
    for value, msg in [(3, "≥ 5 (a rule in the contract)"), (80, "≤ 72 (the largest value")]:
        with pytest.raises(ValidationError) as info:
            request_model.model_validate({"records": [good_record(tenure_months=value)]})
        assert msg in validation_error_body(info.value)["errors"][0]["msg"]


def test_warnings_are_the_words_of_batch_scoring() -> None:
    _, request_model = request_models(on_unexpected="answer")
    records = [
        good_record(),
        good_record(tenure_months=900, contract="lifetime"),
        good_record(tenure_months=None, monthly_charges=5.5),
        good_record(payment_method="cash", gender="X", customer_id="never seen"),
        good_record(tenure_months=-1),
    ]
    check = ExpectationCheck(churn_contract(), columns=COLUMNS, features=FEATURES)
    found = check.warnings(rows_of(request_model, records))
    assert found == batch_words(records)
    assert found is not None and found[0] == [] and len(found[1]) == 2
    assert found[1][0].startswith("tenure_months: 900 is above the training range 0–72")
    assert found[3] == [
        "payment_method: 'cash' was not seen in training, which had bank transfer, credit "
        "card, electronic check, mailed check (scored; outside what the model saw)"
    ]  # gender is no feature: not checked


def test_no_warning_is_none_and_missing_codes_are_missing() -> None:
    _, request_model = request_models(on_unexpected="answer")
    codes = {"tenure_months": [-1]}
    check = ExpectationCheck(
        churn_contract(), columns=COLUMNS, features=FEATURES, missing_codes=codes
    )
    assert check.active
    assert check.warnings(rows_of(request_model, [good_record()] * 3)) is None
    records = [good_record(tenure_months=-1)]
    found = check.warnings(rows_of(request_model, records))
    assert found == batch_words(records, codes)
    assert found == [
        [
            "tenure_months: is missing, and was never missing in training "
            "(scored; the model fills in missing values)"
        ]
    ]
    bare = churn_contract()
    for col in bare.columns.values():
        col.min = col.max = col.allowed = None
        col.nullable = True
    assert not ExpectationCheck(bare, columns=COLUMNS, features=FEATURES).active
