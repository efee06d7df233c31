"""A pure ASGI middleware: a request id for every request, request counts by route and
status, and the 500 for an error nothing else handled.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a task and a stream per
request — noticeable when a request is otherwise a few milliseconds of work.

Requests are counted by the route's template (``/v1/predict``), never by the raw path: a
path is chosen by the caller, so labelling by it let anyone add a metric series per request
(3,000 random paths took ``/metrics`` from 3.7 KB to 37 MB). A path no route matches is
counted as ``unmatched``.

An error nothing handled is answered here (500, the one error body) and logged once per
kind with a count (``errorlog.py``); it is not raised on to Starlette's outer error
middleware, which would re-raise it so that uvicorn logs its whole traceback again, per
request.
"""

from __future__ import annotations

from typing import Any

from steadyml.entities import new_request_id
from steadyml.serving.errorlog import RepeatedErrors
from steadyml.serving.handlers import unhandled_answer
from steadyml.serving.shortcut import PredictShortcut

__all__ = ["COUNTED", "UNMATCHED", "RequestMeta", "route_label"]

COUNTED = ("/health", "/ready")
UNMATCHED = "unmatched"
_CACHED = 256  # (route, status) counters kept at hand


def route_label(scope: dict[str, Any]) -> str:
    """The template of the route that answered (``/v1/predict``), or ``unmatched``."""
    route = scope.get("route")
    label = getattr(route, "path_format", None) or getattr(route, "path", None)
    return label if isinstance(label, str) else UNMATCHED


class RequestMeta:
    def __init__(
        self,
        app: Any,
        *,
        requests: Any,
        errors: RepeatedErrors | None = None,
        shortcut: PredictShortcut | None = None,
    ) -> None:
        self.app = app
        self.shortcut = shortcut  # POST /v1/predict straight to its route (shortcut.py)
        if shortcut is not None:
            shortcut.bind(app)
        self.requests = requests  # a prometheus Counter labelled (endpoint, status)
        self.errors = errors  # None: an unhandled error is raised on, as before
        self._counters: dict[tuple[str, int], Any] = {}  # its children, each looked up once

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        path = scope.get("path", "")
        counted = path.startswith("/v1/") or path in COUNTED
        status = 500
        started = False

        async def tracking_send(message: Any) -> None:
            nonlocal status, started
            if message.get("type") == "http.response.start":
                status = int(message["status"])
                started = True
            await send(message)

        shortcut = self.shortcut
        inner = shortcut if shortcut is not None and shortcut.takes(scope) else self.app
        try:
            await inner(scope, receive, tracking_send)
        except Exception as exc:
            if self.errors is None:
                raise
            if not started:
                answer = unhandled_answer(
                    self.errors, exc, str(scope.get("method", "")), path, str(rid)
                )
                await answer(scope, receive, tracking_send)
            else:  # the answer had begun: the server ends the connection
                self.errors.report(exc, request=f"{scope.get('method')} {path}, request id {rid}")
        finally:
            if counted:
                key = (route_label(scope), status)
                counter = self._counters.get(key)
                if counter is None:
                    counter = self.requests.labels(key[0], str(status))
                    if len(self._counters) < _CACHED:
                        self._counters[key] = counter
                counter.inc()
