"""The dashboard's pages (GET): each reads through ``Project`` and renders one template."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from steadyml.errors import NotFoundError
from steadyml.serving.ui import monitoring, views
from steadyml.serving.ui.render import local_path, project_of, render

__all__ = ["add_routes"]


def add_routes(app: FastAPI) -> None:
    # plain ``def``: the store is read in FastAPI's thread pool, off the event loop

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> HTMLResponse:
        return render(
            request, "overview.html.j2", "overview", v=views.overview(project_of(request))
        )

    @app.get("/data", response_class=HTMLResponse, include_in_schema=False)
    def data(request: Request) -> HTMLResponse:
        return render(request, "data.html.j2", "data", v=views.data(project_of(request)))

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs(request: Request) -> HTMLResponse:
        v = views.runs(project_of(request), dict(request.query_params))
        return render(request, "runs.html.j2", "runs", v=v)

    @app.get("/models", response_class=HTMLResponse, include_in_schema=False)
    def models(request: Request) -> HTMLResponse:
        v = views.models(project_of(request), dict(request.query_params))
        return render(request, "models.html.j2", "models", v=v)

    @app.get("/models/{version}/card", response_class=HTMLResponse, include_in_schema=False)
    def card(request: Request, version: int) -> HTMLResponse:
        try:
            text = project_of(request).model_card(version, fmt="html")
        except NotFoundError as exc:
            return render(
                request,
                "error.html.j2",
                "models",
                status=404,
                title="No such model version",
                message=exc.message,
                hint=exc.hint,
            )
        return HTMLResponse(text)

    @app.get("/monitoring", response_class=HTMLResponse, include_in_schema=False)
    def monitor(request: Request) -> HTMLResponse:
        v = monitoring.view(project_of(request), dict(request.query_params))
        return render(request, "monitoring.html.j2", "monitoring", v=v)

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts(request: Request) -> HTMLResponse:
        v = views.alerts(project_of(request), dict(request.query_params))
        return render(request, "alerts.html.j2", "alerts", v=v)

    @app.get("/rollout", response_class=HTMLResponse, include_in_schema=False)
    def rollout(request: Request) -> HTMLResponse:
        return render(request, "rollout.html.j2", "rollout", v=views.rollout(project_of(request)))

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request) -> HTMLResponse:
        nxt = request.query_params.get("next") or ""
        return render(request, "login.html.j2", "login", next=local_path(nxt), problem=None)
