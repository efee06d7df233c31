"""Repository: stored monitor windows (migration 0011, table ``monitor_windows``).

Every monitor run (``steadyml monitor``, the worker's ``monitor`` job, any API path: they all
go through ``flows/monitor.monitor``) keeps each window it measured, of every length, so the
dashboard reads stored numbers and never recomputes drift or reads the prediction log on a
page load.

A window is known by (``length``, ``window_start``, ``model_version``, ``time_basis``).
Measuring it again **replaces** its row (one row per window, the newest measurement): a
window's numbers only get better with time (late labels arrive, a partial window fills up), and
the worker re-measures the latest windows every few minutes, so keeping every version would
multiply the table by the schedule's frequency for nothing a page shows.

What a ``StoredWindow`` holds
-----------------------------
``rows``: predictions in the window (``measures["system"]["volume"]``). ``summary``: every
number an alert rule can name (``monitoring.window_metrics``: ``volume``, ``error_rate``,
``fallback_rate``, ``latency_p50_ms`` / ``p95`` / ``p99``, ``contract_violation_rate``,
``missing_rate:<f>``, ``missing_increase:<f>``, ``unseen_rate:<f>``, ``out_of_range_rate:<f>``,
``drifted_features``, ``drift_share``, ``drift:<f>`` (1.0 / 0.0 / None), ``psi:<f>``,
``prediction_drift``, ``labelled``, each live metric by name, ``performance_drop``,
``performance_drop_share``, ``fairness_gap:<column>``): small, for charts over many windows.

``measures``: the monitor result's window block, unchanged (``WindowStats.result``):

* ``start``, ``end`` (ISO 8601), ``label`` (``2026-01-05``, for a person);
* ``system``: ``volume``, ``by_route`` ({route: rows}), ``latency_ms`` ({``p50``, ``p95``,
  ``p99``} or None without answered rows), ``error_rate``, ``fallback_rate``;
* ``quality``: ``rows``, ``contract_violation_rate``, ``text_repaired``, ``features``: one
  per feature {``feature``, ``kind``, ``missing_rate``, ``reference_missing_rate``,
  ``unseen_categories``, ``unseen_rate``, ``out_of_range_rate``, ``status``, ``message``};
* ``drift``: ``features``: one per feature {``feature``, ``kind`` (numeric, categorical),
  ``test`` (ks, wasserstein, chi_square, jensen_shannon; None with too few rows),
  ``statistic`` (the p-value test's statistic, or the distance), ``p_value``, ``threshold``,
  ``threshold_kind`` (p_value, distance), ``drifted`` (True / False / None: not tested),
  ``n_reference``, ``n_current``, ``psi``, ``psi_flagged``, ``status``, ``message``,
  ``histogram``: numeric {``edges``, ``reference``, ``current``} or categorical
  {``categories``, ``reference``, ``current``}: reference and current are *shares* per bin
  (multiply by ``n_reference`` / ``n_current`` for counts)}; ``prediction``: the same block
  for the model's predictions (the prediction distribution against training) or None;
  ``drifted``: the drifted features' names; ``missing_features``: features the log lacks;
* ``performance``: ``status`` ("ok", "waiting for labels", "not enough labels"),
  ``labelled``, ``metrics`` ({name: value}), ``drop`` and ``drop_share`` against training
  (None until there are labels);
* ``segments``: {column: {value: {``labelled``, ``too_few``, ``metrics``}}} ({} without
  labels);
* ``fairness``: {column: {``metric``, ``groups`` ({group: value}), ``gap``}} ({} without
  labels).

``context``: what the run compared the window with, the monitor result's run-level keys
``success_metric`` (e.g. "roc_auc"), ``higher_is_better``, ``training`` ({``metrics``: the
training run's metrics by name, ``fairness``: {column: {``gap``}}}) and ``settings`` (the drift
settings: ``p_value``, ``distance``, ``psi``, ``min_samples``, ``large_sample``,
``max_fairness_gap``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    String,
    and_,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapped, Session, mapped_column

from steadyml.entities import StoredWindow
from steadyml.errors import NotFoundError, StoreError
from steadyml.store._base import RepoBase, aware
from steadyml.store.models import Base

__all__ = ["MonitorWindowRow", "WindowsRepo", "windows_of"]


#: what a stored window is known by: measuring it again replaces the row
_KEY = ("project", "length", "window_start", "model_version", "time_basis")


class MonitorWindowRow(Base):
    """One measured monitor window (migration 0011)."""

    __tablename__ = "monitor_windows"
    __table_args__ = (
        Index("uq_monitor_window", *_KEY, unique=True),
        Index("ix_monitor_windows_start", "project", "window_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200))
    length: Mapped[str] = mapped_column(String(20))
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    time_basis: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(BigInteger)
    measured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    measures: Mapped[dict[str, Any]] = mapped_column(JSON)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)


_LIGHT = [c for c in MonitorWindowRow.__table__.columns if c.name != "measures"]


def _utc(value: dt.datetime) -> dt.datetime:
    """Bound as UTC (SQLite keeps the wall time only)."""
    return aware(value).astimezone(dt.UTC)


def _window(row: Any, measures: bool) -> StoredWindow:
    return StoredWindow(
        id=row.id,
        length=row.length,
        window_start=aware(row.window_start),
        window_end=aware(row.window_end),
        model_version=row.model_version,
        time_basis=row.time_basis,
        rows=int(row.rows),
        measured_at=aware(row.measured_at),
        summary=dict(row.summary or {}),
        measures=dict(row.measures or {}) if measures else {},
        context=dict(row.context or {}),
    )


class WindowsRepo(RepoBase):
    """Stored monitor windows of one project."""

    def save_windows(self, windows: Iterable[StoredWindow], *, keep_fuller: bool = False) -> int:
        """Store ``windows`` (their ``id`` is ignored), replacing any stored window with the
        same length, start, model version and time basis, in one transaction. Returns how
        many were stored. ``keep_fuller``: a stored window with more rows than its new
        measurement stays as it is (the log lost rows to retention since). A concurrent
        writer of the same windows makes one try fail on the unique index; the next try
        replaces its rows."""
        # the same window twice in one call: the last one wins
        by_key = {(w.length, w.model_version, w.time_basis, _utc(w.window_start)): w
                  for w in windows}  # fmt: skip
        items = list(by_key.values())
        if not items:
            return 0
        for _attempt in range(5):
            try:
                with self.session() as s:
                    return self._save(s, items, keep_fuller)
            except sa_exc.IntegrityError:
                continue
        raise StoreError(
            f"Could not store {len(items)} monitor windows after 5 tries (busy store).",
            hint="Run the monitor again; if it keeps happening, check for a stuck writer.",
        )

    def _save(self, s: Session, items: list[StoredWindow], keep_fuller: bool) -> int:
        t = MonitorWindowRow
        groups: dict[tuple[str, int | None, str], list[StoredWindow]] = {}
        for w in items:
            groups.setdefault((w.length, w.model_version, w.time_basis), []).append(w)
        keep: list[StoredWindow] = []
        for (length, version, basis), some in groups.items():
            same = and_(
                t.project == self.project, t.length == length, t.time_basis == basis,
                t.model_version.is_(None) if version is None else t.model_version == version,
            )  # fmt: skip
            for i in range(0, len(some), 500):
                part = some[i : i + 500]
                starts = [_utc(w.window_start) for w in part]
                if keep_fuller:
                    rows_now = {
                        _utc(start): rows
                        for start, rows in s.execute(
                            select(t.window_start, t.rows).where(same, t.window_start.in_(starts))
                        )
                    }
                    part = [w for w in part if rows_now.get(_utc(w.window_start), -1) <= w.rows]
                    starts = [_utc(w.window_start) for w in part]
                if not part:
                    continue
                s.execute(
                    delete(t)
                    .where(same, t.window_start.in_(starts))
                    .execution_options(synchronize_session=False)
                )
                keep += part
        if keep:
            s.execute(insert(t), [self._values(w) for w in keep])
        return len(keep)

    def _values(self, w: StoredWindow) -> dict[str, Any]:
        return {
            "project": self.project, "length": w.length,
            "window_start": _utc(w.window_start), "window_end": _utc(w.window_end),
            "model_version": w.model_version, "time_basis": w.time_basis,
            "rows": int(w.rows), "measured_at": _utc(w.measured_at),
            "summary": dict(w.summary), "measures": dict(w.measures),
            "context": dict(w.context),
        }  # fmt: skip

    def _filtered(
        self,
        q: Any,
        *,
        length: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        model_version: int | None,
    ) -> Any:
        t = MonitorWindowRow
        q = q.where(t.project == self.project)
        if length is not None:
            q = q.where(t.length == length)
        if since is not None:
            q = q.where(t.window_start >= _utc(since))
        if until is not None:
            q = q.where(t.window_start < _utc(until))
        if model_version is not None:
            q = q.where(t.model_version == model_version)
        return q

    def list_windows(
        self,
        *,
        length: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        model_version: int | None = None,
        limit: int = 100,
        offset: int = 0,
        measures: bool = True,
    ) -> list[StoredWindow]:
        """Stored windows that start in [``since``, ``until``), newest first (then by length
        and model version). ``measures=False`` leaves each window's block out (``summary``
        stays): a list of many windows then reads a few hundred bytes per window."""
        t = MonitorWindowRow
        columns = [t] if measures else _LIGHT
        q = self._filtered(select(*columns), length=length, since=since, until=until,
                           model_version=model_version)  # fmt: skip
        q = q.order_by(t.window_start.desc(), t.length, t.model_version.desc(), t.id.desc())
        with self.reader() as s:
            if measures:
                rows: Sequence[Any] = list(s.scalars(q.limit(limit).offset(offset)))
            else:
                rows = list(s.execute(q.limit(limit).offset(offset)))
            return [_window(r, measures) for r in rows]

    def get_window(self, window_id: int) -> StoredWindow:
        with self.reader() as s:
            row = s.get(MonitorWindowRow, window_id)
            if row is None or row.project != self.project:
                raise NotFoundError(
                    f"Project '{self.project}' has no stored monitor window {window_id}.",
                    hint="List them with Project.monitor_windows(); a window measured again "
                    "keeps its place in time but gets a new id.",
                )
            return _window(row, True)

    def count_windows(
        self,
        *,
        length: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        model_version: int | None = None,
    ) -> int:
        q = self._filtered(select(func.count(MonitorWindowRow.id)), length=length,
                           since=since, until=until, model_version=model_version)  # fmt: skip
        with self.reader() as s:
            return int(s.scalar(q) or 0)

    def window_lengths(self) -> list[str]:
        """Every window length stored for the project."""
        t = MonitorWindowRow
        with self.reader() as s:
            q = select(t.length).where(t.project == self.project).distinct().order_by(t.length)
            return list(s.scalars(q))

    def latest_windows(self, *, model_version: int | None = None) -> dict[str, StoredWindow]:
        """The latest stored window of each length (by start; for one start measured for
        several model versions, the latest measured), by length."""
        t = MonitorWindowRow
        out: dict[str, StoredWindow] = {}
        with self.reader() as s:
            lengths = s.scalars(select(t.length).where(t.project == self.project).distinct())
            for length in sorted(lengths):
                q = self._filtered(select(t), length=length, since=None, until=None,
                                   model_version=model_version)  # fmt: skip
                row = s.scalar(
                    q.order_by(t.window_start.desc(), t.measured_at.desc(), t.id.desc()).limit(1)
                )
                if row is not None:
                    out[length] = _window(row, True)
        return out


def windows_of(store: Any) -> WindowsRepo:
    """The stored-windows repository on ``store``'s engine (a ``Store`` or a ``WindowsRepo``)."""
    if isinstance(store, WindowsRepo):
        return store
    repo = getattr(store, "_steadyml_windows", None)
    if repo is None:
        repo = WindowsRepo(store.engine, project=store.project)
        with contextlib.suppress(AttributeError):  # a store that takes no attributes
            store._steadyml_windows = repo
    return repo
