"""The HTTP edge under hostile or careless callers (issue 12): metric series bounded by the
routes, keys checked before anything about a body is said, the service's description behind
a key off loopback, a streamed body over the limit refused with 413, a body that does not
arrive answered 408, and one log line per repeated error (``errorlog.py``)."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from factories import churn_records, copy_project, read_keys
from inprocess import QUICK, AppMaker, AppServer, start_app

from steadyml.serving.auth import KeyCache
from steadyml.serving.errorlog import RepeatedErrors
from steadyml.serving.guard import InfoGuard
from steadyml.serving.limits import BodyReadTimeout

OFF_LOOPBACK = replace(QUICK, host="0.0.0.0")
DESCRIBING = ["/v1/model", "/v1/model/card", "/openapi.json", "/docs"]


def _series(metrics: str, name: str = "steadyml_requests_total{") -> list[str]:
    return [line for line in metrics.splitlines() if line.startswith(name)]


# --- metrics: labelled by route, not by the caller's path -----------------------------------


def test_random_paths_do_not_add_metric_series(server: AppServer) -> None:
    for _ in range(200):
        assert server.get(f"/v1/{secrets.token_hex(40)}").status_code == 404
    records = churn_records(server.root, 1)
    assert server.post("/v1/predict", json={"records": records},
                       headers={"X-API-Key": server.keys["predict"]}).status_code == 200  # fmt: skip
    series = _series(server.get("/metrics").text)
    assert len(series) <= 6, series  # one per (route, status) seen, not one per path
    assert any('endpoint="unmatched",status="404"' in s for s in series)
    assert any('endpoint="/v1/predict",status="200"' in s for s in series)
    assert not any("/v1/" in s and len(s) > 200 for s in series)


# --- keys first: nothing about a body before the key is checked -----------------------------


@pytest.mark.parametrize("path", ["/v1/predict", "/v1/feedback"])
def test_a_body_that_is_not_json_is_answered_401_without_a_key(
    server: AppServer, path: str
) -> None:
    junk = {"content": b'{"records": [{', "headers": {"content-type": "application/json"}}
    no_key = server.post(path, **junk)
    assert no_key.status_code == 401, no_key.text
    assert "API key" in no_key.json()["error"]
    not_json = server.post(path, content=b"a,b\n1,2", headers={"content-type": "text/csv"})
    assert not_json.status_code == 401, not_json.text
    bad_key = server.post(path, **{**junk, "headers": {**junk["headers"], "X-API-Key": "nope"}})
    assert bad_key.status_code == 401
    scope = "predict" if path == "/v1/predict" else "feedback"
    other = "feedback" if scope == "predict" else "predict"
    wrong_scope = {**junk["headers"], "X-API-Key": server.keys[other]}
    assert server.post(path, **{**junk, "headers": wrong_scope}).status_code == 403
    with_key = {**junk["headers"], "X-API-Key": server.keys[scope]}
    answer = server.post(path, **{**junk, "headers": with_key})
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]


# --- the service's description: a key off loopback -----------------------------------------


def test_off_loopback_the_description_needs_a_key_of_any_scope(make_server: AppMaker) -> None:
    srv = make_server(settings=OFF_LOOPBACK)
    for path in DESCRIBING:
        refused = srv.get(path)
        assert refused.status_code == 401, (path, refused.text)
        assert refused.json()["ok"] is False and "X-API-Key" in refused.json()["error"]
        assert srv.get(path, headers={"X-API-Key": "sml_wrong"}).status_code == 401
        assert srv.get(path, headers={"X-API-Key": srv.keys["feedback"]}).status_code == 200
    assert srv.get("/health").status_code == 200
    assert srv.get("/metrics").status_code == 200


def test_off_loopback_ready_without_a_key_says_only_whether_it_is_ready(
    make_server: AppMaker,
) -> None:
    srv = make_server(settings=OFF_LOOPBACK)
    bare = srv.get("/ready")
    assert (bare.status_code, bare.json()) == (200, {"ok": True, "status": "ready"})
    full = srv.get("/ready", headers={"X-API-Key": srv.keys["predict"]})
    assert full.status_code == 200 and full.json()["model_version"] == 1


def test_ready_without_a_key_hides_why_it_is_not_ready(server: AppServer) -> None:
    """A not-ready answer's details (here a path on the server) reach only a keyed caller."""
    detail = "Not ready: cannot read /srv/secret/models/churn.npz"

    async def not_ready(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = json.dumps({"ok": False, "error": detail}).encode()
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": body})

    guard = InfoGuard(not_ready, keys=KeyCache(server.project.store))

    def ask(headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/ready", "headers": headers}
        asyncio.run(guard(scope, receive, send))
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])

    status, body = ask([])
    assert status == 503 and b"secret" not in body and b"Not ready" in body
    status, body = ask([(b"x-api-key", server.keys["admin"].encode())])
    assert status == 503 and b"/srv/secret/models" in body


def test_on_loopback_the_description_is_open_by_default(server: AppServer) -> None:
    for path in DESCRIBING:
        assert server.get(path).status_code == 200, path
    assert server.get("/ready").json()["model_version"] == 1


def test_the_project_file_can_ask_for_a_key_on_loopback_too(make_server: AppMaker) -> None:
    srv = make_server("\nserving:\n  info_auth: api_key\n")
    assert srv.get("/v1/model").status_code == 401
    assert srv.get("/v1/model", headers={"X-API-Key": srv.keys["admin"]}).status_code == 200


def test_info_auth_none_keeps_the_description_open_off_loopback(make_server: AppMaker) -> None:
    srv = make_server(settings=replace(OFF_LOOPBACK, info_auth="none"))
    for path in DESCRIBING:
        assert srv.get(path).status_code == 200, path


# --- request bodies: too large when streamed, too slow --------------------------------------


def test_a_streamed_body_over_the_limit_is_refused_with_413(make_server: AppMaker) -> None:
    srv = make_server(settings=replace(QUICK, max_body_bytes=1_000))

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"records": ['
        for _ in range(100):
            yield b'{"tenure_months": 1},'
        yield b"{}]}"

    answer = srv.post("/v1/predict", content=chunks(), headers={
        "content-type": "application/json", "X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert answer.status_code == 413, answer.text
    assert "larger than the limit of 1,000 bytes" in answer.json()["error"]


def test_a_body_that_stops_arriving_is_answered_408(make_server: AppMaker) -> None:
    srv = make_server(settings=replace(QUICK, body_timeout_s=0.3))

    async def stalls() -> AsyncIterator[bytes]:
        yield b'{"records": ['
        await asyncio.sleep(30)  # never finishes within the test: the server gives up first
        yield b"]}"

    answer = srv.post("/v1/predict", content=stalls(), headers={
        "content-type": "application/json", "X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert answer.status_code == 408, answer.text
    assert "did not arrive within 0.3 s" in answer.json()["error"]
    records = churn_records(srv.root, 1)
    fine = srv.post("/v1/predict", json={"records": records},
                    headers={"X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert fine.status_code == 200


# --- one log line per repeated error --------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def serving_log() -> Iterator[_Lines]:
    lines = _Lines()
    logger = logging.getLogger("steadyml.serving")
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)


def test_a_repeated_500_is_logged_once_with_a_count(
    serving_template: Path, tmp_path: Path, serving_log: _Lines
) -> None:
    root = copy_project(serving_template, tmp_path)
    srv = start_app(root, read_keys(root))

    async def broken() -> None:
        raise RuntimeError("the database is gone")

    stopped = False
    try:
        srv.app.add_api_route("/v1/broken", broken, methods=["GET"])
        for _ in range(30):
            answer = srv.get("/v1/broken")
            assert answer.status_code == 500
            body = answer.json()
            assert body["ok"] is False and body["request_id"] in body["error"]
            assert "Traceback" not in answer.text
        mine = [r for r in serving_log.records if "RuntimeError" in r.getMessage()]
        assert len(mine) == 1 and mine[0].exc_info is not None  # the first, with its traceback
        assert 'endpoint="/v1/broken",status="500"} 30.0' in srv.get("/metrics").text
        srv.stop()  # the app's shutdown writes the count of the repeats
        stopped = True
    finally:
        if not stopped:
            srv.stop()
    mine = [r for r in serving_log.records if "RuntimeError" in r.getMessage()]
    assert len(mine) == 2 and mine[1].exc_info is None
    assert "repeated 29 times" in mine[1].getMessage()
    assert "GET /v1/broken" in mine[1].getMessage()


def test_repeats_are_written_once_per_window_by_kind() -> None:
    lines = _Lines()
    logger = logging.getLogger("test.errorlog")
    logger.addHandler(lines)
    logger.propagate = False
    now = [0.0]
    errors = RepeatedErrors(logger, window_s=60, clock=lambda: now[0])

    def fail(kind: type[Exception]) -> Exception:
        try:
            raise kind("boom")
        except Exception as exc:
            return exc

    for t in range(100):  # one a second: 100 s
        now[0] = float(t)
        errors.report(fail(RuntimeError), request=f"GET /v1/x, request id {t}")
    errors.report(fail(KeyError), request="GET /v1/y, request id k")
    messages = [r.getMessage() for r in lines.records]
    assert len(messages) == 3, messages
    assert "RuntimeError" in messages[0] and lines.records[0].exc_info is not None
    assert "repeated 60 times in the last 60 s" in messages[1]
    assert "KeyError" in messages[2] and lines.records[2].exc_info is not None
    errors.flush()
    messages = [r.getMessage() for r in lines.records]
    assert len(messages) == 4 and "repeated 39 times in the last 39 s" in messages[3]
    assert "request id 99" in messages[3]
    errors.flush()  # nothing new: nothing written
    assert len(lines.records) == 4


def test_body_read_timeout_as_a_bare_middleware() -> None:
    """An app that lets the failed read escape is answered 408 too; a body that is all there
    is passed on, and a request without a body is not watched."""

    async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": message.get("body", b"")})

    def call(headers: list[tuple[bytes, bytes]], arrives: bool) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if not arrives:
                await asyncio.Event().wait()  # the client never sends its body
            return {"type": "http.request", "body": b"hello", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/v1/predict", "headers": headers}
        asyncio.run(BodyReadTimeout(echo, seconds=0.05)(scope, receive, send))
        return sent[0]["status"], sent[1]["body"]

    status, body = call([(b"content-length", b"5")], arrives=False)
    assert status == 408 and "did not arrive within 0.05 s" in json.loads(body)["error"]
    assert call([(b"content-length", b"5")], arrives=True) == (200, b"hello")
    assert call([(b"transfer-encoding", b"chunked")], arrives=True) == (200, b"hello")
