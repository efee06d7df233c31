"""What is served and whether it is up: ``/v1/model`` (+ its card), ``/health``, ``/ready``,
``/metrics`` (Prometheus) and the OpenAPI docs at ``/docs``, served from the local copy of
Swagger UI that ``app.py`` mounts at ``/static/swagger`` (no CDN)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from steadyml.serving.errors import error_body
from steadyml.serving.routes.dependencies import SERVICE
from steadyml.serving.service import PredictionService

__all__ = ["SWAGGER", "add_routes"]

SWAGGER = "/static/swagger"  # where app.py mounts swagger_ui_bundle's files


def add_routes(app: FastAPI) -> None:
    """Register these routes on ``app`` itself (see ``routes/__init__.py`` for why)."""
    get = ["GET"]
    summary = "The model answering requests, its contract and traffic"
    app.add_api_route("/v1/model", model_info, methods=get, summary=summary)
    app.add_api_route("/v1/model/card", model_card, methods=get, response_class=HTMLResponse,
                      summary="The model card (HTML)")  # fmt: skip
    app.add_api_route("/health", health, methods=get, summary="Alive")
    app.add_api_route("/ready", ready, methods=get, summary="Ready: a production model is loaded")
    app.add_api_route("/metrics", prom, methods=get, summary="Prometheus metrics")
    app.add_api_route("/docs", docs, methods=get, include_in_schema=False)


async def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=request.app.title,
        swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
    )


async def model_info(service: PredictionService = SERVICE) -> dict[str, Any]:
    return service.model_info()


async def model_card(service: PredictionService = SERVICE) -> HTMLResponse:
    return HTMLResponse(await service.model_card())


async def health() -> dict[str, Any]:
    return {"ok": True, "status": "alive"}


async def ready(service: PredictionService = SERVICE) -> JSONResponse:
    runtime = service.runtime
    production = runtime.state.production
    if production is None:
        body = error_body(
            "Not ready: no production model is loaded."
            + (f" Last error: {runtime.last_error}" if runtime.last_error else ""),
            status=503,
        )
        return JSONResponse(body, status_code=503)
    since = service.unreachable_since()
    if since is not None:  # answers go on from memory; a balancer should prefer another server
        at = dt.datetime.fromtimestamp(since, dt.UTC).isoformat(timespec="seconds")
        writer = service.writer
        body = error_body(
            f"Not ready: the metadata store has been unreachable since {at}. Predictions are "
            f"answered with the loaded models and the keys checked before; their log waits in "
            f"memory (at most {service.settings.log_buffer_rows} rows, then 503).",
            status=503,
        )
        body["log"] = f"buffering {writer.pending()} rows, database unreachable since {at}"
        body["model_version"] = production.version
        return JSONResponse(body, status_code=503)
    return JSONResponse({"ok": True, "status": "ready", "model_version": production.version})


async def prom(service: PredictionService = SERVICE) -> Response:
    service.update_log_gauges()
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")
