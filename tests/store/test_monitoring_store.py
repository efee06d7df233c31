"""Alerts, job runs and the prediction log, on a real SQLite file and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from steadyml.entities import PredictionRecord
from steadyml.errors import NotFoundError, StateError
from steadyml.store import open_store
from steadyml.store.monitoring import AlertFiring

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _firing(week: int, subject: str = "price") -> AlertFiring:
    start = T0 + dt.timedelta(days=7 * week)
    return AlertFiring(
        key=f"drift|{subject}", rule="drift", metric=f"drift:{subject}", subject=subject,
        severity="warning", owner="ana@example.com", value=1.0, comparison=">=", threshold=1,
        window_start=start, window_end=start + dt.timedelta(days=7), model_version=1,
        message=f"{subject} drifted in week {week}", next_step="look",
    )  # fmt: skip


def test_alerts_are_deduplicated_and_keep_their_history(store_url: str) -> None:
    store = open_store(store_url, project="p")
    alert, new = store.record_firing(_firing(0))
    assert new and alert.status == "open" and alert.times_seen == 1
    again, new_again = store.record_firing(_firing(0))  # the same window: nothing changes
    assert not new_again and again.id == alert.id and again.times_seen == 1
    later, _ = store.record_firing(_firing(1))
    assert later.id == alert.id and later.times_seen == 2
    assert later.message == "price drifted in week 1"
    older, _ = store.record_firing(_firing(0))  # an older window after a newer one: no change
    assert older.times_seen == 2 and older.message == "price drifted in week 1"
    other, other_new = store.record_firing(_firing(1, subject="plan"))
    assert other_new and other.id != alert.id

    store.set_alert_status(alert.id, "acknowledged", by="ana", note="on it")
    with pytest.raises(StateError):
        store.set_alert_status(alert.id, "acknowledged", by="ana")
    done = store.set_alert_status(alert.id, "resolved", by="ana", note="fixed")
    assert [e.event for e in done.history] == ["opened", "seen again", "acknowledged", "resolved"]
    assert done.history[-1].by == "ana" and done.history[-1].note == "fixed"
    reopened, is_new = store.record_firing(_firing(2))  # after resolution: a new incident
    assert is_new and reopened.id != alert.id
    assert [a.status for a in store.list_alerts()] == ["open", "open", "resolved"]
    assert [a.id for a in store.list_alerts(status="resolved")] == [alert.id]
    with pytest.raises(NotFoundError, match="There is no alert 999"):
        store.get_alert(999)
    store.close()


def test_job_runs_are_recorded(store_url: str) -> None:
    store = open_store(store_url, project="p")
    run_id = store.start_job("monitor")
    assert store.list_job_runs()[0].ok is None
    done = store.finish_job(run_id, ok=False, summary={"rows": 3}, error="boom")
    assert (done.ok, done.summary, done.error) == (False, {"rows": 3}, "boom")
    assert done.finished_at is not None and done.finished_at >= done.started_at
    store.close()


def test_prediction_log_period_counts_and_retention(store_url: str) -> None:
    store = open_store(store_url, project="p")

    def record(i: int, days: int, error: str | None = None) -> PredictionRecord:
        return PredictionRecord(request_id=f"r{i}", at=T0 + dt.timedelta(days=days),
                                model_version=1, route="live", inputs={"x": i},
                                prediction=None if error else 1, score=None if error else 0.7,
                                latency_ms=2.0, error=error, row_key=f"k{i}")  # fmt: skip

    store.add_predictions([record(0, 0), record(1, 3), record(2, 10, "contract: x: bad")])
    rows = [r for chunk in store.prediction_log(since=T0 + dt.timedelta(days=1),
                                                until=T0 + dt.timedelta(days=11),
                                                chunk_rows=1) for r in chunk]  # fmt: skip
    assert [r[0] for r in rows] == ["r1", "r2"]
    assert store.count_predictions() == 3
    assert store.count_predictions(answered=True) == 2
    assert store.count_predictions(answered=False) == 1
    first, last = store.log_time_range() or (None, None)
    assert first == T0 and last == T0 + dt.timedelta(days=10)
    stored, unknown = store.add_feedback([("k1", 1), ("k1", 0), ("nobody", 1)])
    assert stored == 3 and unknown == ["nobody"]
    assert store.all_feedback()["k1"][:2] == (0, 2)  # the last label wins, both counted
    assert store.delete_predictions_before(T0 + dt.timedelta(days=5)) == 2
    assert store.count_predictions() == 1
    store.close()
