"""Small, pure helpers shared by every report (the model card, the monitoring report).

Every formatter accepts ``None`` (and other odd values) and returns a string, so a report with
gaps still renders: a missing value shows as an em dash. ``as_map`` and ``as_list`` read a
part of the input that may be missing or of the wrong type; ``lower_is_better`` and
``is_better`` say which way a metric points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeGuard

MISSING = "—"

_LOWER_WORDS = {"lower", "low", "min", "minimize", "minimise", "less", "lower_is_better"}
_LOWER_METRICS = {"mae", "mse", "rmse", "mape", "log_loss", "brier", "brier_score"}


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, list | tuple) else []


def lower_is_better(name: str, direction: Any = None) -> bool:
    """True for a metric where lower is better: by the stated ``direction`` if any (``lower``,
    ``minimize``, ...), else by its name (``mae``, ``log_loss``, ``*_error``)."""
    if direction:
        return str(direction).strip().lower() in _LOWER_WORDS
    name = name.lower()
    return name in _LOWER_METRICS or name.endswith(("error", "loss"))


def is_better(value: float, reference: float, lower: bool) -> bool | None:
    """Whether ``value`` beats ``reference``; None when they are equal to 3 decimals."""
    if round(value - reference, 3) == 0:
        return None
    return (value < reference) == lower


def first_few(items: Sequence[Any], shown: int) -> str:
    """The first ``shown`` items and how many more: ``a, b, c and 2 more``."""
    text = ", ".join(str(x) for x in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


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
