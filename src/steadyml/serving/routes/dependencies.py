"""What the routes depend on: the app's prediction service, and an API key with a scope.

FastAPI runs a route's dependencies before it validates the body, so a caller without a
valid key learns that first (401/403), not the details of a body it may not send. A key
checked moments ago is answered from the cache on the event loop; otherwise the check may
read the store, so it runs in a worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from steadyml.flows.release import HEADER
from steadyml.serving.service import PredictionService

__all__ = ["FEEDBACK", "PREDICT", "SERVICE", "authorized", "check_key", "get_service"]


async def get_service(request: Request) -> PredictionService:
    """The prediction service of the app answering this request."""
    service: PredictionService = request.app.state.service
    return service


def authorized(scope: str) -> Callable[[Request], Awaitable[PredictionService]]:
    """A dependency: the service, once the request's API key may use ``scope``.

    With ``require_auth`` off (``serving.auth: none``) every request may.
    """

    async def dependency(request: Request) -> PredictionService:
        service: PredictionService = request.app.state.service
        if service.settings.require_auth:
            await check_key(service, request, scope)
        return service

    return dependency


async def check_key(service: PredictionService, request: Request, scope: str) -> None:
    """Raise the key's ``AuthError`` unless the request's API key may use ``scope``."""
    token = request.headers.get(HEADER)
    if service.keys.fresh(token, scope):
        service.keys.verify(token, scope)  # answered from the cache: no thread hop
    else:
        await run_in_threadpool(service.keys.verify, token, scope)  # may read the store


SERVICE: Any = Depends(get_service)
PREDICT: Any = Depends(authorized("predict"))
FEEDBACK: Any = Depends(authorized("feedback"))
