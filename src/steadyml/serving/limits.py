"""Pure ASGI middlewares that bound a request body: its size (413) and the time it takes to
arrive (408), answered in the one error shape.

It checks Content-Length up front and counts the bytes of a streamed body, so an oversized
request is refused before it is parsed. A body whose Content-Length is within the limit is
passed on untouched: the HTTP server reads exactly that many bytes, so there is nothing to
count (and no per-request wrappers to pay for on the hot path).

A streamed (chunked) body that passes the limit used to be answered 400: the read fails
inside FastAPI, which answers "There was an error parsing the body". The app's answer is
now replaced by the 413 (``_replaced_if``); the same for a body that arrives too slowly
(408, ``BodyReadTimeout``).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    """Raised to the app by a read past the limit (the app's answer is then replaced)."""


class BodyReadTooSlow(Exception):
    """Raised to the app by a read past the body's deadline (answered 408)."""


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
        answer = _Replacing(send, self._refuse)  # past the limit: our 413, whatever the app says

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    answer.armed = True
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, answer.send)
        except BodyTooLarge:
            await answer.refuse()

    async def _refuse(self, send: Any) -> None:
        await send_error(
            send,
            413,
            f"The request body is larger than the limit of {self.max_bytes:,} bytes. "
            "Send fewer records per request.",
        )


class BodyReadTimeout:
    """Answer 408 when a request's body has not fully arrived ``seconds`` after the request
    began: a client that sends its headers and then trickles the body (or nothing) would
    otherwise hold a connection, and the memory of what it sent, for as long as it likes.

    Only requests that carry a body are watched (a Content-Length above 0, or a
    Transfer-Encoding), against one deadline per request, so a body sent a byte at a time
    cannot stretch it. A read that waits is registered while it waits; one timer, armed for
    the earliest deadline among them, cancels the reads that are past theirs (``_expire``).
    A read costs two dict operations; the timer is armed again only when it rang or a read
    has an earlier deadline than the one it waits for (about once per ``seconds`` under
    steady traffic). A timer per request (``loop.call_at``, cancelled once the body was in)
    cost a few microseconds a request, a few per cent of a prediction.
    """

    def __init__(self, app: Any, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reading: dict[_TimedBody, None] = {}  # bodies with a read waiting now
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # (a new loop: what was watched on the old one is gone)
            self._loop, self._reading, self._timer, self._timer_at = loop, {}, None, math.inf
        body = _TimedBody(self, loop, receive, send, loop.time() + self.seconds)
        try:
            await self.app(scope, body.receive, body.send)
        except BodyReadTooSlow:
            await body.refuse()
        finally:
            self._reading.pop(body, None)

    def _watch(self, body: _TimedBody) -> None:
        """``body`` waits for a piece: the timer must ring by its deadline."""
        self._reading[body] = None
        if body.deadline < self._timer_at and self._loop is not None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = body.deadline
            self._timer = self._loop.call_at(body.deadline, self._expire)

    def _expire(self) -> None:
        """Cancel the reads past their deadline; ring again for the earliest other one."""
        self._timer, self._timer_at = None, math.inf
        loop = self._loop
        if loop is None:  # pragma: no cover - armed only with a loop
            return
        now = loop.time()
        earliest = math.inf
        for body in list(self._reading):
            if body.deadline <= now:
                del self._reading[body]
                body.expire()
            else:
                earliest = min(earliest, body.deadline)
        if earliest < math.inf:
            self._timer_at = earliest
            self._timer = loop.call_at(earliest, self._expire)

    async def _refuse(self, send: Any) -> None:
        await send_error(
            send,
            408,
            f"The request body did not arrive within {self.seconds:g} s. Send the whole "
            "body at once, right after the headers.",
        )


class _Replacing:
    """The app's ``send``, except that once ``armed`` the app's answer is replaced by
    ``refuse``'s: the app saw a failed read and answers something else (FastAPI: 400 "There
    was an error parsing the body"), or raises. An answer that had already begun stays."""

    def __init__(self, send: Any, refuse: Callable[[Any], Awaitable[None]]) -> None:
        self._send = send
        self._refuse = refuse
        self.armed = False
        self.started = False
        self.replaced = False

    async def send(self, message: Any) -> None:
        if self.replaced:
            return
        if message.get("type") == "http.response.start":
            if self.armed and not self.started:
                await self.refuse()
                return
            self.started = True
        await self._send(message)

    async def refuse(self) -> None:
        """Answer with the refusal, unless an answer has begun."""
        if not (self.started or self.replaced):
            self.replaced = True
            await self._refuse(self._send)


async def send_error(send: Any, status: int, message: str) -> None:
    """Answer ``status`` with the one error body, and close the connection (the rest of the
    body was not read)."""
    body = json.dumps({"ok": False, "error": message, "errors": [], "request_id": None}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _TimedBody(_Replacing):
    """One request's ``receive`` against its deadline, and its ``send``, which gives way to
    the 408 once a read was too late (as ``_Replacing`` does)."""

    __slots__ = ("_loop", "_owner", "_receive", "deadline", "done", "late", "reader")

    def __init__(
        self,
        owner: BodyReadTimeout,
        loop: asyncio.AbstractEventLoop,
        receive: Any,
        send: Any,
        deadline: float,
    ) -> None:
        super().__init__(send, owner._refuse)
        self._owner = owner
        self._loop = loop
        self._receive = receive
        self.deadline = deadline
        self.done = False  # the whole body arrived: later receives (disconnect) are not bounded
        self.late = False
        self.reader: asyncio.Task[Any] | None = None  # the task waiting for a piece of the body
        # ``armed`` (from _Replacing): a read was too late, the app's answer gives way to the 408

    def expire(self) -> None:
        self.late = True
        if self.reader is not None:
            self.reader.cancel()  # its wait for the body ends; receive makes it a 408

    async def receive(self) -> Any:
        if self.done:
            return await self._receive()
        if self.late or self._loop.time() >= self.deadline:
            self.late = self.armed = True
            raise BodyReadTooSlow
        reader = self.reader = asyncio.current_task()
        self._owner._watch(self)
        try:
            message = await self._receive()
        except asyncio.CancelledError:
            if not self.late or reader is None:
                raise
            reader.uncancel()
            self.armed = True
            raise BodyReadTooSlow from None
        finally:
            self.reader = None
            self._owner._reading.pop(self, None)
        if message.get("type") != "http.request" or not message.get("more_body"):
            self.done = True
        return message


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False
