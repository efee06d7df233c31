"""Refused records keep no personal data under any spelling of a personal-data column's name,
and no value of a column the contract does not know (only its name, in ``_unknown_columns``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from factories import churn_records
from inprocess import AppMaker
from live_server import store_dump

import steadyml
from steadyml.predlog import hmac_values
from steadyml.serving.refused import UNKNOWN, RefusedLog, refused_records

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COLUMNS = ["customer_id", "e-mail", "tenure", "plan"]


def _extra(i: int, key: str) -> dict[str, Any]:
    return {"type": "extra_forbidden", "loc": ("body", "records", i, key), "msg": "Extra inputs"}


def _logged(
    record: dict[str, Any],
    errors: list[dict[str, Any]],
    *,
    columns: list[str] | None = COLUMNS,
    mode: str = "remove",
) -> dict[str, Any]:
    how = RefusedLog(
        max_records=10, pii=["e-mail"], pii_mode=mode, pii_key="k" * 64,
        id_column="customer_id", columns=columns or (),
    )  # fmt: skip
    (rec,) = refused_records([record], errors, NOW, 1, how)
    return rec.inputs


def test_personal_data_under_the_field_name_or_another_spelling_is_never_kept_raw() -> None:
    record = {
        "customer_id": "c-1",
        "e_mail": "alias@example.org",  # the request model's field name for "e-mail"
        "Email": "case@example.org",
        "E-MAIL": "upper@example.org",
        "tenure": "long",
        "Nickname": "bob",
    }
    refused = [_extra(0, k) for k in ("Email", "E-MAIL", "Nickname")]
    bad = [{"type": "int_type", "loc": ("body", "records", 0, "tenure"), "msg": "bad"}]
    for columns in (COLUMNS, None):  # the service gave its columns, or did not
        logged = _logged(record, refused + bad, columns=columns)
        assert logged == {
            "customer_id": "c-1",
            "tenure": "long",
            UNKNOWN: ["Email", "E-MAIL", "Nickname"],
        }, columns
        hashed = _logged(record, refused + bad, columns=columns, mode="hash")
        assert hashed["e-mail"] == hmac_values(["alias@example.org"], "k" * 64)[0]
        assert "alias@example.org" not in str(hashed) and "case@" not in str(hashed)


def test_unknown_columns_accepted_by_a_lenient_model_are_logged_by_name_only() -> None:
    # serving.unknown_columns: ignore: the model does not refuse unknown keys, so nothing in
    # the errors says which are unknown; the contract's columns do
    record = {"customer_id": "c-2", "EMAIL": "lenient@example.org", "Phone": "+1 555 0100"}
    bad = [{"type": "missing", "loc": ("body", "records", 0, "tenure"), "msg": "missing"}]
    assert _logged(record, bad) == {"customer_id": "c-2", UNKNOWN: ["EMAIL", "Phone"]}
    # without the columns, a spelling of a personal-data column is still scrubbed as it
    assert "lenient@" not in str(_logged(record, bad, columns=None))


def _refused_logged(root: Any, at_least: int) -> None:
    deadline = time.monotonic() + 20
    with steadyml.open(root, env={}) as project:
        while project.store.count_predictions(answered=False) < at_least:
            assert time.monotonic() < deadline, "the refused records were not logged"
            time.sleep(0.1)


def test_the_service_keeps_no_personal_data_of_a_refused_record(make_server: AppMaker) -> None:
    srv = make_server()
    headers = {"X-API-Key": srv.keys["predict"]}
    (record,) = churn_records(srv.root, 1)
    record.pop("email", None)
    record.pop("phone", None)
    sent = [
        dict(record, Email="first.person@example.org", tenure_months="long"),
        dict(record, EMAIL="second.person@example.org", PHONE="+1-555-0199999"),
        dict(record, email="third.person@example.org", tenure_months=-5),
    ]
    res = srv.post("/v1/predict", json={"records": sent}, headers=headers)
    assert res.status_code == 422, res.text
    _refused_logged(srv.root, 3)
    with steadyml.open(srv.root, env={}) as project:
        logged = [p.inputs for p in project.store.list_predictions(limit=10)]
    assert sorted(tuple(r.get(UNKNOWN, ())) for r in logged) == [(), ("EMAIL", "PHONE"), ("Email",)]
    for table, dump in store_dump(srv.root).items():
        for value in ("first.person", "second.person", "third.person", "555-0199999"):
            assert value not in dump, f"{value!r} found in table {table}"
