"""Repository: the launch checklist's attestations, and the counts it reads as evidence.

An attestation is a person saying that a launch item was done by hand (``steadyml checklist
attest ITEM --note TEXT``): who, when, the note and when it stops counting (migration 0010,
table ``checklist_attestations``). The checklist's other evidence is already in the store;
``launch_evidence`` reads it as counts, latest times and a few single rows, never the
prediction log's rows, so the checklist answers in well under a second on a store of
millions of predictions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, case, func, select
from sqlalchemy.orm import Mapped, mapped_column

from steadyml.entities import Attestation
from steadyml.store._base import RepoBase, aware
from steadyml.store.models import (
    AlertRow,
    Base,
    DataCheckRow,
    DatasetVersionRow,
    DeploymentEventRow,
    FeedbackRow,
    JobRunRow,
    PredictionFileRow,
    PredictionRow,
    RolloutRow,
    RunRow,
)

__all__ = ["AttestationRow", "AttestationsRepo", "attestations_of"]

ROLLBACKS = ("rollback", "rollout:rollback")


class AttestationRow(Base):
    __tablename__ = "checklist_attestations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(200), index=True)
    item: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def _attestation(row: AttestationRow) -> Attestation:
    return Attestation(id=row.id, item=row.item, note=row.note, by=row.by, at=aware(row.at),
                       expires_at=aware(row.expires_at))  # fmt: skip


def _opt(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else aware(value)


class AttestationsRepo(RepoBase):
    """Attestations, and the aggregates the checklist reads."""

    def add_attestation(self, *, item: str, note: str, by: str, at: dt.datetime,
                        expires_at: dt.datetime) -> Attestation:  # fmt: skip
        with self.session() as s:
            row = AttestationRow(project=self.project, item=item, note=note, by=by, at=at,
                                 expires_at=expires_at)  # fmt: skip
            s.add(row)
            s.flush()
            return _attestation(row)

    def list_attestations(self, *, item: str | None = None, limit: int = 500) -> list[Attestation]:
        """Newest first."""
        with self.reader() as s:
            q = select(AttestationRow).where(AttestationRow.project == self.project)
            if item is not None:
                q = q.where(AttestationRow.item == item)
            q = q.order_by(AttestationRow.at.desc(), AttestationRow.id.desc()).limit(limit)
            return [_attestation(r) for r in s.scalars(q)]

    def production_versions_ever(self) -> int:
        """How many versions ever reached production (a rollback needs an earlier one)."""
        with self.reader() as s:
            return int(s.scalar(
                select(func.count(func.distinct(DeploymentEventRow.to_version))).where(
                    DeploymentEventRow.project == self.project,
                    DeploymentEventRow.stage == "production")
            ) or 0)  # fmt: skip

    def latest_run_number(self) -> int | None:
        with self.reader() as s:
            return s.scalar(select(func.max(RunRow.number)).where(RunRow.project == self.project))

    def launch_evidence(self, *, production: int | None, source: str | None,
                        since: dt.datetime) -> dict[str, Any]:  # fmt: skip
        """Counts and latest times for the checklist, in one read transaction.

        ``production``: the version whose predictions and promotion are counted;
        ``source``: the file its data version was taken from (the latest data check of that
        file is looked at: passed or not); ``since``: monitor runs and reproducibility
        checks after this count as recent.
        """
        p = self.project
        with self.reader() as s:

            def one(q: Any) -> Any:
                return s.execute(q).one()

            runs, runs_at = one(select(func.count(), func.max(RunRow.created_at))
                                .where(RunRow.project == p))  # fmt: skip
            checks, checks_at = one(select(func.count(), func.max(DataCheckRow.created_at))
                                    .where(DataCheckRow.project == p))  # fmt: skip
            check_of_data = None
            if source is not None:  # the latest check of the file the version came from
                last = s.execute(
                    select(DataCheckRow.passed, DataCheckRow.created_at).where(
                        DataCheckRow.project == p, DataCheckRow.source == source)
                    .order_by(DataCheckRow.id.desc()).limit(1)
                ).first()  # fmt: skip
                check_of_data = last[1] if last is not None and last[0] else None
            # a JSON null is stored as 'null', not SQL NULL: read the (few) versions' lineage
            lineages = [at for lineage, at in s.execute(
                select(DatasetVersionRow.lineage, DatasetVersionRow.created_at)
                .where(DatasetVersionRow.project == p)) if lineage]  # fmt: skip
            retrains, retrain_at = len(lineages), max(lineages, default=None)
            rollbacks, rollback_at = one(
                select(func.count(), func.max(DeploymentEventRow.at)).where(
                    DeploymentEventRow.project == p, DeploymentEventRow.action.in_(ROLLBACKS))
            )  # fmt: skip
            rollouts, rollout_at = one(
                select(func.count(), func.max(RolloutRow.finished_at)).where(
                    RolloutRow.project == p, RolloutRow.status == "completed")
            )  # fmt: skip
            labels, labels_at = one(select(func.count(), func.max(FeedbackRow.at))
                                    .where(FeedbackRow.project == p))  # fmt: skip
            # the SQL log read once: answers, their latest time, contract refusals, and the
            # production version's answers (one scan instead of four)
            refused = PredictionRow.error.is_not(None) & PredictionRow.fallback.is_(False)
            answered = case((refused, 0), else_=1)
            by_prod = PredictionRow.model_version == (production if production is not None
                                                      else -1)  # fmt: skip
            sql_rows, sql_at, contract_refused, by_version_sql = one(
                select(func.coalesce(func.sum(answered), 0),
                       func.max(case((refused, None), else_=PredictionRow.at)),
                       func.coalesce(func.sum(case((refused & PredictionRow.error.like(
                           "contract:%"), 1), else_=0)), 0),
                       func.coalesce(func.sum(case((~refused & by_prod, 1), else_=0)), 0))
                .where(PredictionRow.project == p)
            )  # fmt: skip
            file_rows, file_refused, file_at = one(
                select(func.coalesce(func.sum(PredictionFileRow.rows), 0),
                       func.coalesce(func.sum(PredictionFileRow.rows_refused), 0),
                       func.max(PredictionFileRow.at)).where(PredictionFileRow.project == p)
            )  # fmt: skip
            by_version = int(by_version_sql or 0)
            if production is not None:
                by_version += int(s.scalar(
                    select(func.coalesce(func.sum(PredictionFileRow.rows
                                                  - PredictionFileRow.rows_refused), 0))
                    .where(PredictionFileRow.project == p,
                           PredictionFileRow.model_version == production)) or 0)  # fmt: skip
            promoted = None
            if production is not None:
                row = s.scalars(
                    select(DeploymentEventRow).where(
                        DeploymentEventRow.project == p,
                        DeploymentEventRow.to_version == production,
                        DeploymentEventRow.stage == "production")
                    .order_by(DeploymentEventRow.at.desc()).limit(1)
                ).first()  # fmt: skip
                if row is not None:
                    promoted = {"by": row.by, "reason": row.reason, "at": aware(row.at),
                                "action": row.action, "override": row.override}  # fmt: skip
            previous = s.scalar(
                select(func.count(func.distinct(DeploymentEventRow.to_version))).where(
                    DeploymentEventRow.project == p, DeploymentEventRow.stage == "production")
            )  # fmt: skip
            jobs: dict[str, dict[str, Any]] = {}
            for job in ("monitor", "reproduce"):
                row_j = s.scalars(
                    select(JobRunRow).where(JobRunRow.project == p, JobRunRow.job == job,
                                            JobRunRow.ok.is_not(None))
                    .order_by(JobRunRow.id.desc()).limit(1)
                ).first()  # fmt: skip
                recent = s.scalar(select(func.count()).where(
                    JobRunRow.project == p, JobRunRow.job == job, JobRunRow.ok.is_(True),
                    JobRunRow.started_at >= since))  # fmt: skip
                if row_j is not None:
                    jobs[job] = {"ok": row_j.ok, "at": _opt(row_j.finished_at) or aware(
                        row_j.started_at), "summary": dict(row_j.summary or {}),
                        "error": row_j.error, "recent_ok": int(recent or 0)}  # fmt: skip
            open_alerts = [
                {"id": a, "rule": r, "metric": m, "severity": sev}
                for a, r, m, sev in s.execute(
                    select(AlertRow.id, AlertRow.rule, AlertRow.metric, AlertRow.severity)
                    .where(AlertRow.project == p, AlertRow.status != "resolved").limit(200))
            ]  # fmt: skip
        latest = [t for t in (_opt(sql_at), _opt(file_at)) if t is not None]
        return {
            "runs": int(runs), "runs_at": _opt(runs_at),
            "checks": int(checks), "checks_at": _opt(checks_at),
            "check_of_data_at": _opt(check_of_data),
            "retrains": int(retrains), "retrain_at": _opt(retrain_at),
            "rollbacks": int(rollbacks), "rollback_at": _opt(rollback_at),
            "rollouts": int(rollouts), "rollout_at": _opt(rollout_at),
            "labels": int(labels), "labels_at": _opt(labels_at),
            "predictions": int(sql_rows) + int(file_rows) - int(file_refused),
            "predictions_at": max(latest) if latest else None,
            "by_production": by_version,
            "refused_by_contract": int(contract_refused or 0) + int(file_refused),
            "promoted": promoted, "production_versions_ever": int(previous or 0),
            "jobs": jobs, "open_alerts": open_alerts,
        }  # fmt: skip


def attestations_of(store: Any) -> AttestationsRepo:
    """The attestations repository on ``store``'s engine (a ``Store`` or the repo itself)."""
    if isinstance(store, AttestationsRepo):
        return store
    repo = getattr(store, "_steadyml_attestations", None)
    if repo is None:
        repo = AttestationsRepo(store.engine, project=store.project)
        with contextlib.suppress(AttributeError):
            store._steadyml_attestations = repo
    return repo
