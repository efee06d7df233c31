"""Keys at the edge: for the routes that describe the service, and before a body is read.

``InfoGuard`` (a pure ASGI middleware) asks for an API key on the routes that describe the
service when ``ServeSettings.info_needs_key`` says so (by default: when the server listens
off loopback): ``/v1/model``, ``/v1/model/card``, ``/openapi.json`` and ``/docs`` answer
401 without a valid key; a key of any scope will do. ``/ready`` still answers a caller
without a key whether the service is ready (200 or 503, for load balancers and probes), but
with nothing else: no model version, no error text (which can name files on the server).
``/health``, ``/metrics`` and the predict and feedback routes are left to themselves.

``key_checked_first`` wraps the app's handler of unreadable bodies: FastAPI parses a JSON
body before it runs a route's dependencies, so a body that is not JSON used to be answered
(400) before the key was checked. Now a caller without a valid key hears 401 (or 403) first,
whatever it sent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from steadyml.errors import AuthError, SteadyMLError
from steadyml.flows.release import HEADER
from steadyml.serving.auth import KeyCache
from steadyml.serving.errors import error_body
from steadyml.serving.handlers import on_domain_error

__all__ = ["DESCRIBING", "KEY_SCOPES", "READY", "Handler", "InfoGuard", "key_checked_first"]

DESCRIBING = frozenset({"/v1/model", "/v1/model/card", "/openapi.json", "/docs"})
READY = "/ready"
#: the routes that take a body, and the scope a key needs for each (routes/dependencies.py)
KEY_SCOPES = {"/v1/predict": "predict", "/v1/feedback": "feedback"}
_ANY_SCOPE = "predict"  # checked with this scope; a 403 (valid key, other scope) passes

Handler = Callable[[Request, Exception], Awaitable[Response]]


async def _verify(keys: KeyCache, token: str | None, scope: str) -> SteadyMLError | None:
    """The key's problem for ``scope`` (an ``AuthError``, or another ``SteadyMLError`` such
    as the store being unreachable), or None. No key, or a key checked moments ago, is
    answered at once; otherwise the check may read the store, so it runs in a thread."""
    try:
        if not token or keys.fresh(token, scope):
            keys.verify(token, scope)
        else:
            await run_in_threadpool(keys.verify, token, scope)
    except SteadyMLError as exc:
        return exc
    return None


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class InfoGuard:
    def __init__(self, app: Any, *, keys: KeyCache) -> None:
        self.app = app
        self.keys = keys
        self._header = HEADER.lower().encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or (path not in DESCRIBING and path != READY):
            await self.app(scope, receive, send)
            return
        problem = await _verify(self.keys, _header(scope, self._header), _ANY_SCOPE)
        if isinstance(problem, AuthError) and problem.status == 403:
            problem = None  # a valid key without the predict scope: it may read these too
        if problem is None:
            await self.app(scope, receive, send)
        elif path == READY:
            await self._bare_ready(scope, receive, send)
        else:
            status = getattr(problem, "status", None)
            status = status if isinstance(status, int) else 503
            await _send_json(send, status, _refusal(problem, status, scope))

    async def _bare_ready(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """``/ready``'s status, without its details."""
        status = 500

        async def keep_status(message: Any) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message["status"])

        await self.app(scope, receive, keep_status)
        if status == 200:
            body: dict[str, Any] = {"ok": True, "status": "ready"}
        else:
            body = error_body(
                "Not ready. Send an API key in the X-API-Key header to see why.",
                request_id=_request_id(scope),
            )
        await _send_json(send, status, body)


def _request_id(scope: dict[str, Any]) -> str | None:
    rid = scope.get("state", {}).get("request_id")
    return None if rid is None else str(rid)


def _refusal(problem: SteadyMLError, status: int, scope: dict[str, Any]) -> dict[str, Any]:
    message = problem.message if problem.hint is None else f"{problem.message} {problem.hint}"
    return error_body(message, status=status, request_id=_request_id(scope))


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def key_checked_first(handler: Handler, keys: KeyCache) -> Handler:
    """``handler`` of bodies FastAPI could not read or validate, run only once the request's
    key may use its route (``KEY_SCOPES``); else the key's 401 or 403."""

    async def on_body_error(request: Request, exc: Exception) -> Response:
        scope = KEY_SCOPES.get(request.url.path)
        if scope is not None:
            problem = await _verify(keys, request.headers.get(HEADER), scope)
            if problem is not None:
                return await on_domain_error(request, problem)
        return await handler(request, exc)

    return on_body_error
