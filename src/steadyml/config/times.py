"""Durations and times of day as steadyml.yaml writes them: ``7d``, ``1h``, ``02:30``.

The project file's validators, the monitor's ``window`` and the worker's schedule all read
them here, so one rule and one message say what a valid value looks like.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = [
    "UNIT_SECONDS",
    "checked_time_of_day",
    "checked_window",
    "parse_duration",
    "parse_time_of_day",
]

# Seconds per unit of a window length (`30m`, `1h`, `1d`, `2w`).
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``"30m"``, ``"1h"``, ``"1d"``, ``"2w"`` as a timedelta; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a window length: write a whole number and a unit, "
            "m (minutes), h (hours), d (days) or w (weeks), e.g. 1h, 1d, 7d"
        )
    return dt.timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2)])


def parse_time_of_day(text: str) -> tuple[int, int]:
    """``"02:30"`` as ``(2, 30)``; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(
            f"{text!r} is not a time of day: write HH:MM on a 24-hour clock, e.g. 02:00"
        )
    return int(match.group(1)), int(match.group(2))


def checked_window(value: str) -> str:
    """A pydantic validator: a window length (``7d``), stripped; ValueError otherwise."""
    parse_duration(value)
    return value.strip()


def checked_time_of_day(value: str | None) -> str | None:
    """A pydantic validator: a time of day (``02:00``) or None; ValueError otherwise."""
    if value is not None:
        parse_time_of_day(value)
    return value
