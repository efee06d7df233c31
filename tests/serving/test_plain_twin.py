"""The request model's plain twin (``build_record_model(..., explained=False)``), which the
predict route validates with first, accepts exactly the bodies the explained model accepts,
with the same values, and refuses the others (then the explained model words the refusal)."""

from __future__ import annotations

from typing import Any

import pytest
from factories import FEATURES, churn_contract, good_record
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from steadyml.serving.requests import build_record_model, build_request_model


def _models(unknown: str, on_unexpected: str, explained: bool) -> Any:
    record = build_record_model(
        churn_contract(), target="churned", features=FEATURES,
        unknown_columns=unknown, on_unexpected=on_unexpected,  # type: ignore[arg-type]
        explained=explained,
    )  # fmt: skip
    return build_request_model(record, max_records=3, explained=explained)


def _outcome(model: Any, body: Any) -> Any:
    try:
        parsed: BaseModel = model.model_validate(body)
    except ValidationError as exc:
        return ("refused", len(exc.errors()))
    return [(r.model_dump(), r.model_extra) for r in parsed.records]  # type: ignore[attr-defined]


BODIES: list[Any] = [
    {"records": [good_record()]},
    {"records": [good_record(tenure_months=90, contract="ten-year")]},  # expectations broken
    {"records": [good_record(tenure_months="many")]},
    {"records": [good_record(tenure_months=3.0, monthly_charges=1)]},
    {"records": [good_record(no_such_column=1)]},
    {"records": [good_record(**{"bad\ud800": 1})]},
    {"records": [good_record(contract="month\ud800")]},
    {"records": [good_record(signup_date="2023-05-01T09:30:00+02:00")]},
    {"records": [good_record(tenure_months=None)]},
    {"records": []},
    {"records": [good_record()] * 4},
    {"rows": [good_record()]},
    [good_record()],
    b'{"records": []}',
]


@pytest.mark.parametrize("unknown", ["reject", "ignore"])
@pytest.mark.parametrize("on_unexpected", ["answer", "refuse"])
def test_the_twin_accepts_what_the_explained_model_accepts(
    unknown: str, on_unexpected: str
) -> None:
    explained = _models(unknown, on_unexpected, explained=True)
    plain = _models(unknown, on_unexpected, explained=False)
    for body in BODIES:
        want, got = _outcome(explained, body), _outcome(plain, body)
        if isinstance(want, tuple):
            assert isinstance(got, tuple), body
        else:
            assert got == want, body


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*FEATURES, "customer_id", "email", "other"]),
        st.one_of(
            st.none(),
            st.integers(-10, 200),
            st.floats(allow_nan=True),
            st.text(max_size=12),
            st.booleans(),
        ),
    )
)
def test_the_twin_agrees_on_any_record(values: dict[str, Any]) -> None:
    explained = _models("ignore", "answer", explained=True)
    plain = _models("ignore", "answer", explained=False)
    body = {"records": [good_record(**values)]}
    want, got = _outcome(explained, body), _outcome(plain, body)
    assert isinstance(got, tuple) if isinstance(want, tuple) else got == want
