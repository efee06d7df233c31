"""``POST /v1/predict``: predictions for one or more records, validated against the contract.

The body model (``PredictRequest``) is generated from the project's data contract when the
app is built, so ``add_routes(app, request_model)`` registers, per app, a copy of ``predict``
whose ``body`` annotation is that model: FastAPI reads the annotation to validate the body
and to document it at ``/docs``.

Without API keys (``serving.auth: none``) the route is ``predict_open``: the same answer,
with no dependency for FastAPI to resolve on every request (the key check is the only thing
``PREDICT`` adds; it runs before the body is validated, so a caller without a key hears 401
before anything about the body).

``refused_and_logged`` answers a body that breaks the contract like every other 422, and
also logs its records with the reasons, so the monitor counts contract violations; their
text escaped first (``data.storable.escape_deep``), since what was refused may be what the store
cannot keep.
"""

from __future__ import annotations

import json
import types
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect
from starlette.routing import Match, Route
from starlette.types import Scope

from steadyml.data.storable import escape_deep
from steadyml.serving.handlers import on_validation_error
from steadyml.serving.requests import ContractRequest
from steadyml.serving.responses import PredictResponse, encode_predict
from steadyml.serving.routes.dependencies import PREDICT, check_key
from steadyml.serving.service import PredictionService

__all__ = [
    "PATH", "FastRoute", "add_routes", "fast_predict", "predict", "predict_open", "read_body",
    "refused_and_logged",
]  # fmt: skip

PATH = "/v1/predict"

RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid API key"},
    403: {"description": "The key lacks the predict scope"},
    413: {"description": "Body too large"},
    422: {"description": "A record breaks the data contract"},
    503: {"description": "No model in production, or it failed with no fallback"},
}


async def predict(
    body: ContractRequest, request: Request, service: PredictionService = PREDICT
) -> Response:
    answer = await service.predict(body.records, request.state.request_id)
    # Serialised by pydantic-core in one step: FastAPI's response_model path would validate
    # and encode every result again.
    return Response(encode_predict(answer), media_type="application/json")


async def predict_open(body: ContractRequest, request: Request) -> Response:
    service: PredictionService = request.app.state.service
    answer = await service.predict(body.records, request.state.request_id)
    return Response(encode_predict(answer), media_type="application/json")


def add_routes(
    app: FastAPI, request_model: type[ContractRequest], *, require_auth: bool = True
) -> None:
    """Register the predict route on ``app``, its body validated by ``request_model`` (the
    contract's); on the app itself (see ``routes/__init__.py`` for why). ``require_auth``
    off registers ``predict_open`` (no key to check).

    Requests are answered by ``FastRoute`` (same checks, same answers, without FastAPI's
    per-request dependency machinery); the FastAPI route stays registered after it, so the
    OpenAPI schema and ``/docs`` describe the body and the answers as before."""
    endpoint = predict if require_auth else predict_open
    app.add_api_route(PATH, _copy_for(endpoint, request_model), methods=["POST"],
                      response_model=PredictResponse, summary="Predict for one or more records",
                      responses=RESPONSES)  # fmt: skip
    fast = FastRoute(PATH, fast_predict(request_model, require_auth=require_auth), methods=["POST"])
    app.router.routes.insert(len(app.router.routes) - 1, fast)  # matched before the API route


class FastRoute(Route):
    """A Starlette route that also names itself in the scope, as FastAPI's routes do (the
    request counters label requests by the route's template, ``middleware.route_label``)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.FULL:
            child["route"] = self
        return match, child


def fast_predict(
    request_model: type[ContractRequest], *, require_auth: bool
) -> Callable[[Request], Awaitable[Response]]:
    """``POST /v1/predict`` with the work FastAPI would do for it, and no more: the key
    checked first (``dependencies.check_key``), the body read as FastAPI reads it
    (``read_body``), validated by the contract's model with FastAPI's error locations
    (``("body", ...)``), so a refusal goes to the same handlers and reads the same. FastAPI's
    dependency resolution and endpoint wrapping cost about 30 µs a request, measured in
    process against a bare Starlette route doing the same parse and validation."""
    adapter: TypeAdapter[ContractRequest] = TypeAdapter(request_model)

    async def endpoint(request: Request) -> Response:
        service: PredictionService = request.app.state.service
        if require_auth:
            await check_key(service, request, "predict")
        body = await read_body(request)
        try:
            if service.request_model is request_model:  # its plain twin first: no wrappers
                try:
                    parsed = service.plain_request.validate_python(body, from_attributes=True)
                except ValidationError:
                    parsed = adapter.validate_python(body, from_attributes=True)
            else:
                parsed = adapter.validate_python(body, from_attributes=True)
        except ValidationError as exc:
            errors = [
                {**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)
            ]
            raise RequestValidationError(errors, body=body) from None
        answer = await service.predict(parsed.records, request.state.request_id)
        return Response(encode_predict(answer), media_type="application/json")

    return endpoint


async def read_body(request: Request) -> Any:
    """The body as FastAPI (0.165, strict content type) reads a JSON body parameter: parsed
    when the content type is JSON, the raw bytes otherwise (which then fail validation); an
    empty body is FastAPI's ``missing`` error and invalid JSON its ``json_invalid``."""
    try:
        return await _read_body(request)
    except (RequestValidationError, HTTPException):
        raise
    except Exception as exc:  # as FastAPI: e.g. JSON nested too deep for Python's reader
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


async def _body_of(request: Request) -> bytes:
    """``request.body()``, without the async generator it reads through (Starlette 1.x's
    ``Request.stream``, step for step: the same body, the same ``ClientDisconnect``, and the
    body kept on the request for whoever reads it next)."""
    if hasattr(request, "_body") or not hasattr(request, "_stream_consumed"):
        return await request.body()
    if request._stream_consumed:
        raise RuntimeError("Stream consumed")
    chunks: list[bytes] = []
    receive = request.receive
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "http.request":
            piece = message.get("body", b"")
            if piece:
                chunks.append(piece)
            if not message.get("more_body", False):
                request._stream_consumed = True
                break
        elif kind == "http.disconnect":
            request._is_disconnected = True
            raise ClientDisconnect()
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body
    return body


def _content_type(request: Request) -> str | None:
    """The request's Content-Type header, as ``request.headers.get`` reads it (the first)."""
    for name, value in request.scope["headers"]:
        if name == b"content-type":
            return bytes(value).decode("latin-1")
    return None


def _json_of(raw: bytes) -> Any:
    """``json.loads(raw)``; a body that opens with ``{`` is UTF-8 to ``json.detect_encoding``
    (no BOM, no NUL in its first bytes), so it is decoded as that without asking."""
    if raw[:1] == b"{" and raw[1:2] != b"\x00":
        return json.loads(raw.decode("utf-8", "surrogatepass"))
    return json.loads(raw)


async def _read_body(request: Request) -> Any:
    raw = await _body_of(request)
    if not raw:
        raise RequestValidationError(
            [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}],
            body=None,
        )
    content_type = _content_type(request)
    if content_type:
        # what email.message.Message makes of the header (get_content_maintype/subtype; 15 us
        # a request): the type before any parameter, lower case; no "/" reads as text/plain
        kind = content_type.split(";", 1)[0].strip().lower()
        maintype, _, subtype = kind.partition("/") if kind.count("/") == 1 else ("text", "", "")
        if maintype == "application" and (subtype == "json" or subtype.endswith("+json")):
            try:
                return _json_of(raw)
            except json.JSONDecodeError as e:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", e.pos), "msg": "JSON decode error",
                      "input": {}, "ctx": {"error": e.msg}}],
                    body=e.doc,
                ) from e  # fmt: skip
    return raw


def _copy_for(fn: Callable[..., Any], model: type[ContractRequest]) -> Callable[..., Any]:
    """A copy of ``fn`` whose ``body`` is annotated ``model`` (``fn`` itself is left alone,
    so apps built for different contracts do not share a body model)."""
    copy = types.FunctionType(
        fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copy.__kwdefaults__ = fn.__kwdefaults__
    copy.__qualname__ = fn.__qualname__
    copy.__module__ = fn.__module__
    copy.__doc__ = fn.__doc__
    copy.__annotations__ = {**fn.__annotations__, "body": model}
    return copy


async def refused_and_logged(request: Request, exc: Exception) -> Response:
    """Answer as usual; a body that breaks the contract is also logged, record by record,
    so the monitor counts contract violations and sees the values that broke it."""
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it
        raise exc
    response = await on_validation_error(request, exc)
    if (
        response.status_code == 422
        and request.url.path == PATH
        and isinstance(exc.body, dict)
        and isinstance(exc.body.get("records"), list)
    ):
        service: PredictionService = request.app.state.service
        # as the log can keep them: text escaped (a lone surrogate or a NUL in a refused value
        # would fail the writer's batch), lists and objects nested deep cut short
        records = exc.body["records"][: service.refused_log.max_records]
        service.log_refused([escape_deep(r) for r in records], list(exc.errors()))
    return response
