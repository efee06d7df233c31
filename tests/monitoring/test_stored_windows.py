"""Measured windows are stored: every monitor run keeps its windows, once per window.

The repository runs on SQLite and PostgreSQL (``store_url``); the monitor runs on a real
trained project with a real prediction log.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from steadyml.entities import PredictionRecord, StoredWindow
from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.store import open_store
from steadyml.store.windows import windows_of
from steadyml.worker import run_job

DAY0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
DAY = dt.timedelta(days=1)


def _window(day: int, *, rows: int = 10, length: str = "1d", version: int | None = 1,
            measured: int = 0) -> StoredWindow:  # fmt: skip
    start = DAY0 + day * DAY
    return StoredWindow(
        id=0, length=length, window_start=start, window_end=start + DAY, model_version=version,
        time_basis="logged", rows=rows, measured_at=DAY0 + measured * dt.timedelta(hours=1),
        summary={"volume": float(rows)}, measures={"start": start.isoformat(), "day": day},
    )  # fmt: skip


def _records(day: dt.datetime, n: int, *, version: int = 1) -> list[PredictionRecord]:
    return [
        PredictionRecord(request_id=f"{day:%Y%m%d}-{version}-{i}",
                         at=day + dt.timedelta(minutes=7 * i + 1), model_version=version,
                         route="live", inputs={}, prediction=0, score=0.2, latency_ms=3.0)
        for i in range(n)
    ]  # fmt: skip


# --- the repository, on both databases ------------------------------------------------------


def test_saving_again_replaces_and_keeps_one_row_per_window(store_url: str) -> None:
    store = open_store(store_url, project="p")
    repo = windows_of(store)
    assert repo.save_windows([_window(d) for d in range(5)]) == 5
    again = [_window(d, rows=20, measured=1) for d in range(3, 7)]
    assert repo.save_windows(again) == 4
    assert repo.count_windows() == 7
    days = {w.measures["day"]: w for w in repo.list_windows(limit=100)}
    assert sorted(days) == list(range(7))
    assert days[4].rows == 20 and days[4].measured_at == DAY0 + dt.timedelta(hours=1)
    assert days[1].rows == 10
    # the same window for another model version, or as another length, is another row
    repo.save_windows([_window(1, version=2), _window(1, version=None), _window(0, length="7d")])
    repo.save_windows([_window(1, version=None, rows=30)])  # None replaces None too
    assert repo.count_windows() == 10
    assert repo.count_windows(model_version=2) == 1
    # the same window twice in one call: the last one wins
    assert repo.save_windows([_window(9, rows=1), _window(9, rows=2)]) == 1
    assert [w.rows for w in repo.list_windows(since=DAY0 + 9 * DAY)] == [2]
    store.close()


def test_a_fuller_stored_window_is_kept_when_asked(store_url: str) -> None:
    store = open_store(store_url, project="p")
    repo = windows_of(store)
    repo.save_windows([_window(0, rows=100), _window(1, rows=100)])
    # retention emptied day 0 since; day 1 gained rows
    stored = repo.save_windows([_window(0, rows=0), _window(1, rows=150)], keep_fuller=True)
    assert stored == 1
    assert {w.measures["day"]: w.rows for w in repo.list_windows()} == {0: 100, 1: 150}
    store.close()


def test_listing_filters_and_pages_newest_first(store_url: str) -> None:
    store = open_store(store_url, project="p")
    other = open_store(store_url, project="someone-else")
    repo = windows_of(store)
    repo.save_windows([_window(d, rows=d) for d in range(30)])
    repo.save_windows([_window(7 * w, length="7d") for w in range(4)])
    windows_of(other).save_windows([_window(d) for d in range(3)])

    daily = repo.list_windows(length="1d", limit=10, offset=5)
    assert [w.measures["day"] for w in daily] == list(range(24, 14, -1))
    assert repo.count_windows(length="1d") == 30 and repo.count_windows() == 34
    span = repo.list_windows(length="1d", since=DAY0 + 10 * DAY, until=DAY0 + 13 * DAY)
    assert [w.measures["day"] for w in span] == [12, 11, 10]
    assert repo.count_windows(length="1d", since=DAY0 + 10 * DAY, until=DAY0 + 13 * DAY) == 3
    light = repo.list_windows(length="1d", limit=2, measures=False)
    assert [w.measures for w in light] == [{}, {}]
    assert [w.summary for w in light] == [{"volume": 29.0}, {"volume": 28.0}]
    latest = repo.latest_windows()
    assert sorted(latest) == ["1d", "7d"]
    assert latest["1d"].measures["day"] == 29 and latest["7d"].measures["day"] == 21
    assert windows_of(other).count_windows() == 3
    one = repo.get_window(light[0].id)
    assert one.measures["day"] == 29 and one.context == {}
    with pytest.raises(NotFoundError, match="no stored monitor window"):
        windows_of(other).get_window(light[0].id)  # another project's window
    assert repo.list_windows(length="1h") == []
    store.close()
    other.close()


def test_a_real_monitor_result_round_trips(store_url: str, monitored: dict[str, Any]) -> None:
    kept = monitored["windows"]
    store = open_store(store_url, project="churn")
    windows_of(store).save_windows(kept)
    back = sorted(windows_of(store).list_windows(), key=lambda w: w.window_start)
    kept = sorted(kept, key=lambda w: w.window_start)
    assert [w.measures for w in back] == [w.measures for w in kept]
    assert [w.summary for w in back] == [w.summary for w in kept]
    assert back[0].window_start.tzinfo is not None
    store.close()


# --- the monitor stores its windows ---------------------------------------------------------


@pytest.fixture
def monitored(trained_project: Any) -> dict[str, Any]:
    """Three days of live predictions for v1; one monitor run over them."""
    project = trained_project
    for day, n in enumerate((40, 55, 30)):
        project.store.add_predictions(_records(DAY0 + day * DAY, n))
    run = project.monitor(since=DAY0, until=DAY0 + 3 * DAY, window="1d", alerts=False)
    return {"project": project, "run": run, "windows": project.monitor_windows()}


def test_a_monitor_run_stores_its_windows(monitored: dict[str, Any]) -> None:
    project, run = monitored["project"], monitored["run"]
    assert run.result["stored_windows"] == {"stored": 3, "not_aligned": 0, "kept_fuller": 0}
    stored = sorted(monitored["windows"], key=lambda w: w.window_start)
    assert [w.window_start for w in stored] == [DAY0, DAY0 + DAY, DAY0 + 2 * DAY]
    assert [w.rows for w in stored] == [40, 55, 30]
    assert {w.length for w in stored} == {"1d"} and {w.model_version for w in stored} == {1}
    # the stored block is the monitor result's window, unchanged
    assert [w.measures for w in stored] == json.loads(json.dumps(run.result["windows"]))
    first = stored[0]
    assert first.measures["system"]["latency_ms"]["p95"] == 3.0
    assert first.measures["performance"]["status"] == "waiting for labels"
    assert first.summary["volume"] == 40.0 and first.summary["error_rate"] == 0.0
    assert first.measured_at == dt.datetime.fromisoformat(run.result["generated_at"])
    # what the window was compared with: the run's training numbers and drift settings
    assert first.context["success_metric"] == run.result["success_metric"] == "roc_auc"
    assert first.context["training"] == run.result["training"]
    assert first.context["settings"] == run.result["settings"]
    assert project.count_monitor_windows(length="1d") == 3
    assert project.latest_windows()["1d"].window_start == DAY0 + 2 * DAY


def test_running_the_monitor_again_replaces_its_windows(monitored: dict[str, Any]) -> None:
    project = monitored["project"]
    project.store.add_predictions(_records(DAY0 + 2 * DAY + dt.timedelta(hours=20), 5))
    again = project.monitor(since=DAY0, until=DAY0 + 3 * DAY, window="1d", alerts=False)
    assert again.result["stored_windows"]["stored"] == 3
    stored = sorted(project.monitor_windows(), key=lambda w: w.window_start)
    assert [w.rows for w in stored] == [40, 55, 35]
    assert all(w.measured_at == dt.datetime.fromisoformat(again.result["generated_at"])
               for w in stored)  # fmt: skip
    # a week of daily windows, and the alert rules' 7d window measured in the same pass
    week = project.monitor(since=DAY0, until=DAY0 + 7 * DAY, window="1d", alerts=True,
                           notify=False)  # fmt: skip
    assert week.result["stored_windows"]["stored"] == 8
    assert project.count_monitor_windows(length="1d") == 7
    assert [w.rows for w in project.monitor_windows(length="7d")] == [130]


def test_windows_off_the_calendar_are_not_stored(monitored: dict[str, Any]) -> None:
    project = monitored["project"]
    noon = DAY0 + dt.timedelta(hours=12)
    run = project.monitor(since=noon, until=noon + 2 * DAY, window="1d", alerts=False)
    assert run.result["stored_windows"] == {"stored": 0, "not_aligned": 2, "kept_fuller": 0}
    assert project.count_monitor_windows() == 3


def test_page_arguments_are_checked(trained_project: Any) -> None:
    with pytest.raises(SteadyMLError, match="between 1 and 1000; got 0") as bad:
        trained_project.monitor_windows(limit=0)
    assert bad.value.field == "limit"
    with pytest.raises(SteadyMLError, match="got '1 day'") as bad:
        trained_project.monitor_windows(length="1 day")
    assert bad.value.field == "length"
    with pytest.raises(SteadyMLError, match="must come after") as bad:
        trained_project.count_monitor_windows(since=DAY0, until=DAY0)
    assert bad.value.field == "until"
    assert trained_project.monitor_windows() == [] and trained_project.latest_windows() == {}


def test_the_worker_monitor_job_stores_the_current_windows(trained_project: Any) -> None:
    import steadyml
    from steadyml.flows.windows import aligned_start

    cfg: Path = trained_project.root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8")
    assert "time: event" in text and "window: 7d" in text
    cfg.write_text(text.replace("time: event", "time: logged"), encoding="utf-8")
    root = trained_project.root
    trained_project.close()
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="watch it", by="test")
        current = aligned_start(dt.datetime.now(dt.UTC), "7d")  # this week's Monday
        previous = current - 7 * DAY
        project.store.add_predictions(_records(previous + DAY, 12))
        project.store.add_predictions(_records(current, 1))
        first = run_job(project, "monitor")
        assert first.ok, first.error
        assert first.summary["stored_windows"] == 2
        second = run_job(project, "monitor")
        assert second.ok and second.summary["stored_windows"] == 2
        stored = project.monitor_windows(length="7d")
        assert [w.window_start for w in stored] == [current, previous]
        assert [w.rows for w in stored] == [1, 12]
