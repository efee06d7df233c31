"""A pure ASGI middleware that refuses bodies over the limit with 413, in the one error shape.

It checks Content-Length up front and counts the bytes of a streamed body, so an oversized
request is refused before it is parsed. A body whose Content-Length is within the limit is
passed on untouched: the HTTP server reads exactly that many bytes, so there is nothing to
count (and no per-request wrappers to pay for on the hot path).
"""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = 0  # Content-Length headers that parse
        framed = True  # one Content-Length and no Transfer-Encoding: the length frames the body
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    framed = False
                    continue
                if declared > self.max_bytes:
                    await self._refuse(send)
                    return
                lengths += 1
                framed = framed and declared >= 0
            elif name == b"transfer-encoding":
                framed = False
        if framed and lengths == 1:
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = json.dumps(
            {
                "ok": False,
                "error": f"The request body is larger than the limit of {self.max_bytes:,} "
                "bytes. Send fewer records per request.",
                "errors": [],
                "request_id": None,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
