"""Repository: model versions, their stages, and deployment events.

The invariant "exactly one production version per project" is kept twice over: every stage
change runs in one transaction that first locks the project's versions (``SELECT … FOR
UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite), and a partial unique index on
``(project) WHERE stage = 'production'`` makes a second production row impossible even for a
writer that skipped the lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from steadyml.entities import DeploymentEvent, ModelVersion
from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.store._base import RepoBase, aware, who
from steadyml.store.models import DeploymentEventRow, ModelVersionRow


def _version(row: ModelVersionRow) -> ModelVersion:
    return ModelVersion(
        version=row.version,
        run_number=row.run_number,
        stage=row.stage,  # type: ignore[arg-type]
        artifact_digest=row.artifact_digest,
        size_bytes=row.size_bytes,
        model_type=row.model_type,
        task=row.task,
        gates_passed=row.gates_passed,
        features=list(row.features or []),
        dataset_version=row.dataset_version,
        primary_metric=row.primary_metric,
        primary_value=row.primary_value,
        created_by=row.created_by,
        created_at=aware(row.created_at),
        contract=dict(row.contract or {}),
        reference=dict(row.reference or {}),
        serving_digest=row.serving_digest,
    )


def _event(row: DeploymentEventRow) -> DeploymentEvent:
    return DeploymentEvent(
        id=row.id,
        action=row.action,
        stage=row.stage,
        from_version=row.from_version,
        to_version=row.to_version,
        by=row.by,
        reason=row.reason,
        override=row.override,
        at=aware(row.at),
    )


class RegistryRepo(RepoBase):
    def add_model_version(self, **fields: Any) -> ModelVersion:
        created_by = fields.pop("created_by", None) or who()

        def build(number: int) -> ModelVersionRow:
            return ModelVersionRow(
                project=self.project,
                version=number,
                stage="candidate",
                created_by=created_by,
                created_at=dt.datetime.now(dt.UTC),
                **fields,
            )

        row = self.add_numbered(ModelVersionRow.version, build, what="model version")
        return _version(row)

    def set_serving_digest(self, version: int, digest: str | None) -> None:
        """Record a version's serving form (for versions registered before it existed)."""
        with self.session() as s:
            row = s.scalar(
                select(ModelVersionRow).where(
                    ModelVersionRow.project == self.project, ModelVersionRow.version == version
                )
            )
            if row is None:
                raise NotFoundError(f"Model version {version} does not exist.")
            row.serving_digest = digest

    def _versions_text(self, s: Session) -> str:
        rows = list(
            s.execute(
                select(ModelVersionRow.version, ModelVersionRow.stage)
                .where(ModelVersionRow.project == self.project)
                .order_by(ModelVersionRow.version)
            )
        )
        if not rows:
            return "There are no model versions yet; train one with `steadyml train`."
        prod = [str(v) for v, stage in rows if stage == "production"]
        text = f"Versions: {rows[0][0]}–{rows[-1][0]}."
        return text + (f" Production: {prod[0]}." if prod else " None is in production.")

    def get_model_version(self, version: int) -> ModelVersion:
        with self.reader() as s:
            row = s.scalar(
                select(ModelVersionRow).where(
                    ModelVersionRow.project == self.project, ModelVersionRow.version == version
                )
            )
            if row is None:
                raise NotFoundError(
                    f"Model '{self.project}' has no version {version}. {self._versions_text(s)}"
                )
            return _version(row)

    def list_model_versions(self) -> list[ModelVersion]:
        with self.reader() as s:
            rows = s.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.project == self.project)
                .order_by(ModelVersionRow.version)
            )
            return [_version(r) for r in rows]

    def production_version(self) -> ModelVersion | None:
        with self.reader() as s:
            row = s.scalar(
                select(ModelVersionRow).where(
                    ModelVersionRow.project == self.project, ModelVersionRow.stage == "production"
                )
            )
            return None if row is None else _version(row)

    def list_events(self) -> list[DeploymentEvent]:
        with self.reader() as s:
            rows = s.scalars(
                select(DeploymentEventRow)
                .where(DeploymentEventRow.project == self.project)
                .order_by(DeploymentEventRow.id)
            )
            return [_event(r) for r in rows]

    def record_event(
        self,
        *,
        action: str,
        stage: str,
        from_version: int | None,
        to_version: int,
        by: str,
        reason: str,
    ) -> DeploymentEvent:
        """Record an event that changes no stage (e.g. a traffic change)."""
        with self.session() as s:
            row = DeploymentEventRow(
                project=self.project,
                action=action,
                stage=stage,
                from_version=from_version,
                to_version=to_version,
                by=by,
                reason=reason,
                override=None,
                at=dt.datetime.now(dt.UTC),
            )
            s.add(row)
            s.flush()
            return _event(row)

    # --- stage changes -------------------------------------------------------------

    def _lock(self, s: Session) -> dict[int, ModelVersionRow]:
        rows = s.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.project == self.project)
            .order_by(ModelVersionRow.version)
            .with_for_update()
        )
        return {r.version: r for r in rows}

    def change_stage(
        self,
        version: int,
        stage: str,
        *,
        by: str,
        reason: str,
        override: str | None = None,
        action: str = "promote",
    ) -> DeploymentEvent:
        """Move ``version`` to ``stage`` in one transaction and record the event."""
        with self.session() as s:
            rows = self._lock(s)
            target = rows.get(version)
            if target is None:
                raise NotFoundError(
                    f"Model '{self.project}' has no version {version}. {self._versions_text(s)}"
                )
            return self._apply(s, rows, target, stage, by, reason, override, action)

    def rollback(self, *, by: str, reason: str) -> DeploymentEvent:
        """Return production to the version that was there before the current one."""
        with self.session() as s:
            rows = self._lock(s)
            current = next((r for r in rows.values() if r.stage == "production"), None)
            if current is None:
                raise SteadyMLError(
                    "Nothing to roll back: no version is in production.",
                    hint="Promote one with `steadyml models promote V --to production`.",
                )
            arrived = s.scalar(
                select(DeploymentEventRow)
                .where(
                    DeploymentEventRow.project == self.project,
                    DeploymentEventRow.stage == "production",
                    DeploymentEventRow.to_version == current.version,
                )
                .order_by(DeploymentEventRow.id.desc())
                .limit(1)
            )
            previous = None if arrived is None else arrived.from_version
            if previous is None or previous not in rows:
                raise SteadyMLError(
                    f"Version {current.version} is the first production version of "
                    f"'{self.project}': there is no earlier one to roll back to.",
                    hint="Promote another version instead: `steadyml models promote V --to "
                    "production --reason …`.",
                )
            return self._apply(s, rows, rows[previous], "production", by, reason, None, "rollback")

    def _apply(
        self,
        s: Session,
        rows: dict[int, ModelVersionRow],
        target: ModelVersionRow,
        stage: str,
        by: str,
        reason: str,
        override: str | None,
        action: str,
    ) -> DeploymentEvent:
        from_version: int | None = None
        if stage == "production":
            if target.stage == "production":
                raise SteadyMLError(
                    f"Version {target.version} is already in production; nothing changed."
                )
            current = next((r for r in rows.values() if r.stage == "production"), None)
            if current is not None:
                current.stage = "archived"
                from_version = current.version
                s.flush()  # demote first: the unique index allows one production row
        else:
            if target.stage == stage:
                raise SteadyMLError(f"Version {target.version} is already in {stage}.")
            from_version = None
        target.stage = stage
        event = DeploymentEventRow(
            project=self.project,
            action=action,
            stage=stage,
            from_version=from_version,
            to_version=target.version,
            by=by,
            reason=reason,
            override=override,
            at=dt.datetime.now(dt.UTC),
        )
        s.add(event)
        s.flush()
        return _event(event)
