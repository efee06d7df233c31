"""Personal data never reaches the log raw.

``scrub`` removes the ``pii`` columns of a record, or replaces them with a keyed hash
(HMAC-SHA256 with a per-project secret) so rows can still be joined without revealing the
value; ``hmac_values`` does the same for a whole column at once. ``loose_name`` is how a
key sent under another spelling of a column's name (``Email``, ``E_MAIL`` for ``e-mail``) is
still recognised as that column.

The key comes from outside the metadata store (``predlog.keys.pii_key``): anyone who can read
the store can read the hashes, and with the key could test guesses against them.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["hmac_values", "json_value", "loose_name", "scrub"]

_NOT_LETTERS = re.compile(r"[\W_]+")


def loose_name(name: str) -> str:
    """A column name with case, spaces and punctuation left out: ``"E-Mail"`` and
    ``"e_mail"`` both give ``"email"``."""
    return _NOT_LETTERS.sub("", str(name).casefold())


def json_value(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def hmac_values(values: Iterable[Any], key: str) -> list[str | None]:
    """``scrub``'s keyed hash of many values at once (None stays None)."""
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        h = base.copy()
        h.update(str(value).encode())
        out.append(f"hmac:{h.hexdigest()[:32]}")
    return out


def scrub(
    inputs: Mapping[str, Any], pii: Iterable[str], *, mode: str = "remove", key: str = ""
) -> dict[str, Any]:
    """The inputs as the log may keep them: personal data removed or keyed-hashed."""
    pii_set = set(pii)
    out: dict[str, Any] = {}
    for col, value in inputs.items():
        if col in pii_set:
            if mode == "hash" and value is not None:
                digest = hmac.new(key.encode(), str(value).encode(), hashlib.sha256).hexdigest()
                out[col] = f"hmac:{digest[:32]}"
            continue
        out[col] = json_value(value)
    return out
