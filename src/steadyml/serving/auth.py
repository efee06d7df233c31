"""API-key checks for the web edge, with a short cache so each request costs no query."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from steadyml.errors import AuthError
from steadyml.flows.release import hash_key, verify_key

if TYPE_CHECKING:
    from steadyml.entities import ApiKey
    from steadyml.store import Store

TTL_SECONDS = 2.0  # a revoked key stops working within this long


@dataclass
class KeyCache:
    store: Store
    ttl: float = TTL_SECONDS
    _seen: dict[tuple[str, str], tuple[float, ApiKey | AuthError]] = field(default_factory=dict)

    def fresh(self, token: str | None, scope: str) -> bool:
        """True when this key and scope were checked moments ago (no store read needed)."""
        if not token:
            return False
        hit = self._seen.get((hash_key(token), scope))
        return hit is not None and time.monotonic() - hit[0] < self.ttl

    def verify(self, token: str | None, scope: str) -> ApiKey:
        if not token:
            return verify_key(self.store, token, scope)  # raises the "needs a key" error
        slot = (hash_key(token), scope)
        now = time.monotonic()
        hit = self._seen.get(slot)
        if hit is not None and now - hit[0] < self.ttl:
            outcome = hit[1]
        else:
            try:
                outcome = verify_key(self.store, token, scope)
            except AuthError as exc:
                outcome = exc
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[slot] = (now, outcome)
        if isinstance(outcome, AuthError):
            raise outcome
        return outcome
