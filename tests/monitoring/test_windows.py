"""Windows over the log, without a project: edges, the default period, labels, selection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import pytest

from steadyml.errors import SteadyMLError
from steadyml.monitoring.windows import (
    DEFAULT_WINDOWS,
    MAX_WINDOWS,
    period,
    window_edges,
    window_label,
    window_rows,
)

MakeLog = Callable[..., pd.DataFrame]
MONDAY = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)


def test_edges_cover_the_period_and_the_last_window_may_run_past_it() -> None:
    edges = window_edges(MONDAY, MONDAY + 2 * DAY + dt.timedelta(hours=1), DAY)
    assert [e - s for s, e in edges] == [DAY, DAY, DAY]
    assert edges[0][0] == MONDAY and edges[-1][1] == MONDAY + 3 * DAY
    assert window_edges(MONDAY, MONDAY, DAY) == []


def test_too_many_windows_name_the_window_argument_not_a_flag() -> None:
    with pytest.raises(SteadyMLError, match=f"the limit is {MAX_WINDOWS}") as bad:
        window_edges(MONDAY, MONDAY + (MAX_WINDOWS + 1) * DAY, DAY)
    assert bad.value.field == "window"
    assert "--" not in str(bad.value)


def test_default_period_starts_on_a_monday_and_ends_after_the_last_row(
    make_log: MakeLog,
) -> None:
    log = make_log(3, start=MONDAY + 2 * DAY + dt.timedelta(hours=5), step=3 * DAY)
    since, until = period(log, None, None, WEEK, now=MONDAY + 30 * DAY)
    assert since == MONDAY  # a Wednesday row, floored to its week's Monday
    assert until == log["time"].max().to_pydatetime() + dt.timedelta(microseconds=1)
    one_row = make_log(1, start=MONDAY + 2 * DAY)
    assert period(one_row, None, None, WEEK, now=MONDAY)[1] == MONDAY + WEEK  # one window


def test_default_period_reaches_back_at_most_the_default_number_of_windows(
    make_log: MakeLog,
) -> None:
    log = make_log(100, start=MONDAY, step=DAY)
    since, _ = period(log, None, None, DAY, now=MONDAY)
    latest = log["time"].max().to_pydatetime()
    assert since == latest - (DEFAULT_WINDOWS - 1) * DAY


def test_an_empty_log_gives_one_window_from_now(make_log: MakeLog) -> None:
    now = MONDAY + dt.timedelta(hours=13, minutes=7)
    since, until = period(make_log(0), None, None, dt.timedelta(hours=1), now=now)
    assert since == MONDAY + dt.timedelta(hours=13)
    assert until == since + dt.timedelta(hours=1)


def test_given_ends_are_kept(make_log: MakeLog) -> None:
    ends = (MONDAY, MONDAY + WEEK)
    assert period(make_log(5), *ends, DAY, now=MONDAY) == ends


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (DAY, "2026-01-05"),
        (WEEK, "2026-01-05 to 2026-01-11"),
        (dt.timedelta(hours=1), "2026-01-05 00:00 to 01:00"),
    ],
)
def test_labels_say_which_days_or_hours_a_window_holds(size: dt.timedelta, expected: str) -> None:
    assert window_label(MONDAY, MONDAY + size) == expected


def test_a_window_holds_its_start_but_not_its_end(make_log: MakeLog) -> None:
    log = make_log(4, start=MONDAY, step=DAY)
    rows = window_rows(log, MONDAY + DAY, MONDAY + 3 * DAY)
    assert rows["request_id"].tolist() == ["r1", "r2"]
