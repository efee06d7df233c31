"""``POST /v1/predict`` goes from the outermost middleware straight to its route
(``serving/shortcut.py``) when its body is framed by one Content-Length within the limit; the
answer (status, JSON, headers) is the one the whole middleware stack gives."""

from __future__ import annotations

import json
import re
from typing import Any

from factories import churn_records
from inprocess import AppMaker

from steadyml.serving.routes.predict import PATH
from steadyml.serving.settings import ServeSettings
from steadyml.serving.shortcut import PredictShortcut, shortcut_of

DROPPED = {"date", "x-request-id"}


def _plain(response: Any) -> tuple[int, Any, dict[str, str]]:
    body = response.json()
    for item in [body, *body.get("results", [])] if isinstance(body, dict) else []:
        item.pop("request_id", None)
        if isinstance(item.get("error"), str):  # a 500 names its request's id
            item["error"] = re.sub(r"[0-9a-f]{32}", "<id>", item["error"])
    headers = {k: v for k, v in response.headers.items() if k not in DROPPED}
    return response.status_code, body, headers


def _shortcut(server: Any) -> PredictShortcut:
    server.get("/health")  # the middleware stack is built on the first request
    found = shortcut_of(server.app)
    assert found is not None
    return found


def test_a_plain_prediction_takes_the_shortcut(make_server: AppMaker) -> None:
    server = make_server()
    shortcut = _shortcut(server)
    taken: list[bool] = []
    takes = shortcut.takes

    def recorded(scope: dict[str, Any]) -> bool:
        taken.append(takes(scope))
        return taken[-1]

    shortcut.takes = recorded  # type: ignore[method-assign]
    good = churn_records(server.root, 1)[0]
    key = {"X-API-Key": server.keys["predict"]}
    assert server.post(PATH, json={"records": [good]}, headers=key).status_code == 200
    server.post(PATH + "/", json={"records": [good]}, headers=key)
    server.get(PATH, headers=key)
    assert taken == [True, False, False]  # the trailing slash and the GET: the long way


def test_the_shortcut_answers_as_the_whole_stack_does(make_server: AppMaker) -> None:
    server = make_server(settings=ServeSettings(max_body_bytes=5_000, body_timeout_s=5.0))
    shortcut = _shortcut(server)
    good = churn_records(server.root, 1)[0]
    key = {"X-API-Key": server.keys["predict"]}
    as_json = {"content-type": "application/json"}
    bodies: list[tuple[bytes, dict[str, str]]] = [
        (json.dumps({"records": [good]}).encode(), as_json),
        (json.dumps({"records": [good, {**good, "tenure_months": "many"}]}).encode(), as_json),
        (json.dumps({"records": [{**good, "no_such_column": 1}]}).encode(), as_json),
        (json.dumps({"records": []}).encode(), as_json),
        (json.dumps({"records": [good] * 40}).encode(), as_json),  # past max_body_bytes: 413
        (b"{not json", as_json),
        (b"", as_json),
        (json.dumps({"records": [good]}).encode(), {"content-type": "text/plain"}),
    ]
    for headers in ({}, {"X-API-Key": "sml_wrong"}, key):
        for body, kind in bodies:
            shortcut.enabled = True
            short = _plain(server.post(PATH, content=body, headers={**kind, **headers}))
            shortcut.enabled = False
            try:
                long = _plain(server.post(PATH, content=body, headers={**kind, **headers}))
            finally:
                shortcut.enabled = True
            assert short == long, (body[:200], kind, headers)


def test_errors_raised_by_the_service_are_answered_as_the_whole_stack_answers_them(
    make_server: AppMaker,
) -> None:
    from steadyml.serving.service import ServiceUnavailable

    server = make_server()
    shortcut = _shortcut(server)
    service = server.app.state.service
    good = churn_records(server.root, 1)[0]
    key = {"X-API-Key": server.keys["predict"]}
    for error in (ServiceUnavailable("No model."), RuntimeError("a bug")):

        async def failing(*args: Any, error: Exception = error) -> Any:
            raise error

        service.predict = failing
        answers = []
        for enabled in (True, False):
            shortcut.enabled = enabled
            answers.append(_plain(server.post(PATH, json={"records": [good]}, headers=key)))
        shortcut.enabled = True
        assert answers[0] == answers[1]
        assert answers[0][0] == (503 if isinstance(error, ServiceUnavailable) else 500)
    del service.predict


def test_a_layer_it_does_not_know_turns_the_shortcut_off(make_server: AppMaker) -> None:
    """A middleware added between RequestMeta and the router (security headers, say) must
    see every prediction: the shortcut then takes none."""

    class Stamp:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            async def stamped(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"x-stamp", b"1")]
                await send(message)

            await self.app(scope, receive, stamped)

    server = make_server()
    stack = server.app.user_middleware
    stack.insert(1, type(stack[0])(Stamp))  # just inside RequestMeta (the outermost)
    good = churn_records(server.root, 1)[0]
    answer = server.post(PATH, json={"records": [good]},
                         headers={"X-API-Key": server.keys["predict"]})  # fmt: skip
    assert answer.status_code == 200 and answer.headers["x-stamp"] == "1"
    shortcut = shortcut_of(server.app)
    assert shortcut is not None and not shortcut.takes(
        {"path": PATH, "method": "POST", "headers": [(b"content-length", b"10")]}
    )
