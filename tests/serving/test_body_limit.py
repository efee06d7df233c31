"""The body-size limit, as a bare ASGI middleware: a body framed by a Content-Length within
the limit goes through untouched; anything else is counted and refused past the limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from steadyml.serving.limits import BodySizeLimit

LIMIT = 100


class Echo:
    """An app that reads the whole body and answers its length; notes the receive it got."""

    def __init__(self) -> None:
        self.receives: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.receives.append(receive)
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = str(size).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def call(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, Any, Echo, Any]:
    app = Echo()
    limit = BodySizeLimit(app, max_bytes=LIMIT)
    parts = list(chunks)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        body = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/predict", "headers": headers}
    asyncio.run(limit(scope, receive, send))
    body = sent[1]["body"]
    return sent[0]["status"], body, app, receive


def test_a_body_framed_within_the_limit_reaches_the_app_untouched() -> None:
    status, body, app, receive = call([(b"content-length", b"60")], [b"x" * 30, b"y" * 30])
    assert (status, body) == (200, b"60")
    assert app.receives == [receive]  # no wrapper: nothing to count


def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs() -> None:
    status, body, app, _ = call([(b"content-length", b"101")], [b"x" * 101])
    assert status == 413 and "larger than the limit of 100 bytes" in json.loads(body)["error"]
    assert app.receives == []


@pytest.mark.parametrize(
    "headers",
    [
        [],  # streamed: no length at all
        [(b"content-length", b"10"), (b"transfer-encoding", b"chunked")],  # length not framing
        [(b"content-length", b"10"), (b"content-length", b"20")],  # two lengths
        [(b"content-length", b"ten")],  # a length that does not parse
    ],
)
def test_a_body_not_framed_by_one_length_is_counted_and_refused_past_the_limit(
    headers: list[tuple[bytes, bytes]],
) -> None:
    status, body, _, _ = call(headers, [b"x" * 60, b"y" * 60])
    assert status == 413 and json.loads(body)["ok"] is False
    status, body, _, _ = call(headers, [b"x" * 40, b"y" * 40])
    assert (status, body) == (200, b"80")
