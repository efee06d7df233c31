"""Values a store cannot keep, or that would crash the answer, are refused at validation: a 422
that names the field, shows the value escaped and says what to do; never a 500, a 503 or a
log row lost (issue 12).

A lone surrogate (``"\\ud800"`` in JSON) fails SQLite writes and any JSON answer that echoes
it; a NUL fails PostgreSQL writes; a request id over 200 characters, or a label of NaN or
Infinity, fails PostgreSQL's feedback table. What the request models accept is written to a
real store, SQLite and PostgreSQL, through the same code the service uses.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from factories import churn_records, good_record, request_models
from pydantic import ValidationError

import steadyml
from steadyml.predlog.chunks import LogLayout, LogPiece, chunks_of, store_chunk
from steadyml.serving.errors import validation_error_body
from steadyml.serving.requests import FeedbackRequest
from steadyml.store import Store, open_store

Server = Any  # inprocess.AppServer (the fixtures live in conftest.py)

SURROGATE = "C-\ud800-1"
NUL = "C-\x00-1"
HOSTILE_TEXT = {"lone surrogate": SURROGATE, "NUL": NUL}
#: the churn contract's text columns: an id, personal data, a feature and a sensitive column
TEXT_COLUMNS = ["customer_id", "email", "contract", "gender"]


def refused(model: Any, body: Any) -> dict[str, Any]:
    """The API's error body for ``body`` (which must not validate); it must also be an
    answer a JSON response can carry (UTF-8)."""
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    out = validation_error_body(info.value)
    json.dumps(out, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return out


# --- text the store cannot keep -----------------------------------------------------------


@pytest.mark.parametrize("column", TEXT_COLUMNS)
@pytest.mark.parametrize("what", list(HOSTILE_TEXT))
def test_text_the_store_cannot_keep_is_a_422_naming_the_field(column: str, what: str) -> None:
    _, request_model = request_models(on_unexpected="answer")  # categories only warn
    body = refused(request_model, {"records": [good_record(**{column: HOSTILE_TEXT[what]})]})
    [item] = body["errors"]
    assert item["loc"] == ["records", 0, column]
    assert item["type"] == "string_unstorable"
    sent = {"lone surrogate": "C-\\ud800-1", "NUL": "C-\\u0000-1"}[what]  # escaped
    shown = repr(sent)
    assert item["msg"].startswith(f"records[0].{column}: contains a {what}")
    assert item["msg"].endswith(f"which the store cannot keep; "
                                f"{'remove it' if what == 'NUL' else 'send the whole pair or remove it'}"
                                f"; got {shown}.")  # fmt: skip
    assert item["input"] == sent


def test_a_whole_surrogate_pair_is_a_character_and_is_accepted() -> None:
    _, request_model = request_models(on_unexpected="answer")
    req = request_model.model_validate({"records": [good_record(customer_id="C-\U0001f600")]})
    assert req.records[0].model_dump(by_alias=True)["customer_id"] == "C-\U0001f600"


@pytest.mark.parametrize("unknown", ["reject", "ignore"])
@pytest.mark.parametrize("what", list(HOSTILE_TEXT))
def test_a_column_name_the_store_cannot_keep_is_named_escaped(unknown: str, what: str) -> None:
    _, request_model = request_models(unknown=unknown)
    name = HOSTILE_TEXT[what]
    body = refused(request_model, {"records": [good_record(**{name: 1})]})
    [item] = body["errors"]
    assert item["loc"] == [
        "records",
        0,
        {"lone surrogate": "C-\\ud800-1", "NUL": "C-\\u0000-1"}[what],
    ]
    assert item["type"] == ("extra_forbidden" if unknown == "reject" else "string_unstorable")


def test_a_value_that_breaks_another_rule_is_echoed_escaped() -> None:
    """Not text the store cannot keep, but text in a number column: the 422 still echoes the
    value, so it must be escaped or the answer itself fails (it was a 500)."""
    _, request_model = request_models()
    body = refused(request_model, {"records": [good_record(tenure_months={SURROGATE: [NUL]})]})
    [item] = body["errors"]
    assert item["loc"] == ["records", 0, "tenure_months"]
    assert item["input"] == {"C-\\ud800-1": ["C-\\u0000-1"]}


def test_an_id_longer_than_the_log_keeps_whole_is_a_422() -> None:
    """The id column is the log's row key (200 characters), by which labels are joined: a
    longer id was cut short there, so a label sent with the whole id never joined."""
    _, request_model = request_models()
    body = refused(request_model, {"records": [good_record(customer_id="C" * 201)]})
    [item] = body["errors"]
    assert item["loc"] == ["records", 0, "customer_id"]
    assert item["msg"].startswith(
        "records[0].customer_id: must be at most 200 characters, the longest row id the log "
        "keeps whole (labels are joined by it); send a shorter id; got 'CCCC"
    )
    request_model.model_validate({"records": [good_record(customer_id="C" * 200)]})
    schema = request_model.model_json_schema()
    record = next(iter(schema["$defs"].values()))
    assert record["properties"]["customer_id"]["anyOf"][0]["maxLength"] == 200


# --- numbers and times ------------------------------------------------------------------


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**400])
def test_a_whole_number_beyond_64_bits_is_refused(value: int) -> None:
    _, request_model = request_models(on_unexpected="answer")  # no range from training
    body = refused(request_model, {"records": [good_record(tenure_months=value)]})
    [item] = body["errors"]
    assert item["type"] == "int64_range"
    assert item["msg"].startswith(
        "records[0].tenure_months: must be a whole number from -9223372036854775808 to "
        "9223372036854775807 (64 bits); got "
    )
    request_model.model_validate({"records": [good_record(tenure_months=2**63 - 1)]})


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-01:00",
        "0001-01-01T00:30:00+01:00",
        "9999-12-31T23:59:59.999999-00:01",
        "0001-01-01T00:00:00+23:59",
    ],
)
def test_a_date_time_outside_years_1_to_9999_in_utc_is_a_422(value: str) -> None:
    _, request_model = request_models()
    body = refused(request_model, {"records": [good_record(signup_date=value)]})
    [item] = body["errors"]
    assert item["type"] == "utc_out_of_range"
    assert item["msg"] == (
        "records[0].signup_date: must be a date-time from year 1 to 9999 once its offset is "
        f"applied (in UTC); send it in UTC or without an offset; got {value!r}."
    )


# --- labels -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "loc", "words"),
    [
        ({"request_id": "r" * 201, "label": 1}, "request_id", "must be at most 200 characters"),
        ({"request_id": NUL, "label": 1}, "request_id", "contains a NUL character"),
        ({"request_id": SURROGATE, "label": 1}, "request_id", "contains a lone surrogate"),
        ({"request_id": 17, "label": 1}, "request_id", "expects text"),
        ({"request_id": "r", "label": math.nan}, "label", "expects a finite number; got NaN"),
        ({"request_id": "r", "label": math.inf}, "label", "expects a finite number"),
        ({"request_id": "r", "label": -math.inf}, "label", "expects a finite number"),
        ({"request_id": "r", "label": 2**63}, "label", "64 bits"),
        ({"request_id": "r", "label": NUL}, "label", "contains a NUL character"),
        ({"request_id": "r", "label": SURROGATE}, "label", "contains a lone surrogate"),
        ({"request_id": "r", "label": None}, "label", "must be the true outcome"),
        ({"request_id": "r", "label": {"a": 1}}, "label", "must be the true outcome"),
        ({"request_id": "r", "label": [1]}, "label", "must be the true outcome"),
    ],
)
def test_a_label_the_store_cannot_keep_is_a_422_naming_the_field(
    item: dict[str, Any], loc: str, words: str
) -> None:
    body = refused(FeedbackRequest, {"labels": [{"request_id": "ok", "label": 0}, item]})
    [err] = body["errors"]
    assert err["loc"] == ["labels", 1, loc]
    assert err["msg"].startswith(f"labels[1].{loc}: "), err["msg"]
    assert words in err["msg"], err["msg"]


#: labels at the edges of what the API accepts, each of which the store must keep
EDGE_LABELS = [
    ("r" * 200, 1),
    ("C-\U0001f600", "churned"),
    ("x", 1e308),
    ("y", -(2**63)),
    ("z", True),
    ("é" * 200, "é"),
]
#: labels the API refuses, each of which some store could not keep
BAD_LABELS = [("r" * 201, 1), (NUL, 1), (SURROGATE, 1), ("n", math.nan), ("i", math.inf),
              ("s", NUL), ("t", SURROGATE)]  # fmt: skip


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, project="p")
    yield opened
    opened.close()


def test_every_label_the_api_accepts_the_store_keeps(store: Store) -> None:
    """SQLite and PostgreSQL: what validates is stored (a long id, NUL, NaN and Infinity
    failed PostgreSQL's feedback table; a surrogate failed SQLite's)."""
    for key, label in BAD_LABELS:
        with pytest.raises(ValidationError):
            FeedbackRequest.model_validate({"labels": [{"request_id": key, "label": label}]})
    body = {"labels": [{"request_id": k, "label": v} for k, v in EDGE_LABELS]}
    request = FeedbackRequest.model_validate(body)
    stored, _ = store.add_feedback([(i.request_id, i.label) for i in request.labels])
    assert stored == len(EDGE_LABELS)
    for key, label in EDGE_LABELS:
        assert store.get_feedback(key) == (label, 1)


def test_every_record_the_api_accepts_the_log_keeps(store: Store) -> None:
    """SQLite and PostgreSQL: records with hostile text in each text column either validate
    and are written by the log's own code (rows and chunks), or are refused; none fails the
    store (a surrogate failed SQLite, a NUL in the id column PostgreSQL)."""
    record_model, request_model = request_models(on_unexpected="answer")
    columns = list(record_model.contract_columns)
    layout = LogLayout(columns, types=dict(record_model.column_types), pii=["email"],
                       id_column="customer_id")  # fmt: skip
    sent = [good_record(customer_id="C-\U0001f600", email="é@x.org", contract="zwei-jahre")]
    sent += [good_record(**{c: v}) for c in TEXT_COLUMNS for v in HOSTILE_TEXT.values()]
    accepted = []
    for rec in sent:
        try:
            accepted.extend(request_model.model_validate({"records": [rec]}).records)
        except ValidationError:
            continue
    assert len(accepted) == 1  # only the first: every hostile one is refused
    values = [[r.model_dump(by_alias=True)[c] for c in columns] for r in accepted]
    piece = LogPiece(values, [f"r{i}" for i in range(len(values))], [0] * len(values),
                     [0.5] * len(values), 1, "live", 1.0, time.time())  # fmt: skip
    assert store.add_predictions(layout.records([piece])) == len(values)
    for chunk in chunks_of(layout.table([piece])):
        store_chunk(store, chunk)
    [row] = store.list_predictions(limit=10, request_ids=["r0"])
    assert row.row_key == "C-\U0001f600"


# --- the service --------------------------------------------------------------------------


def _post(server: Server, path: str, raw: str, key: str = "admin") -> httpx.Response:
    """POST a JSON text as it is (json= would refuse to encode a lone surrogate)."""
    headers = {"X-API-Key": server.keys[key], "Content-Type": "application/json"}
    return server.post(path, content=raw.encode("utf-8"), headers=headers)


def _logged(server: Server, request_ids: list[str], timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    with steadyml.open(server.root, env={}) as project:
        while time.monotonic() < deadline:
            found = {p.request_id: p for p in project.store.list_predictions(
                limit=100_000, request_ids=request_ids)}  # fmt: skip
            if set(found) >= set(request_ids):
                break
            time.sleep(0.2)
    return found


def test_a_poisoned_record_is_refused_and_other_clients_rows_are_all_logged(
    server: Server,
) -> None:
    good = churn_records(server.root, 1, start=60)[0]
    ids = []
    for n in range(3):
        res = _post(server, "/v1/predict", json.dumps({"records": [good]}))
        assert res.status_code == 200, res.text
        ids += [r["request_id"] for r in res.json()["results"]]
        # a hostile text (JSON escapes, as a client sends them) in a column the model reads
        # and in the id column: refused, named, shown escaped
        poisoned = json.dumps({"records": [dict(good, plan=f"p{n}\ud800",
                                                customer_id=f"C\u0000{n}")]})  # fmt: skip
        bad = _post(server, "/v1/predict", poisoned)
        assert bad.status_code == 422, bad.text
        locs = sorted(tuple(e["loc"]) for e in bad.json()["errors"])
        assert locs == [("records", 0, "customer_id"), ("records", 0, "plan")]
        inputs = sorted(e["input"] for e in bad.json()["errors"])
        assert inputs == [f"C\\u0000{n}", f"p{n}\\ud800"]
    assert set(_logged(server, ids)) == set(ids)  # every answered row, none lost
    with steadyml.open(server.root, env={}) as project:
        refused_rows = [p for p in project.store.list_predictions(limit=100_000)
                        if p.error and str(p.inputs.get("plan")).endswith("\\ud800")]  # fmt: skip
    assert {r.inputs["plan"] for r in refused_rows} >= {"p0\\ud800", "p1\\ud800", "p2\\ud800"}
    assert all("contains a lone surrogate" in (r.error or "") for r in refused_rows)


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ('{"records": [{"\\ud800": 1}]}', ["records", 0, "\\ud800"]),
        ('{"records": [{"tenure_months": "\\ud800"}]}', ["records", 0, "tenure_months"]),
        ('{"records": ["\\ud800"]}', ["records", 0]),
        ('{"\\ud800": []}', ["\\ud800"]),
    ],
)
def test_a_surrogate_anywhere_in_a_refused_body_is_a_422_not_a_500(
    server: Server, raw: str, loc: list[Any]
) -> None:
    res = _post(server, "/v1/predict", raw)
    assert res.status_code == 422, res.text
    assert loc in [e["loc"] for e in res.json()["errors"]]


@pytest.mark.parametrize(
    ("label", "loc"),
    [
        ('{"request_id": "' + "x" * 201 + '", "label": 1}', "request_id"),
        ('{"request_id": "a\\u0000", "label": 1}', "request_id"),
        ('{"request_id": "\\ud800", "label": 1}', "request_id"),
        ('{"request_id": "a", "label": NaN}', "label"),
        ('{"request_id": "a", "label": Infinity}', "label"),
        ('{"request_id": "a", "label": 1, "\\ud800": 2}', "\\ud800"),
    ],
)
def test_feedback_the_store_cannot_keep_is_a_422_naming_the_field(
    server: Server, label: str, loc: str
) -> None:
    res = _post(server, "/v1/feedback", '{"labels": [' + label + "]}", key="feedback")
    assert res.status_code == 422, res.text
    [err] = res.json()["errors"]
    assert err["loc"] == ["labels", 0, loc]


def test_a_whole_number_no_float_holds_is_a_422_not_a_503(server: Server) -> None:
    good = json.dumps({"records": [churn_records(server.root, 1)[0]]})
    tenure = json.dumps(churn_records(server.root, 1)[0]["tenure_months"])
    raw = good.replace(f'"tenure_months": {tenure}', '"tenure_months": 1' + "0" * 400)
    assert raw != good
    res = _post(server, "/v1/predict", raw)
    assert res.status_code == 422, res.text
    assert res.json()["errors"][0]["loc"] == ["records", 0, "tenure_months"]
