"""Small, pure formatting helpers shared by the Markdown and HTML model cards.

Every helper accepts ``None`` (and other odd values) and returns a string, so a card with
gaps still renders: a missing value shows as an em dash.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, TypeGuard

MISSING = "—"


def is_number(value: Any) -> TypeGuard[float]:
    """True for a real, finite int or float (booleans are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def is_scalar(value: Any) -> bool:
    """True for what fits in one table cell: None, a bool, a number or a string."""
    return value is None or isinstance(value, bool | int | float | str)


def fmt_metric(value: Any) -> str:
    """A metric to 3 decimals: ``0.8123`` -> ``0.812``."""
    if is_number(value):
        return f"{float(value):,.3f}"
    return fmt_value(value)


def fmt_diff(value: Any) -> str:
    """A signed difference to 3 decimals: ``+0.052``, ``-0.010``, ``0.000``."""
    if not is_number(value):
        return MISSING
    if round(value, 3) == 0:
        return "0.000"
    return f"{value:+,.3f}"


def fmt_int(value: Any) -> str:
    """A whole number with thousands separators: ``12345`` -> ``12,345``."""
    if is_number(value) and float(value).is_integer():
        return f"{int(value):,}"
    return fmt_value(value)


def fmt_pct(value: Any, digits: int = 0) -> str:
    """A fraction as a percentage: ``0.2`` -> ``20%``."""
    if not is_number(value):
        return MISSING
    return f"{value * 100:.{digits}f}%"


def fmt_ms(value: Any) -> str:
    """Milliseconds: ``3.456`` -> ``3.5 ms``; a second or more shows as seconds."""
    if not is_number(value):
        return MISSING
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms"


def fmt_bytes(value: Any) -> str:
    """A size in bytes, human-readable: ``2048`` -> ``2.0 KB``, ``3_500_000`` -> ``3.3 MB``."""
    if not is_number(value):
        return MISSING
    size = float(value)
    if size < 1024:
        return f"{int(size):,} bytes"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}"
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def fmt_date(value: Any, *, with_time: bool = True) -> str:
    """An ISO timestamp, readable: ``2024-05-01T14:03:22+00:00`` -> ``2024-05-01 14:03 UTC``.

    A string that is not ISO 8601 is shown as it is.
    """
    if value is None or value == "":
        return MISSING
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    if not with_time:
        return moment.strftime("%Y-%m-%d")
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def short_hash(value: Any, length: int = 12) -> str:
    """The first characters of a hash or commit, enough to recognise it."""
    if not value:
        return MISSING
    return str(value)[:length]


def fmt_value(value: Any) -> str:
    """Any scalar for a table cell: numbers to 3 decimals, booleans as yes/no, None as —."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        if value.is_integer() and abs(value) >= 1000:
            return f"{int(value):,}"
        return f"{value:,.3f}"
    text = str(value)
    return text if text else MISSING


def label(name: Any) -> str:
    """A snake_case key as words for a heading or row: ``roc_auc`` -> ``roc auc``."""
    return str(name).replace("_", " ")


def md_cell(value: Any) -> str:
    """Text made safe for one Markdown table cell: pipes escaped, line breaks flattened."""
    text = MISSING if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(text.split()) or MISSING
