"""Repository: rollouts (``steadyml rollout``), each state change a compare-and-set.

Every change of a rollout's state runs in one transaction that updates its row only where
``seq`` still has the value the caller read (``UPDATE … WHERE id = ? AND seq = ?``) and adds
one to it. Two servers and a worker evaluating the same rollout at once both try; the row
lock (PostgreSQL) or the write lock (SQLite's ``BEGIN IMMEDIATE``) lets one through, and the
other's update matches no row, so it applies nothing. The traffic policy, a promotion and the
deployment events of the change are written in the same transaction, so the state a server
reads and the traffic it follows never disagree.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from steadyml.entities import Rollout, TrafficPolicy
from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.store._base import aware
from steadyml.store.models import DeploymentEventRow, RolloutRow, TrafficRow
from steadyml.store.monitoring import MonitoringRepo
from steadyml.store.serving import ServingRepo
from steadyml.store.versions import RegistryRepo

__all__ = ["ACTIVE", "RolloutsRepo", "rollouts_of"]

ACTIVE = ("running", "paused", "promoting")


def _opt(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else aware(value)


def _rollout(row: RolloutRow) -> Rollout:
    plan = dict(row.plan or {})
    return Rollout(
        id=row.id,
        candidate_version=row.candidate_version,
        production_version=row.production_version,
        status=row.status,
        step=row.step,
        steps=[float(p) for p in plan.get("steps", [])],
        plan=plan,
        seq=row.seq,
        step_started_at=aware(row.step_started_at),
        started_by=row.started_by,
        started_at=aware(row.started_at),
        finished_at=_opt(row.finished_at),
        reason=row.reason,
        reading=dict(row.reading or {}),
        evaluated_at=_opt(row.evaluated_at),
    )


class RolloutsRepo(RegistryRepo, ServingRepo, MonitoringRepo):
    """Rollouts, with the registry and the traffic policy they change in one transaction (and
    the alerts a rollback raises)."""

    def active_rollout(self) -> Rollout | None:
        with self.reader() as s:
            row = s.scalar(
                select(RolloutRow).where(
                    RolloutRow.project == self.project, RolloutRow.status.in_(ACTIVE)
                )
            )
            return None if row is None else _rollout(row)

    def latest_rollout(self) -> Rollout | None:
        with self.reader() as s:
            row = s.scalar(
                select(RolloutRow)
                .where(RolloutRow.project == self.project)
                .order_by(RolloutRow.id.desc())
                .limit(1)
            )
            return None if row is None else _rollout(row)

    def get_rollout(self, rollout_id: int) -> Rollout:
        with self.reader() as s:
            row = s.get(RolloutRow, rollout_id)
            if row is None or row.project != self.project:
                raise NotFoundError(f"Project '{self.project}' has no rollout {rollout_id}.")
            return _rollout(row)

    def list_rollouts(self, limit: int = 50) -> list[Rollout]:
        with self.reader() as s:
            rows = s.scalars(
                select(RolloutRow)
                .where(RolloutRow.project == self.project)
                .order_by(RolloutRow.id.desc())
                .limit(limit)
            )
            return [_rollout(r) for r in rows]

    def create_rollout(
        self,
        *,
        candidate: int,
        production: int,
        plan: Mapping[str, Any],
        by: str,
        now: dt.datetime,
        traffic: TrafficPolicy,
        event: Mapping[str, Any],
    ) -> Rollout:
        """A new running rollout at step 0, its traffic and its event, in one transaction;
        refused while another rollout is active."""
        try:
            with self.session() as s:
                row = RolloutRow(
                    project=self.project, candidate_version=candidate,
                    production_version=production, status="running", step=0,
                    plan=dict(plan), seq=1, step_started_at=now, started_by=by,
                    started_at=now, reading=None,
                )  # fmt: skip
                s.add(row)
                s.flush()
                self._write_traffic(s, traffic, now)
                self._write_event(s, event, now)
                return _rollout(row)
        except sa_exc.IntegrityError:
            active = self.active_rollout()
            which = "" if active is None else f" (rollout {active.id}, v{active.candidate_version})"
            raise SteadyMLError(
                f"Another rollout is under way{which}; one rollout at a time.",
                hint="Follow it with `steadyml rollout status`, or stop it with "
                "`steadyml rollout abort --reason …`.",
            ) from None

    def transition(
        self,
        rollout_id: int,
        seq: int,
        changes: Mapping[str, Any],
        *,
        now: dt.datetime,
        traffic: TrafficPolicy | None = None,
        events: Sequence[Mapping[str, Any]] = (),
        promote: int | None = None,
        restore: int | None = None,
        by: str = "steadyml rollout",
        reason: str = "",
    ) -> Rollout | None:
        """Apply ``changes`` when the rollout's ``seq`` is still ``seq``; None when another
        writer changed it first (nothing is written then).

        ``promote``: this version goes to production (the current one archived) with a
        ``rollout:promote`` event; ``restore``: this version is put back in production if
        another one is there (``rollout:restore``). Both in the same transaction as the state
        and the traffic; ``by`` and ``reason`` go in their events.
        """
        with self.session() as s:
            result = s.execute(
                update(RolloutRow)
                .where(
                    RolloutRow.id == rollout_id,
                    RolloutRow.project == self.project,
                    RolloutRow.seq == seq,
                )
                .values(**changes, seq=seq + 1)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            for event in events:
                self._write_event(s, event, now)
            for version in (promote, restore):
                if version is None:
                    continue
                rows = self._lock(s)
                target = rows.get(version)
                if target is None:
                    raise NotFoundError(f"Model '{self.project}' has no version {version}.")
                if target.stage != "production":
                    action = "rollout:promote" if version == promote else "rollout:restore"
                    self._apply(s, rows, target, "production", by, reason or action, None, action)
            if traffic is not None:
                self._write_traffic(s, traffic, now)
            row = s.get(RolloutRow, rollout_id)
            if row is None:  # pragma: no cover - the update above found it
                return None
            s.refresh(row)
            return _rollout(row)

    def save_reading(
        self, rollout_id: int, seq: int, reading: Mapping[str, Any], *, at: dt.datetime
    ) -> bool:
        """Keep the latest guardrail reading (not a state change: ``seq`` stays), only while
        the state it was read in is still current."""
        with self.session() as s:
            result = s.execute(
                update(RolloutRow)
                .where(
                    RolloutRow.id == rollout_id,
                    RolloutRow.project == self.project,
                    RolloutRow.seq == seq,
                )
                .values(reading=dict(reading), evaluated_at=at)
                .execution_options(synchronize_session=False)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    # --- in the caller's transaction ----------------------------------------------------

    def _write_traffic(self, s: Session, policy: TrafficPolicy, now: dt.datetime) -> None:
        values = {
            "mode": policy.mode, "challenger_version": policy.challenger_version,
            "percent": policy.percent, "sticky_by": policy.sticky_by,
            "updated_by": policy.updated_by, "reason": policy.reason, "updated_at": now,
        }  # fmt: skip
        row = s.get(TrafficRow, self.project)
        if row is None:
            s.add(TrafficRow(project=self.project, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)

    def _write_event(self, s: Session, event: Mapping[str, Any], now: dt.datetime) -> None:
        s.add(
            DeploymentEventRow(
                project=self.project, action=str(event["action"])[:20],
                stage=str(event["stage"])[:20], from_version=event.get("from_version"),
                to_version=int(event["to_version"]), by=str(event["by"]),
                reason=str(event["reason"]), override=event.get("override"), at=now,
            )
        )  # fmt: skip


def rollouts_of(store: Any) -> RolloutsRepo:
    """The rollouts repository on ``store``'s engine (a ``Store`` or a ``RolloutsRepo``)."""
    if isinstance(store, RolloutsRepo):
        return store
    repo = getattr(store, "_steadyml_rollouts", None)
    if repo is None:
        repo = RolloutsRepo(store.engine, project=store.project)
        with contextlib.suppress(AttributeError):  # a store that takes no attributes
            store._steadyml_rollouts = repo
    return repo
