"""``POST /v1/predict`` is answered by ``routes.predict.FastRoute`` (no FastAPI dependency
machinery); the FastAPI route of the same path stays for the schema. Whatever the body, the
two give the same answer: the same status and the same JSON, request ids aside."""

from __future__ import annotations

import json
from typing import Any

from factories import churn_records
from inprocess import AppMaker

from steadyml.serving.routes.predict import PATH, FastRoute
from steadyml.serving.shortcut import shortcut_of


def _bodies(good: dict[str, Any]) -> list[tuple[bytes, dict[str, str]]]:
    as_json = {"content-type": "application/json"}
    deep = '{"records": [' + "[" * 5000 + "]" * 5000 + "]}"
    cases: list[tuple[Any, dict[str, str]]] = [
        ({"records": [good]}, as_json),
        ({"records": [good, {**good, "tenure_months": "many"}]}, as_json),
        ({"records": [{**good, "no_such_column": 1}]}, as_json),
        ({"records": [{**good, "contract": "month\ud800"}]}, as_json),
        ({"records": []}, as_json),
        ({"rows": [good]}, as_json),
        ([good], as_json),
        ({"records": [good]}, {"content-type": "text/plain"}),
        ({"records": [good]}, {}),
        ({"records": [good]}, {"content-type": "application/vnd.api+json"}),
        ({"records": [good]}, {"content-type": "Application/JSON; charset=utf-8"}),
        ({"records": [good]}, {"content-type": "application/json/x"}),
        ({"records": [good]}, {"content-type": "json"}),
        ({"records": [good]}, {"content-type": " application/json ;q=1"}),
    ]
    out = [(json.dumps(body).encode(), headers) for body, headers in cases]
    out += [
        (b"", as_json),
        (b"{not json", as_json),
        (b'{"records": [NaN]}', as_json),
        (deep.encode(), as_json),
        (json.dumps({"records": [good]}).encode("utf-16"), as_json),  # read as UTF-16
        (b"\xef\xbb\xbf" + json.dumps({"records": [good]}).encode(), as_json),  # a BOM
        (b'{"records": [{"contract": "\xff"}]}', as_json),  # not UTF-8
        (b"{", as_json),
    ]
    return out


def _plain(response: Any) -> tuple[int, Any]:
    body = response.json()
    for item in [body, *body.get("results", [])] if isinstance(body, dict) else []:
        item.pop("request_id", None)
    return response.status_code, body


def test_the_fast_route_answers_as_the_fastapi_route_does(make_server: AppMaker) -> None:
    server = make_server()
    good = churn_records(server.root, 1)[0]
    routes = server.app.router.routes
    fast_route = next(r for r in routes if isinstance(r, FastRoute))  # the one answering
    at = routes.index(fast_route)
    key = {"X-API-Key": server.keys["predict"]}
    server.get("/health")  # builds the middleware stack
    shortcut = shortcut_of(server.app)
    assert shortcut is not None
    for headers in ({}, {"X-API-Key": "sml_wrong"}, key):
        for body, kind in _bodies(good):
            fast = _plain(server.post(PATH, content=body, headers={**kind, **headers}))
            routes.remove(fast_route)
            shortcut.enabled = False  # else it would still answer through the fast route
            try:
                slow = _plain(server.post(PATH, content=body, headers={**kind, **headers}))
            finally:
                routes.insert(at, fast_route)
                shortcut.enabled = True
            if slow[0] == 400 and headers != key:
                # a body Python's JSON reader gives up on (nested too deep): FastAPI answers
                # 400 before its key dependency runs; the fast route checks the key first,
                # as it does for every other body error
                assert fast[0] in (401, 403), (body[:200], fast)
                continue
            assert fast == slow, (body[:200], kind, headers)
