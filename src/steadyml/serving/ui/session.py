"""Who may act on the dashboard: an admin API key entered once, a session, a CSRF token.

Reading needs nothing. Acting (promote, rollback, acknowledge, resolve, rollout steps) needs
a session made by entering one of the project's API keys with the ``admin`` scope (the keys
of ``steadyml keys create --scopes admin``, checked by the service's own ``KeyCache``, so a
revoked key stops working within seconds). The browser holds only a random session id in an
``HttpOnly; SameSite=Strict`` cookie; the key stays in this process's memory. Every POST must
carry the session's CSRF token (a hidden form field) and, when the browser sends an
``Origin`` header (every current browser does on a POST), come from this same origin.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from steadyml.errors import AuthError
from steadyml.serving.auth import KeyCache

__all__ = ["COOKIE", "SCOPE", "SESSION_SECONDS", "Session", "Sessions", "same_origin"]

COOKIE = "steadyml_ui"
SCOPE = "admin"
SESSION_SECONDS = 8 * 3600  # a session ends after a working day
MAX_SESSIONS = 1_000


@dataclass
class Session:
    id: str
    token: str  # the API key, kept server-side only
    key_name: str
    key_prefix: str
    csrf: str
    started: float
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, text) shown once

    @property
    def who(self) -> str:
        """How the dashboard records the person acting: the key's name."""
        return f"{self.key_name} (dashboard)"


class Sessions:
    """The dashboard's sessions, in memory (a restart signs everyone out)."""

    def __init__(self, keys: KeyCache, *, seconds: float = SESSION_SECONDS) -> None:
        self.keys = keys
        self.seconds = seconds
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, token: str) -> Session:
        """A new session for an admin key; AuthError (401/403) says why not."""
        token = token.strip()
        record = self.keys.verify(token or None, SCOPE)
        if SCOPE not in record.scopes:
            raise AuthError(
                f"The API key '{record.name}' has the scopes {', '.join(record.scopes)}; "
                "the dashboard's actions need a key with the admin scope.",
                hint="Create one: steadyml keys create --name NAME --scopes admin",
                status=403,
            )
        session = Session(
            id=secrets.token_urlsafe(32),
            token=token,
            key_name=record.name,
            key_prefix=record.prefix,
            csrf=secrets.token_urlsafe(32),
            started=time.monotonic(),
        )
        with self._lock:
            if len(self._by_id) >= MAX_SESSIONS:
                self._expire()
            self._by_id[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of this id, or None (none, unknown, expired)."""
        if not session_id:
            return None
        with self._lock:
            session = self._by_id.get(session_id)
            if session is None:
                return None
            if time.monotonic() - session.started > self.seconds:
                del self._by_id[session_id]
                return None
            return session

    def still_admin(self, session: Session) -> None:
        """Raise AuthError when the session's key was revoked since it signed in."""
        try:
            self.keys.verify(session.token, SCOPE)
        except AuthError:
            self.sign_out(session.id)
            raise

    def sign_out(self, session_id: str | None) -> None:
        with self._lock:
            self._by_id.pop(session_id or "", None)

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [s.id for s in self._by_id.values() if now - s.started > self.seconds]:
            del self._by_id[sid]
        if len(self._by_id) >= MAX_SESSIONS:  # still full: the oldest go
            oldest = sorted(self._by_id.values(), key=lambda s: s.started)
            for s in oldest[: len(oldest) // 2]:
                del self._by_id[s.id]


def csrf_ok(session: Session, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())


def same_origin(origin: str | None, fetch_site: str | None, host: str | None, scheme: str) -> bool:
    """Whether a POST's ``Origin`` (and ``Sec-Fetch-Site``) say it came from this site.

    A browser that sends neither (an old one, or a script with no cookies to ride on) is
    left to the CSRF token."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    if origin is None:
        return True
    if origin == "null" or not host:
        return False
    return origin.rstrip("/") in (f"{scheme}://{host}", f"http://{host}", f"https://{host}")
