"""Repository: one page of a long list, newest first, without the per-item blobs.

The dashboard's list pages read these: a page of runs without their params, summaries,
training configuration and package versions; a page of model versions without their
contracts and reference statistics; a page of alerts without their histories. Each answer
says how many items match (``Page.total``), so a list of 10,000 runs costs one short query
and one count, never the whole table. The full record of one item comes from the usual
``get_run``, ``get_model_version`` or ``get_alert``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select

from steadyml.entities import Alert, CheckRecord, DeploymentEvent
from steadyml.store._base import RepoBase, aware
from steadyml.store.models import (
    AlertRow,
    DataCheckRow,
    DeploymentEventRow,
    ModelVersionRow,
    RunRow,
)
from steadyml.store.monitoring import _alert
from steadyml.store.versions import _event

__all__ = ["MAX_PAGE", "Page", "PagesRepo", "RunBrief", "VersionBrief", "pages_of"]

MAX_PAGE = 200  # the most items one page may ask for

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Items ``offset`` to ``offset + len(items)`` of ``total`` matching ones."""

    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class RunBrief:
    """A run as a list shows it: what it was and how it scored, not its full record."""

    number: int
    status: str
    task: str
    model_type: str
    dataset_version: int
    code_commit: str | None
    code_dirty: bool
    metrics: dict[str, Any]
    gates_passed: bool
    duration_s: float
    created_by: str
    created_at: dt.datetime
    model_version: int | None


@dataclass(frozen=True)
class VersionBrief:
    """A model version as a list shows it (no contract, no reference statistics)."""

    version: int
    run_number: int
    stage: str
    model_type: str
    task: str
    gates_passed: bool
    dataset_version: int
    primary_metric: str
    primary_value: float | None
    size_bytes: int
    created_by: str
    created_at: dt.datetime
    features: list[str] = field(default_factory=list)


def _brief(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's columns as a brief's fields: times made aware, JSON copied, None as empty."""
    out = dict(row)
    out["created_at"] = aware(out["created_at"])
    for name, empty in (("metrics", dict), ("features", list)):
        if name in out:
            out[name] = empty(out[name] or empty())
    for name in ("code_dirty", "gates_passed"):
        if name in out:
            out[name] = bool(out[name])
    return out


def _bounds(offset: int, limit: int) -> tuple[int, int]:
    return max(0, int(offset)), max(1, min(int(limit), MAX_PAGE))


class PagesRepo(RepoBase):
    def _page(self, s: Any, q: Any, offset: int, limit: int) -> tuple[list[Any], int]:
        total = int(s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0)
        rows = list(s.execute(q.offset(offset).limit(limit)))
        return rows, total

    def run_page(self, *, offset: int = 0, limit: int = 50, status: str | None = None,
                 model_type: str | None = None, dataset_version: int | None = None,
                 gates: bool | None = None) -> Page[RunBrief]:  # fmt: skip
        """Runs, newest first, filtered by status, model type, data version or gates."""
        offset, limit = _bounds(offset, limit)
        cols = (RunRow.number, RunRow.status, RunRow.task, RunRow.model_type,
                RunRow.dataset_version, RunRow.code_commit, RunRow.code_dirty, RunRow.metrics,
                RunRow.gates_passed, RunRow.duration_s, RunRow.created_by, RunRow.created_at,
                RunRow.model_version)  # fmt: skip
        q = select(*cols).where(RunRow.project == self.project)
        if status:
            q = q.where(RunRow.status == status)
        if model_type:
            q = q.where(RunRow.model_type == model_type)
        if dataset_version is not None:
            q = q.where(RunRow.dataset_version == dataset_version)
        if gates is not None:
            q = q.where(RunRow.gates_passed == gates)
        with self.reader() as s:
            rows, total = self._page(s, q.order_by(RunRow.number.desc()), offset, limit)
        items = [RunBrief(**_brief(r._mapping)) for r in rows]
        return Page(items, total, offset, limit)

    def run_model_types(self) -> list[str]:
        """The model types the project's runs used (for a filter's choices)."""
        with self.reader() as s:
            return sorted(
                s.scalars(
                    select(RunRow.model_type).where(RunRow.project == self.project).distinct()
                )
            )

    def version_page(self, *, offset: int = 0, limit: int = 50,
                     stage: str | None = None) -> Page[VersionBrief]:  # fmt: skip
        """Model versions, newest first, optionally of one stage."""
        offset, limit = _bounds(offset, limit)
        m = ModelVersionRow
        cols = (m.version, m.run_number, m.stage, m.model_type, m.task, m.gates_passed,
                m.dataset_version, m.primary_metric, m.primary_value, m.size_bytes,
                m.created_by, m.created_at, m.features)  # fmt: skip
        q = select(*cols).where(m.project == self.project)
        if stage:
            q = q.where(m.stage == stage)
        with self.reader() as s:
            rows, total = self._page(s, q.order_by(m.version.desc()), offset, limit)
        items = [VersionBrief(**_brief(r._mapping)) for r in rows]
        return Page(items, total, offset, limit)

    def version_briefs(self) -> list[VersionBrief]:
        """Every model version, oldest first, without contracts or reference statistics (a
        model card's history of 1,000 versions: one light query, not 1,000 blobs)."""
        m = ModelVersionRow
        cols = (m.version, m.run_number, m.stage, m.model_type, m.task, m.gates_passed,
                m.dataset_version, m.primary_metric, m.primary_value, m.size_bytes,
                m.created_by, m.created_at, m.features)  # fmt: skip
        with self.reader() as s:
            rows = s.execute(select(*cols).where(m.project == self.project).order_by(m.version))
            return [VersionBrief(**_brief(dict(r._mapping))) for r in rows]

    def alert_page(self, *, offset: int = 0, limit: int = 50,
                   status: Sequence[str] | None = None) -> Page[Alert]:  # fmt: skip
        """Alerts, newest first, optionally of some statuses; without their histories
        (``history`` is empty: read one alert with ``get_alert`` for it)."""
        offset, limit = _bounds(offset, limit)
        q = select(AlertRow).where(AlertRow.project == self.project)
        if status:
            q = q.where(AlertRow.status.in_(list(status)))
        with self.reader() as s:
            total = int(
                s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
            )
            rows = list(s.scalars(q.order_by(AlertRow.id.desc()).offset(offset).limit(limit)))
            items = [_alert(r) for r in rows]
        return Page(items, total, offset, limit)

    def recent_checks(self, limit: int = 10) -> list[CheckRecord]:
        """The latest data checks, newest first."""
        with self.reader() as s:
            rows = s.scalars(
                select(DataCheckRow)
                .where(DataCheckRow.project == self.project)
                .order_by(DataCheckRow.id.desc())
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return [
                CheckRecord(id=r.id, kind=r.kind, source=r.source, content_hash=r.content_hash,
                            passed=r.passed, errors=r.errors, warnings=r.warnings,
                            created_at=aware(r.created_at), summary=dict(r.summary or {}))
                for r in rows
            ]  # fmt: skip

    def recent_events(self, limit: int = 20) -> list[DeploymentEvent]:
        """The latest deployment events (promotions, rollbacks, traffic), newest first."""
        with self.reader() as s:
            rows = s.scalars(
                select(DeploymentEventRow)
                .where(DeploymentEventRow.project == self.project)
                .order_by(DeploymentEventRow.id.desc())
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return [_event(r) for r in rows]


def pages_of(store: Any) -> PagesRepo:
    """The pages repository on ``store``'s engine (made once per store)."""
    if isinstance(store, PagesRepo):
        return store
    repo = getattr(store, "_steadyml_pages", None)
    if repo is None:
        repo = PagesRepo(store.engine, project=store.project)
        with contextlib.suppress(AttributeError):
            store._steadyml_pages = repo
    return repo
