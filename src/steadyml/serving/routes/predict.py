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

import types
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from steadyml.data.storable import escape_deep
from steadyml.serving.handlers import on_validation_error
from steadyml.serving.requests import ContractRequest
from steadyml.serving.responses import PredictResponse
from steadyml.serving.routes.dependencies import PREDICT
from steadyml.serving.service import PredictionService

__all__ = ["PATH", "add_routes", "predict", "predict_open", "refused_and_logged"]

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
    return Response(answer.model_dump_json(), media_type="application/json")


async def predict_open(body: ContractRequest, request: Request) -> Response:
    service: PredictionService = request.app.state.service
    answer = await service.predict(body.records, request.state.request_id)
    return Response(answer.model_dump_json(), media_type="application/json")


def add_routes(
    app: FastAPI, request_model: type[ContractRequest], *, require_auth: bool = True
) -> None:
    """Register the predict route on ``app``, its body validated by ``request_model`` (the
    contract's); on the app itself (see ``routes/__init__.py`` for why). ``require_auth``
    off registers ``predict_open`` (no key to check)."""
    endpoint = predict if require_auth else predict_open
    app.add_api_route(PATH, _copy_for(endpoint, request_model), methods=["POST"],
                      response_model=PredictResponse, summary="Predict for one or more records",
                      responses=RESPONSES)  # fmt: skip


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
