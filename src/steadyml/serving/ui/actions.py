"""The dashboard's actions (POST): sign in and out; promote, rollback; acknowledge, resolve;
advance, pause and abort a rollout. Each calls the one ``Project`` method the CLI calls.

Every action needs a signed-in admin session (401 otherwise), the session's CSRF token
(403) and a request from this origin (403); the key is checked again before the action, so
a key revoked since signing in stops working at once. What happened is said on the page the
person comes back to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from steadyml.errors import AuthError, SteadyMLError
from steadyml.serving.ui.render import base_path, local_path, project_of, render, sessions_of
from steadyml.serving.ui.session import COOKIE, SESSION_SECONDS, Session, csrf_ok, same_origin

__all__ = ["MAX_FORM_BYTES", "add_routes"]

MAX_FORM_BYTES = 64_000


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    parsed = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _refuse(
    request: Request, status: int, title: str, message: str, hint: str | None = None
) -> HTMLResponse:
    return render(
        request, "error.html.j2", "error", status=status, title=title, message=message, hint=hint
    )


async def _guard(request: Request, form: dict[str, str]) -> Session | HTMLResponse:
    """The session allowed to act, or the page that says why not."""
    ok_origin = same_origin(
        request.headers.get("origin"),
        request.headers.get("sec-fetch-site"),
        request.headers.get("host"),
        request.url.scheme,
    )
    if not ok_origin:
        return _refuse(
            request,
            403,
            "Refused: another site sent this",
            "The request came from another site (its Origin header is "
            f"{request.headers.get('origin')!r}), so it was not carried out.",
            "Use the buttons on this dashboard.",
        )
    sessions = sessions_of(request)
    session = sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return _refuse(
            request,
            401,
            "Sign in to act",
            "Changing anything needs an API key with the admin scope; reading needs nothing.",
            "Sign in on the Sign in page with a key from "
            "`steadyml keys create --name NAME --scopes admin`.",
        )
    if not csrf_ok(session, form.get("csrf")):
        return _refuse(
            request,
            403,
            "Refused: the form's token is missing or wrong",
            "Every form of this dashboard carries a token of your session; this "
            "request had none or another one, so it was not carried out.",
            "Reload the page and try again.",
        )
    try:
        await run_in_threadpool(sessions.still_admin, session)
    except AuthError as exc:
        return _refuse(request, 401, "Your key no longer works", exc.message, exc.hint)
    return session


def _back(request: Request, to: str) -> RedirectResponse:
    return RedirectResponse(base_path(request) + to, status_code=303)


async def _act(request: Request, to: str, do: Callable[[Session, dict[str, str]], str]) -> Response:
    form = await _form(request)
    allowed = await _guard(request, form)
    if not isinstance(allowed, Session):
        return allowed
    try:
        done = await run_in_threadpool(do, allowed, form)
    except SteadyMLError as exc:
        text = exc.message + (f" {exc.hint}" if exc.hint else "")
        allowed.flash.append(("error", text))
    else:
        allowed.flash.append(("ok", done))
    return _back(request, to)


def _reason(form: dict[str, str], name: str = "reason") -> str:
    return form.get(name, "").strip()


def add_routes(app: FastAPI) -> None:
    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await _form(request)
        nxt = local_path(form.get("next", ""))
        if not same_origin(
            request.headers.get("origin"),
            request.headers.get("sec-fetch-site"),
            request.headers.get("host"),
            request.url.scheme,
        ):
            return _refuse(
                request,
                403,
                "Refused: another site sent this",
                "A sign-in from another site was not accepted.",
            )
        try:
            session = await run_in_threadpool(sessions_of(request).sign_in, form.get("key", ""))
        except SteadyMLError as exc:
            status = int(getattr(exc, "status", 401) or 401)
            text = exc.message + (f" {exc.hint}" if exc.hint else "")
            return render(request, "login.html.j2", "login", status=status, next=nxt, problem=text)
        session.flash.append(
            (
                "ok",
                f"Signed in with the key '{session.key_name}' "
                f"({session.key_prefix}): you can act until you sign out.",
            )
        )
        response = _back(request, nxt.removeprefix(base_path(request)) or "/")
        response.set_cookie(
            COOKIE,
            session.id,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=(base_path(request) or "/"),
        )
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        form = await _form(request)
        allowed = await _guard(request, form)
        if not isinstance(allowed, Session):
            return allowed
        sessions_of(request).sign_out(allowed.id)
        response = _back(request, "/")
        response.delete_cookie(COOKIE, path=(base_path(request) or "/"))
        return response

    @app.post("/models/{version}/promote", include_in_schema=False)
    async def promote(request: Request, version: int) -> Response:
        def do(session: Session, form: dict[str, str]) -> str:
            stage = form.get("stage") or "production"
            override = form.get("override", "").strip() or None
            event = project_of(request).promote(
                version, stage, reason=_reason(form), by=session.who, override=override
            )
            return f"Version {event.to_version} is now in {event.stage}."

        return await _act(request, f"/models?{urlencode({'version': version})}", do)

    @app.post("/models/rollback", include_in_schema=False)
    async def rollback(request: Request) -> Response:
        def do(session: Session, form: dict[str, str]) -> str:
            event = project_of(request).rollback(reason=_reason(form), by=session.who)
            return (
                f"Rolled back: version {event.to_version} is in production again "
                f"(was {event.from_version})."
            )

        return await _act(request, "/models", do)

    @app.post("/alerts/{alert_id}/acknowledge", include_in_schema=False)
    async def acknowledge(request: Request, alert_id: int) -> Response:
        def do(session: Session, form: dict[str, str]) -> str:
            a = project_of(request).acknowledge_alert(
                alert_id, by=session.who, note=_reason(form, "note") or None
            )
            return f"Alert {a.id} acknowledged: the team sees someone is on it."

        return await _act(request, f"/alerts?{urlencode({'alert': alert_id})}", do)

    @app.post("/alerts/{alert_id}/resolve", include_in_schema=False)
    async def resolve(request: Request, alert_id: int) -> Response:
        def do(session: Session, form: dict[str, str]) -> str:
            note = _reason(form, "note")
            if not note:
                raise SteadyMLError(
                    "Resolving an alert needs a note that says what was done.",
                    hint="Write it in the note box, e.g. 'fixed the upstream feed'.",
                    field="note",
                )
            a = project_of(request).resolve_alert(alert_id, note=note, by=session.who)
            return f"Alert {a.id} resolved."

        return await _act(request, f"/alerts?{urlencode({'alert': alert_id})}", do)

    @app.post("/rollout/{action}", include_in_schema=False)
    async def rollout(request: Request, action: str) -> Response:
        def do(session: Session, form: dict[str, str]) -> str:
            project, reason = project_of(request), _reason(form)
            result: Any
            if action == "advance":
                result = project.advance_rollout(reason=reason, by=session.who)
                return str(getattr(result, "message", "") or "Rollout advanced.")
            if action == "pause":
                result = project.pause_rollout(reason=reason, by=session.who)
                return f"Rollout {result.id} paused at step {result.step}."
            if action == "abort":
                result = project.abort_rollout(reason=reason, by=session.who)
                return f"Rollout {result.id} aborted: production answers every request."
            raise SteadyMLError(
                f"A rollout action must be advance, pause or abort; got {action!r}.",
                field="action",
            )

        return await _act(request, "/rollout", do)
