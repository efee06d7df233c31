"""Repository: performance estimates beside their realised values (the back-test).

Each monitor run records, per window and estimated metric, the estimate made from the scores
(``steadyml.monitoring.estimate``) with its interval and whether its assumptions held. The
estimate is kept as it was until the window's labels arrive; from then on the row gets the
realised value (updated as more labels come) and the estimate no longer changes. Reached
through ``estimates_of(store)`` (migration 0012, table ``performance_estimates``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, UniqueConstraint, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Mapped, mapped_column

from steadyml.store._base import RepoBase, aware
from steadyml.store.models import Base

__all__ = ["EstimateRecord", "EstimatesRepo", "PerformanceEstimate", "estimates_of"]


class PerformanceEstimateRow(Base):
    """One window's estimate of one metric, and the realised value once labels arrived."""

    __tablename__ = "performance_estimates"
    __table_args__ = (
        UniqueConstraint(
            "project", "model_version", "window", "window_start", "metric",
            name="uq_performance_estimate",
        ),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200), index=True)
    model_version: Mapped[int] = mapped_column(Integer)
    window: Mapped[str] = mapped_column(String(40))
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    metric: Mapped[str] = mapped_column(String(100))
    estimated: Mapped[float] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float, nullable=True)
    upper: Mapped[float | None] = mapped_column(Float, nullable=True)
    method: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reliable: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    rows: Mapped[int] = mapped_column(Integer)
    estimated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    realised: Mapped[float | None] = mapped_column(Float, nullable=True)
    labelled: Mapped[int | None] = mapped_column(Integer, nullable=True)
    realised_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class EstimateRecord:
    """What a monitor run hands the repository for one window and metric."""

    model_version: int
    window: str
    window_start: dt.datetime
    window_end: dt.datetime
    metric: str
    estimated: float
    lower: float | None
    upper: float | None
    method: str | None
    reliable: bool
    rows: int
    problems: list[str] = field(default_factory=list)
    realised: float | None = None
    labelled: int | None = None


@dataclass(frozen=True)
class PerformanceEstimate:
    """A stored estimate and, once the labels arrived, its realised value."""

    model_version: int
    window: str
    window_start: dt.datetime
    window_end: dt.datetime
    metric: str
    estimated: float
    lower: float | None
    upper: float | None
    method: str | None
    reliable: bool
    problems: list[str]
    rows: int
    estimated_at: dt.datetime
    realised: float | None
    labelled: int | None
    realised_at: dt.datetime | None

    @property
    def error(self) -> float | None:
        """|estimated - realised|, once realised."""
        return None if self.realised is None else abs(self.estimated - self.realised)

    @property
    def covered(self) -> bool | None:
        """Whether the interval held the realised value (None: not yet realised)."""
        if self.realised is None or self.lower is None or self.upper is None:
            return None
        return self.lower - 1e-12 <= self.realised <= self.upper + 1e-12

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("window_start", "window_end", "estimated_at", "realised_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        out["error"] = self.error
        out["covered"] = self.covered
        return out


def _entity(row: PerformanceEstimateRow) -> PerformanceEstimate:
    return PerformanceEstimate(
        model_version=row.model_version,
        window=row.window,
        window_start=aware(row.window_start),
        window_end=aware(row.window_end),
        metric=row.metric,
        estimated=row.estimated,
        lower=row.lower,
        upper=row.upper,
        method=row.method,
        reliable=bool(row.reliable),
        problems=list(row.problems or []),
        rows=row.rows,
        estimated_at=aware(row.estimated_at),
        realised=row.realised,
        labelled=row.labelled,
        realised_at=None if row.realised_at is None else aware(row.realised_at),
    )


class EstimatesRepo(RepoBase):
    """The back-test's records."""

    def record_estimates(
        self, records: Sequence[EstimateRecord], *, now: dt.datetime | None = None
    ) -> int:
        """Store each estimate (or update it while its window has no realised value), and
        each realised value that came with it. Returns the rows written."""
        at = now or dt.datetime.now(dt.UTC)
        for _attempt in range(3):
            try:
                return self._record(records, at)
            except sa_exc.IntegrityError:  # a concurrent monitor inserted the same window
                continue
        return 0

    def _record(self, records: Sequence[EstimateRecord], at: dt.datetime) -> int:
        written = 0
        with self.session() as s:
            for r in records:
                row = s.scalar(
                    select(PerformanceEstimateRow).where(
                        PerformanceEstimateRow.project == self.project,
                        PerformanceEstimateRow.model_version == r.model_version,
                        PerformanceEstimateRow.window == r.window,
                        PerformanceEstimateRow.window_start == r.window_start,
                        PerformanceEstimateRow.metric == r.metric,
                    )
                )
                if row is None:
                    row = PerformanceEstimateRow(
                        project=self.project, model_version=r.model_version, window=r.window,
                        window_start=r.window_start, metric=r.metric, estimated_at=at,
                        window_end=r.window_end, estimated=r.estimated, lower=r.lower,
                        upper=r.upper, method=r.method, reliable=r.reliable,
                        problems=list(r.problems), rows=r.rows,
                    )  # fmt: skip
                    s.add(row)
                elif row.realised is None:  # the estimate made before labels: still open
                    row.window_end, row.estimated, row.lower = r.window_end, r.estimated, r.lower
                    row.upper, row.method, row.reliable = r.upper, r.method, r.reliable
                    row.problems, row.rows, row.estimated_at = list(r.problems), r.rows, at
                if r.realised is not None:
                    row.realised, row.labelled, row.realised_at = r.realised, r.labelled, at
                written += 1
            s.flush()
        return written

    def list_estimates(
        self, *, model_version: int | None = None, metric: str | None = None,
        window: str | None = None, limit: int = 1000,
    ) -> list[PerformanceEstimate]:  # fmt: skip
        """Stored estimates, oldest window first (the last ``limit``)."""
        with self.reader() as s:
            q = select(PerformanceEstimateRow).where(PerformanceEstimateRow.project == self.project)
            if model_version is not None:
                q = q.where(PerformanceEstimateRow.model_version == model_version)
            if metric is not None:
                q = q.where(PerformanceEstimateRow.metric == metric)
            if window is not None:
                q = q.where(PerformanceEstimateRow.window == window)
            q = q.order_by(
                PerformanceEstimateRow.window_start.desc(), PerformanceEstimateRow.id.desc()
            ).limit(limit)
            rows = list(s.scalars(q))
        return [_entity(r) for r in reversed(rows)]


def estimates_of(store: Any) -> EstimatesRepo:
    """The estimates repository on ``store``'s engine (a ``Store`` or an ``EstimatesRepo``)."""
    if isinstance(store, EstimatesRepo):
        return store
    repo = getattr(store, "_steadyml_estimates", None)
    if repo is None:
        repo = EstimatesRepo(store.engine, project=store.project)
        with contextlib.suppress(AttributeError):  # a store that takes no attributes
            store._steadyml_estimates = repo
    return repo
