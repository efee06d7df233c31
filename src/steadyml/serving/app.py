"""The prediction API's wiring: ``create_app(project)`` builds a FastAPI app; nothing at import.

The app holds one ``PredictionService`` (``service.py``: the whole predict path) in
``app.state.service``, starts it in its lifespan and stops it at shutdown (the batcher and
the prediction log drain). The routes live in ``routes/``: ``POST /v1/predict``,
``POST /v1/feedback``, ``GET /v1/model`` (+ its card), ``/health``, ``/ready``, ``/metrics``
(Prometheus) and the OpenAPI docs at ``/docs`` (served from a local copy of Swagger UI: no
CDN); with ``ServeSettings.ui`` (``steadyml serve --ui``) the dashboard's pages at ``/ui``.
Every error uses one JSON shape (``errors.py``, ``handlers.py``).

At the edge (outermost first): ``RequestMeta`` (request ids, counts by route template, the
500 for an unhandled error, logged once per kind), ``InfoGuard`` (a key for the routes that
describe the service, when ``ServeSettings.info_needs_key``), ``BodySizeLimit`` (413) and
``BodyReadTimeout`` (408); a body FastAPI cannot read is answered only after the key check
(``guard.key_checked_first``). A ``POST /v1/predict`` whose body is framed by its
Content-Length goes from ``RequestMeta`` straight to its route, behind ``BodyReadTimeout``
(``shortcut.py``: the same answers, without the layers that have nothing to do for it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from steadyml.flows.release import HEADER
from steadyml.serving.guard import Handler, InfoGuard, key_checked_first
from steadyml.serving.handlers import install_error_handlers, unhandled_errors
from steadyml.serving.limits import BodyReadTimeout, BodySizeLimit
from steadyml.serving.middleware import RequestMeta
from steadyml.serving.routes import feedback, info, predict
from steadyml.serving.service import PredictionService
from steadyml.serving.settings import ServeSettings
from steadyml.serving.shortcut import PredictShortcut

if TYPE_CHECKING:
    from steadyml.project import Project

__all__ = ["create_app", "create_app_from_env", "lifespan"]


def create_app(project: Project, settings: ServeSettings | None = None) -> FastAPI:
    """The prediction API of ``project``; the service starts when the app's lifespan does."""
    settings = settings or ServeSettings()
    service = PredictionService(project, settings)
    cfg = project.config
    app = FastAPI(
        title=f"steadyml · {cfg.project.name}",
        description=(
            f"{cfg.project.prediction_target}\n\nUsed by: {cfg.project.users}\n\n"
            f"Send records with the columns below; every error names the field and the rule. "
            f"API keys go in the `{HEADER}` header."
        ),
        version="1",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    install_error_handlers(app)
    on_bad_body: Handler = predict.refused_and_logged
    if settings.require_auth:  # a body that is not JSON is answered once the key is checked
        on_bad_body = key_checked_first(on_bad_body, service.keys)
    app.add_exception_handler(RequestValidationError, on_bad_body)
    # middleware, innermost first: each add_middleware wraps the ones before it
    app.add_middleware(BodyReadTimeout, seconds=settings.body_timeout_s)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.info_needs_key(cfg.serving.info_auth):
        app.add_middleware(InfoGuard, keys=service.keys)
    shortcut = PredictShortcut(app, predict.PATH, max_bytes=settings.max_body_bytes,
                               body_timeout_s=settings.body_timeout_s)  # fmt: skip
    app.add_middleware(  # outermost: ids, counts and the 500 for every request; a prediction
        RequestMeta,  # with a plain body goes from here to its route (shortcut.py)
        requests=service.metrics.requests,
        errors=unhandled_errors(app),
        shortcut=shortcut,
    )

    predict.add_routes(app, service.request_model, require_auth=settings.require_auth)  # first
    feedback.add_routes(app)
    info.add_routes(app)
    import swagger_ui_bundle

    app.mount(info.SWAGGER, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="swagger")  # fmt: skip
    if settings.ui:  # the dashboard (serving/ui) at /ui, checking keys with the same cache
        from steadyml.serving.ui import create_ui_app

        private = settings.info_needs_key(cfg.serving.info_auth)  # reading needs a key too
        app.mount("/ui", create_ui_app(project, keys=service.keys, private=private), name="ui")
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the app's service (log writer, batcher, models, store watcher); stop it after."""
    service: PredictionService = app.state.service
    await service.start()
    try:
        yield
    finally:
        try:
            await service.stop()
        finally:
            unhandled_errors(app).flush()  # the counts of errors repeated since their last line


def create_app_from_env() -> FastAPI:
    """uvicorn's factory for worker processes: the CLI passes the project and settings."""
    import os

    from steadyml.project import open_project

    project = open_project(os.environ.get("STEADYML_PROJECT", "."))
    return create_app(project, ServeSettings.from_env())
