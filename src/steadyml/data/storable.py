"""Text the metadata store can keep, and values shown escaped.

Two kinds of character reach Python from a JSON body but not a database: a lone surrogate
(``"\\ud800"`` in JSON: half of a UTF-16 pair, not a character; SQLite's driver cannot encode
it, and neither can a JSON response) and NUL (``"\\u0000"``; PostgreSQL text cannot hold it).
The API's request models refuse both in every text field (``text_problem``: one scan for NUL
and, only for text that is not ASCII, one encode); what a 422 echoes back and what the log
keeps of a refused record is escaped first (``escaped``, ``escape_deep``), so the answer
itself cannot fail on the value it refuses. The rule lives here, below every stage, so the
batch engine, the log writer and the labels file can hold values to the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["escape_deep", "escaped", "text_problem"]

#: how deep ``escape_deep`` copies lists and objects; deeper ones become a short description
MAX_DEPTH = 6


def text_problem(value: str) -> str | None:
    """Why the store cannot keep ``value``, with what to do; ``None`` when it can.

    Costs one scan for NUL and, only for text that is not ASCII, one UTF-8 encode.
    """
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which the store cannot keep; remove it"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            char = escaped(value[exc.start])
            return (
                f"contains a lone surrogate ({char}: half of a UTF-16 pair, not a character), "
                "which the store cannot keep; send the whole pair or remove it"
            )
    return None


def escaped(value: str) -> str:
    """``value`` with lone surrogates and NUL written as JSON escapes (``\\ud800``,
    ``\\u0000``); any other text is returned as it is."""
    if "\x00" in value:
        value = value.replace("\x00", "\\u0000")
    if value.isascii():
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def escape_deep(value: Any, depth: int = 0) -> Any:
    """A copy of a parsed JSON value whose every text (keys too) is ``escaped``; lists and
    objects nested deeper than ``MAX_DEPTH`` become a short description."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            return f"<an object with {len(value)} key{'' if len(value) == 1 else 's'}>"
        return {escaped(str(k)): escape_deep(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            return f"<a list of {len(value)} item{'' if len(value) == 1 else 's'}>"
        return [escape_deep(v, depth + 1) for v in value]
    return value
