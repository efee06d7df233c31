"""Teaching messages for a wrong project file.

Turns each pydantic validation error into one line that names the field path, shows the bad
value and says what is allowed; an unknown key gets a "did you mean" hint from the keys that
are valid at that place.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["explain", "inner_model"]


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` (for "did you mean" hints), or [] when unknown."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``X``, ``list[X]`` or ``X | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = inner_model(arg)
        if found is not None:
            return found
    return None


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _fmt_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# A list or a mapping where the file gave something else: say how to write one in YAML.
_SHAPES = {
    "list_type": "a list: one '- item' per line under it, or [a, b] on one line",
    "dict_type": "a mapping: 'key: value' lines indented under it, or {key: value}",
    "model_type": "a mapping: 'key: value' lines indented under it, or {key: value}",
}


def explain(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error as a line a person can act on: where, the bad value, what is allowed."""
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    where = _fmt_loc(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        parent = _fmt_loc(loc[:-1])
        return (
            f"{where}: unknown key '{key}' in {parent}.{hint} Allowed keys: {', '.join(allowed)}."
        )
    if kind == "missing":
        return f"{where}: required field is missing. Add it to steadyml.yaml."
    value = err.get("input")
    msg = str(err.get("msg", "invalid"))
    if kind in ("literal_error", "enum"):
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"{where}: got {_fmt_value(value)}; allowed: {', '.join(options)}.{hint}"
    shape = _SHAPES.get(kind)
    if shape is not None:
        got = "nothing under it" if value is None else _fmt_value(value)
        return f"{where}: expects {shape}; got {got}."
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {msg}; got {_fmt_value(value)}."
