"""The dashboard's app: ``create_ui_app(project)``, mounted at ``/`` by ``steadyml ui`` and at
``/ui`` by ``steadyml serve --ui``.

Pages are rendered on the server from ``Project`` reads (``views.py``, ``monitoring.py``);
actions are POSTs that call the same ``Project`` methods as the CLI, allowed only for a
signed-in admin key with the session's CSRF token from this origin (``session.py``). Every
answer forbids loading anything from another host (``Content-Security-Policy``), so no
request leaves the machine: the stylesheet and Plotly's JavaScript are served from here, the
latter from the installed plotly package, cached for a year under a versioned name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from steadyml.serving.auth import KeyCache
from steadyml.serving.ui import actions, pages
from steadyml.serving.ui.render import HERE, plotly_js_name, plotly_path
from steadyml.serving.ui.session import COOKIE, Sessions

if TYPE_CHECKING:
    from steadyml.project import Project

__all__ = ["CSP", "create_ui_app", "plotly_js_name"]  # plotly_js_name: from render.py

CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
YEAR = 365 * 86_400


def create_ui_app(
    project: Project, *, keys: KeyCache | None = None, private: bool = False
) -> FastAPI:
    """The dashboard over ``project``. ``keys``: the service's key cache when mounted in it.
    ``private``: reading needs a signed-in admin key too (``steadyml serve --ui`` when the
    service asks a key for its description: off loopback, or ``serving.info_auth: api_key``)."""
    app = FastAPI(title="steadyml dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.project = project
    app.state.sessions = sessions = Sessions(keys or KeyCache(project.store))

    if private:

        @app.middleware("http")
        async def signed_in_only(request: Request, call_next: Any) -> Response:
            path = request.url.path.removeprefix(str(request.scope.get("root_path") or ""))
            open_paths = path in ("/login", "/static/ui.css") or path.startswith("/static/")
            if open_paths or sessions.get(request.cookies.get(COOKIE)) is not None:
                response: Response = await call_next(request)
                return response
            target = f"{request.scope.get('root_path') or ''}/login"
            return RedirectResponse(f"{target}?{urlencode({'next': request.url.path})}", 303)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "cache-control" not in response.headers:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/static/ui.css", include_in_schema=False)
    def stylesheet() -> FileResponse:
        return FileResponse(
            HERE / "static" / "ui.css",
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/static/{name}", include_in_schema=False)
    def plotly_js(name: str) -> Response:
        if name != plotly_js_name():
            return HTMLResponse("Not found.", status_code=404)
        return FileResponse(
            plotly_path(),
            media_type="application/javascript",
            headers={"Cache-Control": f"public, max-age={YEAR}, immutable"},
        )

    pages.add_routes(app)
    actions.add_routes(app)
    return app
