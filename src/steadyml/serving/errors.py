"""The one JSON error body of the API, for every 4xx and 5xx it returns.

::

    {"ok": false,
     "error": "1 problem in the request: records[3].tenure_months: must be ≤ 72 ...; got 900.",
     "errors": [{"loc": ["records", 3, "tenure_months"], "msg": "...", "type": "less_than_equal",
                 "input": 900}],
     "request_id": "..." or null}

``error`` is one line for a person; ``errors`` lists each problem for a program (``loc`` is the
path inside the JSON body, ``type`` a stable code, ``input`` the value sent, shortened when
long and always valid JSON).

This module builds the bodies and words each rule a person broke (``validation_error_body``
for a body that breaks the request model, ``error_body`` for everything else);
``handlers.py`` makes a FastAPI app answer every error with them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from steadyml.serving.responses import ErrorResponse

__all__ = [
    "ERROR_RESPONSES",
    "error_body",
    "error_item",
    "json_safe",
    "validation_error_body",
]

MAX_TEXT = 200  # characters of a text input echoed back
MAX_JSON = 500  # characters of a list/object input echoed back, as JSON
MAX_NAMES = 10  # column names listed in an "unknown column" message
MAX_IN_SUMMARY = 3  # problems spelled out in the one-line ``error``

#: for route decorators: ``@app.post(..., responses=ERROR_RESPONSES)`` documents the shape
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not valid JSON."},
    422: {"model": ErrorResponse, "description": "The body breaks the data contract."},
    500: {"model": ErrorResponse, "description": "The service could not answer."},
}

_HINTS = {
    401: "send an API key in the X-API-Key header (create one with `steadyml keys create`).",
    403: "this token may not use this route.",
    413: "the body is too large; split the request.",
    415: "send JSON with the header Content-Type: application/json.",
    429: "too many requests; wait and retry.",
    500: "the service could not answer.",
    503: "the service is not ready; retry shortly.",
}

# --- showing values -------------------------------------------------------------------------


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as valid JSON (no NaN, no bytes, no objects), shortened when long."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, Mapping | list | tuple) and depth < 4:
        if isinstance(value, Mapping):
            out: Any = {str(k): json_safe(v, depth + 1) for k, v in list(value.items())[:50]}
        else:
            out = [json_safe(v, depth + 1) for v in list(value)[:50]]
        if len(value) <= 50 and len(json.dumps(out, ensure_ascii=False)) <= MAX_JSON:
            return out
        return _summary_of(value)
    if isinstance(value, Mapping | list | tuple):
        return _summary_of(value)
    text = repr(value)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


def _summary_of(value: Mapping[Any, Any] | list[Any] | tuple[Any, ...]) -> str:
    if isinstance(value, Mapping):
        keys = ", ".join(map(str, list(value)[:5]))
        more = ", …" if len(value) > 5 else ""
        return f"<an object with {len(value)} keys: {keys}{more}>"
    return f"<a list of {len(value)} items>"


def _shown(value: Any) -> str:
    """A value as a message shows it: 'abc', 900, null, true, NaN, a list of 3 items."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return str(json_safe(value))
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, bytes | bytearray):
        return f"a body of {len(value)} bytes"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    return type(value).__name__


def _where(loc: Sequence[str | int]) -> str:
    """["records", 3, "tenure_months"] -> records[3].tenure_months; [] -> body."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out or "body"


# --- one rule in plain words --------------------------------------------------------------

_TYPE_RULES = {
    "int_type": "expects a whole number",
    "int_parsing": "expects a whole number",
    "int_from_float": "expects a whole number",
    "float_type": "expects a number",
    "float_parsing": "expects a number",
    "finite_number": "expects a finite number",
    "string_type": "expects text",
    "bool_type": "expects true or false",
    "bool_parsing": "expects true or false",
}
_DATE_RULE = "expects an ISO 8601 date or date-time such as '2024-01-31' or '2024-01-31T09:30:00'"
_BODY_EXAMPLE = 'a JSON object such as {"records": [{...}]}'


def _is_column(loc: Sequence[str | int]) -> bool:
    return len(loc) == 3 and loc[0] == "records" and isinstance(loc[1], int)


def _rule(kind: str, loc: Sequence[str | int], ctx: Mapping[str, Any], value: Any, msg: str) -> str:
    got = f"; got {_shown(value)}."
    records = list(loc) == ["records"]
    if kind == "missing":
        if not loc:
            return f"is required but missing; send {_BODY_EXAMPLE}."
        return "is required but missing."
    if kind == "extra_forbidden":
        known = list(ctx.get("known") or [])
        if _is_column(loc) and known:
            more = f" (+{len(known) - MAX_NAMES} more)" if len(known) > MAX_NAMES else ""
            return f"unknown column; the model's columns are: {', '.join(known[:MAX_NAMES])}{more}."
        if known:
            return f"unknown field; the allowed fields are: {', '.join(map(str, known))}."
        return "unknown field; remove it."
    if kind == "json_invalid":
        pos = f" at position {loc[-1]}" if loc and isinstance(loc[-1], int) else ""
        return f"is not valid JSON: {ctx.get('error', 'cannot be parsed')}{pos}."
    if value is None and (kind in _TYPE_RULES or kind.startswith(("date", "literal", "string"))):
        note = " (the contract says it is never missing)" if _is_column(loc) else ""
        return f"must not be null{note}."
    if kind in _TYPE_RULES:
        return _TYPE_RULES[kind] + got
    if kind.startswith(("datetime", "date_")):
        return _DATE_RULE + got
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        sign, key, which = {
            "greater_than_equal": ("≥", "ge", "smallest"),
            "less_than_equal": ("≤", "le", "largest"),
            "greater_than": (">", "gt", "smallest"),
            "less_than": ("<", "lt", "largest"),
        }[kind]
        source = ctx.get("bound_from")
        seen = (
            f" (the {which} value seen in training)"
            if source == "training"
            else " (a rule in the contract)"
            if source
            else ""
        )
        bound = ctx.get(key)
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        return f"must be {sign} {bound}{seen}{got}"
    if kind == "literal_error":
        allowed = ctx.get("allowed")
        if allowed:
            shown = ", ".join(repr(a) for a in allowed[:MAX_NAMES])
            more = f" (+{len(allowed) - MAX_NAMES} more)" if len(allowed) > MAX_NAMES else ""
            return f"must be one of {shown}{more}{got}"
        return f"must be {ctx.get('expected')}{got}"
    if kind == "too_short":
        if records:
            return "send at least one record; got an empty list."
        return f"needs at least {ctx.get('min_length')} item(s); got {ctx.get('actual_length')}."
    if kind == "too_long":
        if records:
            return (
                f"at most {ctx.get('max_length')} records per request; got "
                f"{ctx.get('actual_length')}. Split the request."
            )
        return f"takes at most {ctx.get('max_length')} items; got {ctx.get('actual_length')}."
    if kind == "list_type":
        if records:
            return f"must be a list of records (a JSON array of objects){got}"
        return f"must be a list (a JSON array){got}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if not loc:
            return f"must be {_BODY_EXAMPLE}{got}"
        if len(loc) == 2 and loc[0] == "records":
            return f"each record must be a JSON object of column: value pairs{got}"
        return f"must be a JSON object{got}"
    text = msg.removeprefix("Value error, ").removeprefix("Input ")
    return f"{text[:1].lower()}{text[1:]}{got}"


def error_item(err: Mapping[str, Any]) -> dict[str, Any]:
    raw = list(err.get("loc") or ())
    if raw and raw[0] == "body":
        raw = raw[1:]
    loc: list[str | int] = [p if isinstance(p, int) else str(p) for p in raw]
    kind = str(err.get("type") or "value_error")
    value = err.get("input")
    ctx = err.get("ctx") or {}
    rule = _rule(kind, loc, ctx, value, str(err.get("msg") or "is not valid"))
    if kind == "json_invalid":
        loc = []  # the whole body; the position is in the message
    shown = None if kind in ("missing", "json_invalid") else json_safe(value)
    return {"loc": loc, "msg": f"{_where(loc)}: {rule}", "type": kind, "input": shown}


def _summary(msgs: Sequence[str]) -> str:
    if not msgs:
        return "The request is not valid."
    if len(msgs) == 1:
        return f"1 problem in the request: {msgs[0]}"
    shown = "; ".join(m.rstrip(".") if len(m) <= 100 else m[:99] + "…" for m in msgs[:3])
    more = f"; and {len(msgs) - MAX_IN_SUMMARY} more" if len(msgs) > MAX_IN_SUMMARY else ""
    return f"{len(msgs)} problems in the request: {shown}{more}."


# --- bodies -------------------------------------------------------------------------------


def validation_error_body(
    exc: ValidationError | RequestValidationError | Sequence[Mapping[str, Any]],
    *,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The error body for a request that breaks the request model (pydantic error dicts in)."""
    if isinstance(exc, ValidationError):
        errors: Sequence[Mapping[str, Any]] = exc.errors(include_url=False)
    elif isinstance(exc, RequestValidationError):
        errors = list(exc.errors())
    else:
        errors = exc
    items = [error_item(e) for e in errors]
    return {
        "ok": False,
        "error": _summary([i["msg"] for i in items]),
        "errors": items,
        "request_id": request_id,
    }


def error_body(
    message: str,
    *,
    status: int | None = None,
    request_id: str | None = None,
    errors: Sequence[Mapping[str, Any] | BaseModel] | None = None,
) -> dict[str, Any]:
    """The error body for anything but a validation error.

    ``status`` only fills in a message that says nothing: an empty one, or the bare HTTP
    phrase ("Unauthorized") becomes the phrase plus what to do.
    """
    if status is not None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = f"HTTP {status}"
        if not message or message == phrase:
            hint = _HINTS.get(status)
            message = f"{phrase}: {hint}" if hint else phrase
    items = []
    for e in errors or []:
        d = e.model_dump() if isinstance(e, BaseModel) else dict(e)
        items.append(
            {
                "loc": [p if isinstance(p, int) else str(p) for p in d.get("loc") or []],
                "msg": str(d.get("msg") or ""),
                "type": str(d.get("type") or "error"),
                "input": json_safe(d.get("input")),
            }
        )
    return {"ok": False, "error": message, "errors": items, "request_id": request_id}
