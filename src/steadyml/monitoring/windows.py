"""Windows over the prediction log: read the log for a period, cut the period into windows.

``load_log`` reads the log (batch files and live rows alike) as one frame with a ``time``
column: the logged time, or the event time from an input column when the project windows by
event time. ``period`` fills in a missing start or end from the log itself, ``window_edges``
cuts the period into windows of one length (aligned to whole days, weeks, hours or minutes),
``window_rows`` selects a window's rows and ``window_label`` names a window for a person.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from steadyml.artifacts import ArtifactStore
from steadyml.errors import SteadyMLError
from steadyml.predlog import read_log
from steadyml.store import Store
from steadyml.store.monitoring import LOG_COLUMNS

__all__ = [
    "DEFAULT_WINDOWS",
    "MAX_WINDOWS",
    "load_log",
    "log_times",
    "period",
    "period_of",
    "window_edges",
    "window_label",
    "window_rows",
]

MAX_WINDOWS = 400
DEFAULT_WINDOWS = 30  # without a start (``since``), the latest 30 windows


def load_log(
    store: Store,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    model_version: int | None,
    time_column: str | None,
    artifacts: ArtifactStore | None = None,
) -> pd.DataFrame:
    """The prediction log as a frame: log columns plus one column per logged input.

    With ``time_column`` (event time) rows are selected and windowed by that input; rows
    without it fall back to the logged time. Event time can be far from the logged time, so
    the whole log is read and filtered here.
    """
    by_logged = time_column is None
    chunks: list[pd.DataFrame] = list(
        read_log(
            store,
            artifacts,
            since=since if by_logged else None,
            until=until if by_logged else None,
            model_version=model_version,
        )
    )
    if not chunks:
        return pd.DataFrame(columns=[*LOG_COLUMNS, "time"])
    frame = pd.concat(chunks, ignore_index=True)
    frame["time"] = log_times(frame, time_column)
    if since is not None:
        frame = frame[frame["time"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["time"] < pd.Timestamp(until)]
    return frame.reset_index(drop=True)


def log_times(frame: pd.DataFrame, time_column: str | None) -> pd.Series:
    """Each row's time (UTC): its event time from ``time_column`` where that reads as a time,
    else when it was logged (``at``)."""
    logged = pd.to_datetime(frame["at"], utc=True)
    if not time_column or time_column not in frame.columns:
        return logged
    column = frame[time_column]
    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        event = pd.to_datetime(column, utc=True)
    else:  # text: each distinct value parsed once (a day's rows share a handful of dates)
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        parsed = pd.to_datetime(pd.Series(uniques, dtype=object), utc=True, errors="coerce",
                                format="mixed")  # fmt: skip
        values = np.append(parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]"),
                           np.datetime64("NaT", "ns"))  # fmt: skip
        event = pd.Series(pd.DatetimeIndex(values[codes]).tz_localize("UTC"), index=frame.index)
    return event.fillna(logged)


def period(
    log: pd.DataFrame,
    since: dt.datetime | None,
    until: dt.datetime | None,
    size: dt.timedelta,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """``(since, until)`` with the missing ends filled in from the log's ``time`` column.

    Without ``since``: from the first logged row, but at most ``DEFAULT_WINDOWS`` windows
    before the latest one, aligned to a window boundary (``now``'s when the log is empty).
    Without ``until``: just after the latest row, and at least one window after ``since``.
    """
    span = None
    if len(log):
        span = (log["time"].min().to_pydatetime(), log["time"].max().to_pydatetime())
    return period_of(span, since, until, size, now)


def period_of(
    span: tuple[dt.datetime, dt.datetime] | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    size: dt.timedelta,
    now: dt.datetime,
) -> tuple[dt.datetime, dt.datetime]:
    """``period`` from the first and latest ``time`` of the log (``span``; None: empty)."""
    if since is None:
        if span is not None:
            first, latest = span
            since = _floor(max(first, latest - (DEFAULT_WINDOWS - 1) * size), size)
        else:
            since = _floor(now, size)
    if until is None:
        last = span[1] if span is not None else now
        until = max(since + size, last + dt.timedelta(microseconds=1))
    return since, until


def window_edges(
    start: dt.datetime, end: dt.datetime, size: dt.timedelta
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Windows of ``size`` from ``start`` until they cover ``end``."""
    if end <= start:
        return []
    count = math.ceil((end - start) / size)
    if count > MAX_WINDOWS:
        raise SteadyMLError(
            f"That period holds {count} windows of {size}; the limit is {MAX_WINDOWS}.",
            hint="Choose a longer window (e.g. 1d or 7d; the default is monitoring.window in "
            "steadyml.yaml) or a shorter period (a later since or an earlier until).",
            field="window",
        )
    return [(start + i * size, start + (i + 1) * size) for i in range(count)]


def window_rows(log: pd.DataFrame, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """The rows of ``log`` whose ``time`` falls in ``[start, end)``."""
    return log[(log["time"] >= pd.Timestamp(start)) & (log["time"] < pd.Timestamp(end))]


def window_label(start: dt.datetime, end: dt.datetime) -> str:
    """A window's name for a person: ``2026-01-05``, ``2026-01-05 to 2026-01-11`` or
    ``2026-01-05 14:00 to 15:00``."""
    if end - start >= dt.timedelta(days=1):
        last = end - dt.timedelta(days=1)
        if last.date() == start.date():
            return start.strftime("%Y-%m-%d")
        return f"{start:%Y-%m-%d} to {last:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} to {end:%H:%M}"


def _floor(value: dt.datetime, size: dt.timedelta) -> dt.datetime:
    """Align windows to whole days (weeks start on Monday), hours or minutes."""
    value = value.astimezone(dt.UTC)
    if size >= dt.timedelta(days=7) and size % dt.timedelta(days=7) == dt.timedelta(0):
        day = value.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - dt.timedelta(days=day.weekday())
    if size >= dt.timedelta(days=1):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if size >= dt.timedelta(hours=1):
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(second=0, microsecond=0)
