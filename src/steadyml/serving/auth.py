"""API-key checks for the web edge, with a short cache so each request costs no query.

A key is read from the store at most every ``ttl`` seconds (so a revoked key stops working
within that long). When the store cannot be reached, a key checked before keeps its last
answer for up to ``grace`` seconds after that check (``ServeSettings.key_grace_seconds``), so
a database outage does not turn every prediction into an error; a key this server has not
seen (or not within the grace) gets a 503 that says why. While the store is down it is asked
again at most every ``retry`` seconds, not on every request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from steadyml.errors import AuthError, SteadyMLError
from steadyml.flows.release import HEADER, hash_key, verify_key
from steadyml.store.outage import store_unreachable

if TYPE_CHECKING:
    from steadyml.entities import ApiKey
    from steadyml.store import Store

__all__ = ["GRACE_SECONDS", "TTL_SECONDS", "KeyCache", "KeysUnavailable"]

TTL_SECONDS = 2.0  # a revoked key stops working within this long
GRACE_SECONDS = 300.0  # the store unreachable: a key checked before answers this long


class KeysUnavailable(SteadyMLError):
    """The store cannot be reached and this key was not checked recently: try again later."""

    status = 503


@dataclass
class KeyCache:
    store: Store
    ttl: float = TTL_SECONDS
    grace: float = GRACE_SECONDS
    retry: float = 1.0
    _seen: dict[tuple[str, str], tuple[float, ApiKey | AuthError]] = field(default_factory=dict)
    #: when the store stopped answering key checks (monotonic), None while it answers
    down_since: float | None = None
    _next_try: float = 0.0

    def _cached(self, hit: tuple[float, ApiKey | AuthError] | None, now: float) -> bool:
        """Whether ``hit`` answers now without asking the store."""
        if hit is None:
            return False
        age = now - hit[0]
        if age < self.ttl:
            return True
        return self.down_since is not None and now < self._next_try and age < self.grace

    def fresh(self, token: str | None, scope: str) -> bool:
        """True when this key and scope were checked moments ago (no store read needed)."""
        if not token:
            return False
        return self._cached(self._seen.get((hash_key(token), scope)), time.monotonic())

    def verify(self, token: str | None, scope: str) -> ApiKey:
        if not token:
            return verify_key(self.store, token, scope)  # raises the "needs a key" error
        slot = (hash_key(token), scope)
        now = time.monotonic()
        hit = self._seen.get(slot)
        if self._cached(hit, now):
            outcome = hit[1]  # type: ignore[index]
        else:
            try:
                outcome = self._ask_store(token, scope, now)
            except KeysUnavailable:
                if hit is None or now - hit[0] >= self.grace:
                    raise
                outcome = hit[1]  # checked before the outage: its answer stands a while
            else:
                if len(self._seen) > 10_000:
                    self._seen.clear()
                self._seen[slot] = (now, outcome)
        if isinstance(outcome, AuthError):
            raise outcome
        return outcome

    def _ask_store(self, token: str, scope: str, now: float) -> ApiKey | AuthError:
        if self.down_since is not None and now < self._next_try:
            raise self._unavailable(now)
        try:
            outcome: ApiKey | AuthError = verify_key(self.store, token, scope)
        except AuthError as exc:
            outcome = exc
        except Exception as exc:
            if not store_unreachable(exc):
                raise
            if self.down_since is None:
                self.down_since = now
            self._next_try = now + self.retry
            raise self._unavailable(now) from exc
        self.down_since = None
        return outcome

    def _unavailable(self, now: float) -> KeysUnavailable:
        since = int(now - (self.down_since or now))
        return KeysUnavailable(
            f"The metadata store cannot be reached (for {since} s), so the API key in "
            f"{HEADER} cannot be checked: this server has not checked it in the last "
            f"{int(self.grace)} s.",
            hint="Try again shortly; keys this server checked before the outage keep working.",
            field=HEADER,
        )
