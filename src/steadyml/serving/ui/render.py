"""Rendering a dashboard page: the template, the navigation, who is signed in, what just
happened (a message shown once)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from steadyml.serving.ui.session import COOKIE, Session, Sessions

if TYPE_CHECKING:
    import jinja2

    from steadyml.project import Project

__all__ = [
    "HERE",
    "NAV",
    "base_path",
    "local_path",
    "plotly_js_name",
    "plotly_path",
    "project_of",
    "render",
    "session_of",
    "sessions_of",
    "templates",
]

HERE = Path(__file__).parent

NAV = (
    ("overview", "", "Overview"),
    ("data", "/data", "Data"),
    ("runs", "/runs", "Runs"),
    ("models", "/models", "Models"),
    ("monitoring", "/monitoring", "Monitoring"),
    ("alerts", "/alerts", "Alerts"),
    ("rollout", "/rollout", "Rollout"),
)


@functools.cache
def plotly_js_name() -> str:
    import plotly

    return f"plotly-{plotly.__version__}.min.js"


@functools.cache
def plotly_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@functools.cache
def templates() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["plotly_js"] = plotly_js_name()
    return env


def local_path(path: str) -> str:
    """Only a path on this site may be a place to go back to."""
    return path if path.startswith("/") and not path.startswith("//") else ""


def base_path(request: Request) -> str:
    """Where the dashboard is mounted ('' or '/ui')."""
    return str(request.scope.get("root_path") or "").rstrip("/")


def project_of(request: Request) -> Project:
    return request.app.state.project  # type: ignore[no-any-return]


def sessions_of(request: Request) -> Sessions:
    return request.app.state.sessions  # type: ignore[no-any-return]


def session_of(request: Request) -> Session | None:
    return sessions_of(request).get(request.cookies.get(COOKIE))


def render(
    request: Request, template: str, page: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    session = session_of(request)
    flash: list[tuple[str, str]] = []
    if session is not None and session.flash:
        flash, session.flash = list(session.flash), []
    project = project_of(request)
    text = (
        templates()
        .get_template(template)
        .render(
            base=base_path(request),
            nav=NAV,
            page=page,
            project_name=project.name,
            session=session,
            csrf=session.csrf if session else "",
            flash=flash,
            here=str(request.url.path),
            **context,
        )
    )
    return HTMLResponse(text, status_code=status)
