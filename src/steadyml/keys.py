"""API keys with scopes, stored hashed.

A key is shown once, when it is created (``sml_<prefix>_<secret>``); the store keeps only its
sha256 and the short prefix, so a leaked database does not leak working keys. Scopes:
``predict`` (POST /v1/predict), ``feedback`` (POST /v1/feedback), ``admin`` (everything).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

from steadyml.entities import SCOPES, ApiKey
from steadyml.errors import AuthError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.store import Store

HEADER = "X-API-Key"

__all__ = ["HEADER", "create_key", "verify_key", "hash_key"]


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(store: Store, *, name: str, scopes: Sequence[str], by: str) -> tuple[str, ApiKey]:
    """Create a key; returns (the key itself, shown once; its stored record)."""
    name = name.strip()
    if not name:
        raise SteadyMLError("A key needs a name that says who uses it, e.g. --name crm-batch.")
    wanted = [s.strip() for s in scopes if s.strip()]
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown or not wanted:
        raise SteadyMLError(
            f"--scopes must be a comma-separated list of {', '.join(SCOPES)}; got "
            f"{', '.join(scopes) or 'nothing'}.",
        )
    prefix = secrets.token_hex(4)
    token = f"sml_{prefix}_{secrets.token_urlsafe(24)}"
    record = store.add_api_key(
        name=name,
        prefix=prefix,
        key_hash=hash_key(token),
        scopes=sorted(set(wanted)),
        created_by=by,
    )
    return token, record


def verify_key(store: Store, token: str | None, scope: str) -> ApiKey:
    """The key's record when it is valid and allows ``scope``; AuthError (401/403) otherwise."""
    if not token:
        raise AuthError(
            f"This endpoint needs an API key in the {HEADER} header.",
            hint="Create one with `steadyml keys create --name NAME --scopes predict`.",
        )
    record = store.find_api_key(hash_key(token))
    if record is None:
        raise AuthError(f"The API key in {HEADER} is not valid.")
    if not record.active:
        raise AuthError(f"The API key '{record.name}' ({record.prefix}) was revoked.")
    if scope not in record.scopes and "admin" not in record.scopes:
        raise AuthError(
            f"The API key '{record.name}' may not {scope}: its scopes are "
            f"{', '.join(record.scopes)}.",
            status=403,
        )
    return record
