"""A one-record request's warnings come from ``ExpectationCheck``'s single pass over its
values; they are the ones the pass over many rows gives the same record."""

from __future__ import annotations

from typing import Any

from factories import FEATURES, churn_contract, good_record
from hypothesis import given, settings
from hypothesis import strategies as st

from steadyml.serving.expectations import ExpectationCheck

COLUMNS = ["customer_id", "email", *FEATURES, "gender"]


@settings(max_examples=300, deadline=None)
@given(
    tenure=st.one_of(st.none(), st.integers(-5, 100)),
    charges=st.one_of(st.none(), st.floats(-10, 200, allow_nan=False)),
    contract=st.one_of(st.none(), st.sampled_from(["one-year", "two-year", "lifetime"])),
    payment=st.one_of(st.none(), st.sampled_from(["credit card", "cash", "mailed check"])),
    codes=st.booleans(),
)
def test_one_row_is_checked_as_in_a_batch(
    tenure: Any, charges: Any, contract: Any, payment: Any, codes: bool
) -> None:
    check = ExpectationCheck(
        churn_contract(), columns=COLUMNS, features=FEATURES,
        missing_codes={"tenure_months": [-1]} if codes else None,
    )  # fmt: skip
    record = good_record(
        tenure_months=tenure, monthly_charges=charges, contract=contract, payment_method=payment
    )
    row = [record.get(c) for c in COLUMNS]
    alone = check.warnings([row])
    among = check.warnings([[good_record().get(c) for c in COLUMNS], row])
    assert alone == (None if among is None else among[1:])
