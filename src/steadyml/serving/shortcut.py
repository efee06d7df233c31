"""``POST /v1/predict`` straight from the outermost middleware to its route.

A prediction request used to pass, after ``RequestMeta``, through ``InfoGuard``,
``BodySizeLimit``, ``BodyReadTimeout``, Starlette's ``ExceptionMiddleware``, FastAPI's
``AsyncExitStackMiddleware`` and its router (which tries each route in turn) before it reached
``FastRoute``: a few microseconds each, a third of what the app spends on a one-record
request. ``PredictShortcut`` takes the requests whose path and body need none of what those
layers do, and hands them to the route's own ASGI app with the scope the layers would have
left (the exception handlers, the route, the router), behind ``BodyReadTimeout``:

- exactly ``POST /v1/predict`` (no ``root_path``); any other method, a trailing slash and so
  on go the long way (405, redirects, 404 as before);
- a body framed by one Content-Length within ``max_bytes`` and no Transfer-Encoding (what
  ``BodySizeLimit`` passes on untouched); anything else goes the long way (413, counting a
  streamed body);
- ``InfoGuard`` and ``AsyncExitStackMiddleware`` do nothing for this route (no describing path,
  no dependency to close); the exceptions the route's handlers do not answer are raised to
  ``RequestMeta``, as ``ExceptionMiddleware`` would have raised them on.

So the answers, headers and statuses are the long way's (``tests/serving/test_shortcut.py``
sends the same requests both ways).
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request

from steadyml.serving.guard import InfoGuard
from steadyml.serving.limits import BodyReadTimeout, BodySizeLimit

__all__ = ["SKIPPED", "PredictShortcut", "shortcut_of"]

#: the layers between ``RequestMeta`` and the router a prediction may skip; any other found
#: there (a layer added later) turns the shortcut off, so nothing it does is skipped
SKIPPED = (InfoGuard, BodySizeLimit, BodyReadTimeout)

_route_selected: Any
try:  # FastAPI's record of the matched route for its telemetry (a no-op without it)
    from fastapi.telemetry._api import _route_selected
except ImportError:  # pragma: no cover - another FastAPI version
    _route_selected = None


class PredictShortcut:
    """Answers ``POST {path}`` through ``route`` directly (see the module help)."""

    def __init__(self, app: Any, path: str, *, max_bytes: int, body_timeout_s: float) -> None:
        self._fastapi = app  # the FastAPI app: its router holds the route
        self.path = path
        self.max_bytes = max_bytes
        self._timed = BodyReadTimeout(self._dispatch, seconds=body_timeout_s)
        self._route: Any = None
        self._handlers: tuple[dict[Any, Any], dict[int, Any]] | None = None
        #: False: every request goes the long way (the tests compare the two)
        self.enabled = True

    def bind(self, inner: Any) -> None:
        """Find the route and the exception handlers, ``inner`` being the app below the
        outermost middleware (the stack is built on the first request)."""
        router: Any = self._fastapi.router
        routes: list[Any] = list(router.routes)
        app = inner
        while isinstance(app, SKIPPED):  # only layers known to do nothing for this route
            app = app.app
        if not isinstance(app, ExceptionMiddleware) or not (
            isinstance(app.app, AsyncExitStackMiddleware) and app.app.app is router
        ):
            return  # a layer this does not know of: every request goes the long way
        route = next(
            (r for r in routes
             if getattr(r, "path", None) == self.path and getattr(r, "endpoint", None)
             and type(r).__name__ == "FastRoute"),
            None,
        )  # fmt: skip
        if route is None or not inspect.iscoroutinefunction(route.endpoint):
            return  # not the stack this was made for: every request goes the long way
        self._route = route
        self._handlers = (app._exception_handlers, app._status_handlers)

    def takes(self, scope: dict[str, Any]) -> bool:
        """Whether this request can skip the layers (path, method, body framing)."""
        if scope["path"] != self.path or scope["method"] != "POST" or scope.get("root_path"):
            return False
        if self._route is None or not self.enabled:
            return False
        lengths = 0
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return False
                if declared > self.max_bytes or declared < 0:
                    return False
                lengths += 1
            elif name == b"transfer-encoding":
                return False
        return lengths == 1

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self._timed(scope, receive, send)

    async def _dispatch(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        route = self._route
        scope["starlette.exception_handlers"] = self._handlers
        if "router" not in scope:
            scope["router"] = self._fastapi.router
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        scope["route"] = route
        if _route_selected is not None:
            _route_selected(scope=scope, path=route.path_format)
        # what the route's app (starlette's request_response) does, without building its
        # exception wrapper for every request: only a request whose endpoint raised goes
        # through it, so the same handler answers it (or the error goes on, as before)
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:
            failed = exc
        else:
            await response(scope, receive, send)
            return
        await wrap_app_handling_exceptions(_raising(failed), request)(scope, receive, send)


def _raising(exc: Exception) -> Any:
    """An ASGI app that raises ``exc`` (for starlette's exception wrapper to handle)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise exc

    return app


def shortcut_of(app: Any) -> PredictShortcut | None:
    """The shortcut of a built app (after its first request), or None."""
    layer = getattr(app, "middleware_stack", None)
    while layer is not None:
        found = getattr(layer, "shortcut", None)
        if isinstance(found, PredictShortcut):
            return found
        layer = getattr(layer, "app", None)
    return None
