"""Stored monitor windows: what a monitor run keeps, and what the dashboard reads back.

``store_windows`` is called by ``flows/monitor.monitor`` (so by ``steadyml monitor``, the
worker's ``monitor`` job and every API path) with the run's result: each window of each
length it measured becomes a ``StoredWindow`` (``store/windows.py`` says what it holds and
lists the keys of ``measures``).

Two rules keep the stored series one clean row per calendar window:

* only windows on their length's boundary are kept (whole days, weeks from Monday, hours,
  minutes: the windows ``steadyml monitor`` picks without ``--since``, and the worker's). A
  run over a period that starts elsewhere (``--since 2026-03-03T12:00``) measures windows
  that overlap the calendar ones; they are reported, not stored;
* measuring a window again replaces it (late labels, the rest of a partial window), except
  with fewer rows than the stored one: the log's rows only disappear by retention, and a
  window measured after retention emptied it must not wipe what was measured before.

``monitor_windows`` / ``count_monitor_windows`` / ``latest_windows`` read them back for the
dashboard and the library, newest first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from steadyml.config import parse_duration
from steadyml.entities import StoredWindow
from steadyml.errors import SteadyMLError
from steadyml.store.windows import windows_of

if TYPE_CHECKING:
    from steadyml.monitoring.monitor import MonitorResult
    from steadyml.store import Store

__all__ = [
    "MAX_LIMIT",
    "aligned_start",
    "count_monitor_windows",
    "latest_windows",
    "monitor_window",
    "monitor_windows",
    "store_windows",
    "stored_windows_of",
]

MAX_LIMIT = 1000  # windows per page
#: the monitor result's run-level keys kept with each window: what it was compared with
CONTEXT = ("success_metric", "higher_is_better", "training", "settings")


def aligned_start(at: dt.datetime, length: str) -> dt.datetime:
    """The start of the calendar window of ``length`` that holds ``at`` (whole days, weeks
    from Monday, hours or minutes), the boundary stored windows start on."""
    from steadyml.monitoring.windows import _floor  # the one alignment rule

    return _floor(at, parse_duration(length))


def stored_windows_of(result: Mapping[str, Any]) -> tuple[list[StoredWindow], int]:
    """The windows of one monitor result (one length) as ``StoredWindow`` s, and how many
    were left out because they do not start on their length's boundary."""
    from steadyml.monitoring.monitor import window_metrics

    length = str(result["window"])
    context = {k: result[k] for k in CONTEXT if k in result}
    measured_at = dt.datetime.fromisoformat(str(result["generated_at"]))
    out: list[StoredWindow] = []
    unaligned = 0
    for window in result["windows"]:
        start = dt.datetime.fromisoformat(window["start"])
        if aligned_start(start, length) != start:
            unaligned += 1
            continue
        out.append(
            StoredWindow(
                id=0,
                length=length,
                window_start=start,
                window_end=dt.datetime.fromisoformat(window["end"]),
                model_version=result.get("model_version"),
                time_basis=str(result.get("time_basis") or "logged"),
                rows=int(window["system"]["volume"]),
                measured_at=measured_at,
                summary=window_metrics(window),
                measures=dict(window),
                context=context,
            )
        )
    return out, unaligned


def store_windows(store: Store, result: MonitorResult) -> dict[str, int]:
    """Keep every window of ``result`` (and of the other lengths measured with it):
    ``{"stored": n, "not_aligned": m, "kept_fuller": k}`` (``kept_fuller``: stored windows
    with more rows than this run saw, left as they were)."""
    windows: list[StoredWindow] = []
    unaligned = 0
    for one in (result, *result.others.values()):
        some, skipped = stored_windows_of(one.data)
        windows += some
        unaligned += skipped
    stored = windows_of(store).save_windows(windows, keep_fuller=True)
    return {"stored": stored, "not_aligned": unaligned, "kept_fuller": len(windows) - stored}


def _check_page(length: str | None, since: dt.datetime | None, until: dt.datetime | None,
                limit: int | None = None, offset: int | None = None) -> None:  # fmt: skip
    if length is not None:
        try:
            parse_duration(length)
        except ValueError:
            raise SteadyMLError(
                f"A window length is a whole number and a unit (m, h, d or w), like '1d', "
                f"'7d' or '1h'; got {length!r}.",
                hint="Use one of the lengths the monitor measures (monitoring.window and the "
                "alert rules' windows in steadyml.yaml), or leave it out for every length.",
                field="length",
            ) from None
    if since is not None and until is not None and until <= since:
        raise SteadyMLError(
            f"The end ({until.isoformat()}) must come after the start ({since.isoformat()}).",
            hint="Swap them, or leave one out.",
            field="until",
        )
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise SteadyMLError(
            f"The page size must be between 1 and {MAX_LIMIT}; got {limit}.",
            hint="Page through more windows with offset.",
            field="limit",
        )
    if offset is not None and offset < 0:
        raise SteadyMLError(
            f"The offset must be 0 or more; got {offset}.", hint="Start at 0.", field="offset"
        )


def monitor_windows(
    store: Store,
    *,
    length: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
    limit: int = 100,
    offset: int = 0,
    measures: bool = True,
) -> list[StoredWindow]:
    """Stored windows that start in [``since``, ``until``), newest first; ``measures=False``
    leaves each window's block out (``summary`` stays), for lists and charts of many."""
    _check_page(length, since, until, limit, offset)
    return windows_of(store).list_windows(
        length=length, since=since, until=until, model_version=model_version, limit=limit,
        offset=offset, measures=measures,
    )  # fmt: skip


def monitor_window(store: Store, window_id: int) -> StoredWindow:
    """One stored window with its block, by id (``StoredWindow.id``)."""
    return windows_of(store).get_window(window_id)


def count_monitor_windows(
    store: Store,
    *,
    length: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
) -> int:
    """How many stored windows ``monitor_windows`` pages through with the same filters."""
    _check_page(length, since, until)
    return windows_of(store).count_windows(
        length=length, since=since, until=until, model_version=model_version
    )


def latest_windows(store: Store, *, model_version: int | None = None) -> dict[str, StoredWindow]:
    """The latest stored window of each length, by length (``{}`` before the first run)."""
    return windows_of(store).latest_windows(model_version=model_version)
