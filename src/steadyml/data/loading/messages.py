"""How file reading names things in its messages: column names, and an exception's gist."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["first_line", "quote_names"]


def quote_names(names: Iterable[object]) -> str:
    """Names quoted and joined, at most 20 (``... and 3 more``): ``'a', 'b'``."""
    items = [str(n) for n in names]
    shown = ", ".join(f"'{n}'" for n in items[:20])
    return shown + (f" and {len(items) - 20} more" if len(items) > 20 else "")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
