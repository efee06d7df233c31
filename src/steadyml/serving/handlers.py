"""Make a FastAPI app answer every 4xx and 5xx with the one error body (``errors.py``).

``install_error_handlers`` registers:

- a body that breaks the request model: 422, one item per problem;
- a body that is not JSON at all (unparseable): 400 "The body is not valid JSON: ..."; 400
  rather than 422 because nothing could be read to validate;
- a body sent with a non-JSON Content-Type: 415;
- any ``HTTPException`` (404 unknown route, 405, 401/403 from auth, 413, 503, ...): its status
  and headers, with the detail as ``error``;
- a ``SteadyMLError`` raised while answering: 401/403 for a key problem, 404 for something
  that does not exist, the error's own status where it has one (503: not ready), else 400;
- anything unhandled: 500 with no traceback in the body; the error goes to the
  ``steadyml.serving`` logger with the request id: its traceback the first time, then one
  line per minute with a count (``errorlog.py``), so an outage does not flood the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.serving.errorlog import RepeatedErrors
from steadyml.serving.errors import error_body, error_item, json_safe, validation_error_body

__all__ = [
    "install_error_handlers",
    "on_domain_error",
    "on_validation_error",
    "unhandled_answer",
    "unhandled_errors",
]

logger = logging.getLogger("steadyml.serving")


def _request_id(request: Request) -> str | None:
    rid = getattr(request.state, "request_id", None)
    return None if rid is None else str(rid)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it
        raise exc
    rid = _request_id(request)
    errors = list(exc.errors())
    broken = [e for e in errors if e.get("type") == "json_invalid"]
    if broken:
        item = error_item(broken[0])
        message = (
            f"The body {item['msg'].removeprefix('body: ')[:-1]}. "
            "Check the quotes, commas and brackets."
        )
        return JSONResponse(error_body(message, request_id=rid, errors=[item]), status_code=400)
    body_type = errors[0] if len(errors) == 1 else None
    if (
        body_type is not None
        and body_type.get("type") == "model_attributes_type"
        and tuple(body_type.get("loc") or ()) == ("body",)
        and isinstance(body_type.get("input"), bytes | bytearray)
    ):
        content_type = request.headers.get("content-type", "")
        message = (
            "The body must be JSON sent with the header Content-Type: application/json; "
            f"got Content-Type {content_type!r}."
        )
        return JSONResponse(error_body(message, request_id=rid), status_code=415)
    return JSONResponse(validation_error_body(errors, request_id=rid), status_code=422)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover - registered for it
        raise exc
    headers = dict(exc.headers or {})
    if exc.status_code in (204, 304) or exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=headers)
    detail: Any = exc.detail
    errors: list[Mapping[str, Any]] | None = None
    if isinstance(detail, Mapping) and "error" in detail:
        errors = list(detail.get("errors") or [])
        detail = str(detail["error"])
    elif not isinstance(detail, str):
        detail = json.dumps(json_safe(detail), ensure_ascii=False)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = ""
    if detail == phrase and exc.status_code == 404:
        detail = (
            f"Not Found: there is no route {request.method} {request.url.path}. "
            "The API lists its routes at /docs."
        )
    elif detail == phrase and exc.status_code == 405:
        allowed = headers.get("allow") or headers.get("Allow") or ""
        detail = f"Method Not Allowed: {request.url.path} does not take {request.method}" + (
            f"; use {allowed}." if allowed else "."
        )
    body = error_body(
        detail, status=exc.status_code, request_id=_request_id(request), errors=errors
    )
    return JSONResponse(body, status_code=exc.status_code, headers=headers)


def unhandled_answer(
    errors: RepeatedErrors, exc: BaseException, method: str, path: str, rid: str | None
) -> JSONResponse:
    """The 500 for an error nothing handled; logged once per kind (``errorlog.py``)."""
    errors.report(exc, request=f"{method} {path}, request id {rid or 'none'}")
    where = f"with request id {rid}" if rid else "on the server"
    message = f"Internal error: the service could not answer. It is logged {where}."
    return JSONResponse(error_body(message, status=500, request_id=rid), status_code=500)


def unhandled_errors(app: Any) -> RepeatedErrors:
    """The app's log of unhandled errors (one per app: its counts are the app's)."""
    errors = getattr(app.state, "unhandled_errors", None)
    if not isinstance(errors, RepeatedErrors):
        errors = app.state.unhandled_errors = RepeatedErrors(logger)
    return errors


async def _on_unhandled(request: Request, exc: Exception) -> Response:
    return unhandled_answer(
        unhandled_errors(request.app), exc, request.method, request.url.path,
        _request_id(request),
    )  # fmt: skip


async def on_domain_error(request: Request, exc: Exception) -> Response:
    """A ``SteadyMLError`` raised while answering: its message and hint, and its status."""
    if not isinstance(exc, SteadyMLError):  # pragma: no cover - registered for it
        raise exc
    status = getattr(exc, "status", None)  # AuthError: 401 or 403; ServiceUnavailable: 503
    if not isinstance(status, int):
        status = 404 if isinstance(exc, NotFoundError) else 400
    message = exc.message if exc.hint is None else f"{exc.message} {exc.hint}"
    body = error_body(message, status=status, request_id=_request_id(request))
    return JSONResponse(body, status_code=status)


on_validation_error = _on_validation_error


def install_error_handlers(app: FastAPI) -> None:
    """Make every 4xx and 5xx of ``app`` answer with the one error body."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(SteadyMLError, on_domain_error)
    app.add_exception_handler(Exception, _on_unhandled)
    unhandled_errors(app)
