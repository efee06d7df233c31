"""Repository: reading the prediction log for monitoring, alerts and their history, job runs.

Alerts are deduplicated here, in one write transaction: a rule firing on a subject that
already has an open (or acknowledged) alert updates that alert (``times_seen``, the latest
value and window) instead of opening a second one, so a monitor that runs every few minutes
does not page anyone twice for the same problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, select

from steadyml.entities import Alert, AlertEvent, JobRun
from steadyml.errors import NotFoundError, StateError
from steadyml.store._base import RepoBase, aware
from steadyml.store.models import (
    AlertEventRow,
    AlertRow,
    FeedbackRow,
    JobRunRow,
    PredictionRow,
)

LOG_COLUMNS = (
    "request_id",
    "row_key",
    "at",
    "model_version",
    "route",
    "inputs",
    "prediction",
    "score",
    "latency_ms",
    "fallback",
    "error",
)


@dataclass(frozen=True)
class AlertFiring:
    """What a rule found on one window; the store turns it into a new or updated alert."""

    key: str
    rule: str
    metric: str
    subject: str | None
    severity: str
    owner: str | None
    value: float | None
    comparison: str
    threshold: float
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    model_version: int | None
    message: str
    next_step: str


def _events(rows: Sequence[AlertEventRow]) -> tuple[AlertEvent, ...]:
    return tuple(AlertEvent(at=aware(e.at), event=e.event, by=e.by, note=e.note) for e in rows)


def _alert(row: AlertRow, events: Sequence[AlertEventRow] = ()) -> Alert:
    def opt(value: dt.datetime | None) -> dt.datetime | None:
        return None if value is None else aware(value)

    return Alert(
        id=row.id,
        key=row.key,
        rule=row.rule,
        metric=row.metric,
        subject=row.subject,
        severity=row.severity,
        owner=row.owner,
        status=row.status,
        value=row.value,
        comparison=row.comparison,
        threshold=row.threshold,
        window_start=opt(row.window_start),
        window_end=opt(row.window_end),
        model_version=row.model_version,
        message=row.message,
        next_step=row.next_step,
        first_seen=aware(row.first_seen),
        last_seen=aware(row.last_seen),
        times_seen=row.times_seen,
        history=_events(events),
    )


def _job(row: JobRunRow) -> JobRun:
    return JobRun(
        id=row.id,
        job=row.job,
        started_at=aware(row.started_at),
        finished_at=None if row.finished_at is None else aware(row.finished_at),
        ok=row.ok,
        summary=dict(row.summary or {}),
        error=row.error,
    )


class MonitoringRepo(RepoBase):
    # --- reading the prediction log ----------------------------------------------------

    def prediction_log(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        model_version: int | None = None,
        chunk_rows: int = 50_000,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The log between ``since`` (inclusive) and ``until`` (exclusive), in chunks.

        Each row is a tuple in the order of ``LOG_COLUMNS``. Chunks are read by id ranges, so
        a long log is never held twice in memory.
        """
        cols = [getattr(PredictionRow, c) for c in LOG_COLUMNS]
        last_id = 0
        while True:
            with self.reader() as s:
                q = select(PredictionRow.id, *cols).where(
                    PredictionRow.project == self.project, PredictionRow.id > last_id
                )
                if since is not None:
                    q = q.where(PredictionRow.at >= since)
                if until is not None:
                    q = q.where(PredictionRow.at < until)
                if model_version is not None:
                    q = q.where(PredictionRow.model_version == model_version)
                rows = s.execute(q.order_by(PredictionRow.id).limit(chunk_rows)).all()
            if not rows:
                return
            last_id = rows[-1][0]
            yield [tuple(r[1:]) for r in rows]
            if len(rows) < chunk_rows:
                return

    def log_time_range(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The first and last logged time, or None when nothing is logged yet."""
        with self.reader() as s:
            first, last = s.execute(
                select(func.min(PredictionRow.at), func.max(PredictionRow.at)).where(
                    PredictionRow.project == self.project
                )
            ).one()
        return None if first is None else (aware(first), aware(last))

    def all_feedback(self) -> dict[str, tuple[Any, int, dt.datetime]]:
        """Every label by key: ``(label, times received, when the last one arrived)``."""
        with self.reader() as s:
            rows = s.execute(
                select(
                    FeedbackRow.key, FeedbackRow.label, FeedbackRow.received, FeedbackRow.at
                ).where(FeedbackRow.project == self.project)
            ).all()
        return {k: (label, int(n), aware(at)) for k, label, n, at in rows}

    def delete_predictions_before(self, cutoff: dt.datetime) -> int:
        """Retention: remove logged predictions older than ``cutoff``; returns how many."""
        with self.session() as s:
            result: Any = s.execute(
                delete(PredictionRow).where(
                    PredictionRow.project == self.project, PredictionRow.at < cutoff
                )
            )
            return int(result.rowcount or 0)

    # --- alerts ------------------------------------------------------------------------

    def record_firing(self, firing: AlertFiring, *, now: dt.datetime | None = None
                      ) -> tuple[Alert, bool]:  # fmt: skip
        """Open a new alert, or update the open one with the same key.

        Returns ``(alert, is_new)``. A window at or before the latest one recorded changes
        nothing (a rerun of the monitor over the same period is not a new sighting).
        """
        now = now or dt.datetime.now(dt.UTC)
        with self.session() as s:
            row = s.scalar(
                select(AlertRow)
                .where(
                    AlertRow.project == self.project,
                    AlertRow.key == firing.key,
                    AlertRow.status != "resolved",
                )
                .order_by(AlertRow.id.desc())
                .limit(1)
            )
            fields = {k: v for k, v in asdict(firing).items() if k != "key"}
            if row is None:
                row = AlertRow(
                    project=self.project,
                    key=firing.key,
                    status="open",
                    first_seen=now,
                    last_seen=now,
                    times_seen=1,
                    **fields,
                )
                s.add(row)
                s.flush()
                s.add(AlertEventRow(alert_id=row.id, at=now, event="opened", note=firing.message))
                return _alert(row), True
            # a window at or before the one already recorded is not a new sighting: the
            # monitor reruns over the same period, and older windows come first
            seen = (
                row.window_start is not None
                and firing.window_start is not None
                and aware(firing.window_start) <= aware(row.window_start)
            )
            if not seen:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.times_seen += 1
                row.last_seen = now
                s.add(
                    AlertEventRow(alert_id=row.id, at=now, event="seen again", note=firing.message)
                )
            s.flush()
            return _alert(row), False

    def add_alert_event(
        self, alert_id: int, event: str, *, by: str | None = None, note: str | None = None
    ) -> None:
        with self.session() as s:
            s.add(AlertEventRow(alert_id=alert_id, at=dt.datetime.now(dt.UTC), event=event,
                                by=by, note=note))  # fmt: skip

    def list_alerts(self, *, status: str | None = None, limit: int = 500) -> list[Alert]:
        with self.reader() as s:
            q = select(AlertRow).where(AlertRow.project == self.project)
            if status is not None:
                q = q.where(AlertRow.status == status)
            rows = list(s.scalars(q.order_by(AlertRow.id.desc()).limit(limit)))
            events: dict[int, list[AlertEventRow]] = {}
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                for e in s.scalars(
                    select(AlertEventRow)
                    .where(AlertEventRow.alert_id.in_(ids[start : start + 500]))
                    .order_by(AlertEventRow.id)
                ):
                    events.setdefault(e.alert_id, []).append(e)
            return [_alert(r, events.get(r.id, [])) for r in rows]

    def get_alert(self, alert_id: int) -> Alert:
        with self.reader() as s:
            row = s.scalar(
                select(AlertRow).where(AlertRow.project == self.project, AlertRow.id == alert_id)
            )
            if row is None:
                known = list(
                    s.scalars(
                        select(AlertRow.id)
                        .where(AlertRow.project == self.project)
                        .order_by(AlertRow.id.desc())
                        .limit(10)
                    )
                )
                raise NotFoundError(
                    f"There is no alert {alert_id} in this project.",
                    hint=(
                        f"Recent alerts: {', '.join(map(str, known))}. See: steadyml alerts list"
                        if known
                        else "No alert has been raised yet. Run: steadyml monitor"
                    ),
                )
            events = list(
                s.scalars(
                    select(AlertEventRow)
                    .where(AlertEventRow.alert_id == alert_id)
                    .order_by(AlertEventRow.id)
                )
            )
            return _alert(row, events)

    def set_alert_status(
        self, alert_id: int, status: str, *, by: str, note: str | None = None
    ) -> Alert:
        """Acknowledge or resolve an alert; the change is kept in its history."""
        current = self.get_alert(alert_id)
        if current.status == "resolved":
            raise StateError(
                f"Alert {alert_id} is already resolved; nothing to change.",
                hint="If the problem is back, the next monitor run opens a new alert.",
            )
        if status == "acknowledged" and current.status == "acknowledged":
            raise StateError(
                f"Alert {alert_id} is already acknowledged.",
                hint=f"When it is fixed: steadyml alerts resolve {alert_id} --note 'what was done'",
            )
        with self.session() as s:
            row = s.get(AlertRow, alert_id)
            assert row is not None
            row.status = status
            s.add(AlertEventRow(alert_id=alert_id, at=dt.datetime.now(dt.UTC), event=status,
                                by=by, note=note))  # fmt: skip
        return self.get_alert(alert_id)

    # --- job runs ------------------------------------------------------------------------

    def start_job(self, job: str) -> int:
        with self.session() as s:
            row = JobRunRow(project=self.project, job=job, started_at=dt.datetime.now(dt.UTC),
                            summary={})  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

    def finish_job(
        self, run_id: int, *, ok: bool, summary: dict[str, Any], error: str | None = None
    ) -> JobRun:
        with self.session() as s:
            row = s.get(JobRunRow, run_id)
            if row is None:
                raise NotFoundError(f"There is no job run {run_id}.")
            row.finished_at = dt.datetime.now(dt.UTC)
            row.ok = ok
            row.summary = summary
            row.error = error
            s.flush()
            return _job(row)

    def list_job_runs(self, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
        with self.reader() as s:
            q = select(JobRunRow).where(JobRunRow.project == self.project)
            if job is not None:
                q = q.where(JobRunRow.job == job)
            return [_job(r) for r in s.scalars(q.order_by(JobRunRow.id.desc()).limit(limit))]
