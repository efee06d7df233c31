"""A pure ASGI middleware: a request id for every request, and request counts by status.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a task and a stream per
request — noticeable when a request is otherwise a few milliseconds of work.
"""

from __future__ import annotations

from typing import Any

from steadyml.entities import new_request_id

COUNTED = ("/health", "/ready")
_CACHED = 256  # (path, status) counters kept at hand; any path under /v1/ is counted


class RequestMeta:
    def __init__(self, app: Any, *, requests: Any) -> None:
        self.app = app
        self.requests = requests  # a prometheus Counter labelled (endpoint, status)
        self._counters: dict[tuple[str, int], Any] = {}  # its children, each looked up once

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["request_id"] = new_request_id()
        path = scope.get("path", "")
        counted = path.startswith("/v1/") or path in COUNTED
        status = 500

        async def tracking_send(message: Any) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            if counted:
                counter = self._counters.get((path, status))
                if counter is None:
                    counter = self.requests.labels(path, str(status))
                    if len(self._counters) < _CACHED:
                        self._counters[(path, status)] = counter
                counter.inc()
