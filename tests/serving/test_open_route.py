"""Without API keys (``serving.auth: none``) predictions go through ``predict_open``, a route
with no dependency to resolve: the same answers, refusals and documented body as the route
that checks a key."""

from __future__ import annotations

import dataclasses
from typing import Any

from factories import churn_records
from inprocess import QUICK, AppMaker, AppServer


def post(server: AppServer, body: Any, key: str | None) -> Any:
    headers = {} if key is None else {"X-API-Key": server.keys[key]}
    return server.post("/v1/predict", json=body, headers=headers)


def test_without_keys_the_open_route_answers_and_refuses_as_the_keyed_one(
    make_server: AppMaker,
) -> None:
    keyed = make_server()
    open_ = make_server(settings=dataclasses.replace(QUICK, require_auth=False))
    records = churn_records(keyed.root, 3, start=30)

    a, b = post(keyed, {"records": records}, "predict"), post(open_, {"records": records}, None)
    assert a.status_code == b.status_code == 200
    drop = ("request_id",)
    answers = [[{k: v for k, v in r.items() if k not in drop} for r in res.json()["results"]]
               for res in (a, b)]  # fmt: skip
    assert answers[0] == answers[1]

    bad = [dict(records[0], tenure_months="abc"), {**records[1], "surprise": 1}]
    a, b = post(keyed, {"records": bad}, "predict"), post(open_, {"records": bad}, None)
    assert a.status_code == b.status_code == 422
    body_a, body_b = a.json(), b.json()
    body_a.pop("request_id"), body_b.pop("request_id")
    assert body_a == body_b

    assert post(keyed, {"records": records}, None).status_code == 401  # the keyed one checks
    docs = [s.get("/openapi.json").json()["paths"]["/v1/predict"] for s in (keyed, open_)]
    assert docs[0]["post"]["requestBody"] == docs[1]["post"]["requestBody"]
    assert docs[0]["post"]["responses"]["200"] == docs[1]["post"]["responses"]["200"]
