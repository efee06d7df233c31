"""Retrain triggers: when ``steadyml worker`` retrains by itself, and why.

``retraining.triggers`` in steadyml.yaml names three kinds of cause (any may be set):

* ``alerts``: rule names of ``monitoring.alerts``. An alert of one of them that is open or
  acknowledged (not resolved) and that no retrain has answered yet fires, once per alert: the
  retrain is written into the alert's own history (event ``retrained``), so the incident shows
  what was done and the same alert never fires twice. A new alert of the rule fires again.
* ``every``: the last retrain is at least this old (before any retrain: the production
  model's creation).
* ``new_labels``: at least this many labels arrived since the last retrain.

"The last retrain" is the latest of a retrain run's creation (``steadyml retrain`` by hand,
or by this job) and the start of the latest ``retrain`` job that retrained, so a retrain that
found nothing new (the same inputs: the recorded run and its decision are returned without
training) still counts.

Nothing is repeated: while another ``retrain`` job is running (started less than
``STALE_AFTER`` ago and not finished) nothing fires; a retrain on the same inputs returns the
recorded run (``flows.retrain``). Each firing says why (the rule and alert, the age, the label
count) in the job's summary, the retrain's dataset lineage and its decision.

After a new PROMOTE decision with ``retraining.rollout: auto`` the retrain starts the
challenger's rollout (``flows.rollout``); the job's summary says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from steadyml.flows.retrain import retrain

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.store import Store

__all__ = ["JOB", "STALE_AFTER", "Firing", "TriggerCheck", "check_triggers", "retrain_on_triggers"]

JOB = "retrain"
# A retrain job unfinished for longer than this was stopped (a killed worker), not running.
STALE_AFTER = dt.timedelta(hours=6)
RETRAINED = "retrained"  # the alert event that says a retrain answered the alert


@dataclass(frozen=True)
class Firing:
    """One trigger that fired: its kind, the sentence that says why, what it counted."""

    kind: str  # "alert", "schedule" or "labels"
    reason: str
    rule: str | None = None
    alert_ids: tuple[int, ...] = ()
    count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["alert_ids"] = list(self.alert_ids)
        return {k: v for k, v in d.items() if v not in (None, [])}


@dataclass(frozen=True)
class TriggerCheck:
    """What the triggers say now: those that fired, why the others wait, or why nothing runs."""

    fired: list[Firing] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    busy: str | None = None
    last_retrain: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fired": [f.to_dict() for f in self.fired],
            "waiting": self.waiting,
            "busy": self.busy,
            "last_retrain": None if self.last_retrain is None else self.last_retrain.isoformat(),
        }


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def last_retrain(store: Store) -> dt.datetime | None:
    """The latest retrain run's creation or retrain job that retrained (see the module)."""
    times = [r.created_at for r in store.list_runs() if "decision" in (r.summary or {})]
    for job in store.list_job_runs(job=JOB, limit=500):
        if job.ok and (job.summary or {}).get("retrained"):
            at = job.summary.get("at")  # the job's clock (injectable), else when it started
            times.append(dt.datetime.fromisoformat(at) if at else job.started_at)
    return max(times, default=None)


def check_triggers(
    config: ProjectConfig, store: Store, *, now: dt.datetime | None = None,
    job_id: int | None = None,
) -> TriggerCheck:  # fmt: skip
    """Which triggers fire now and why (``job_id``: the calling job, not counted as busy)."""
    from steadyml.config.times import parse_duration

    now = now or dt.datetime.now(dt.UTC)
    triggers = config.retraining.triggers
    for job in store.list_job_runs(job=JOB, limit=20):
        if job.id != job_id and job.finished_at is None and now - job.started_at < STALE_AFTER:
            return TriggerCheck(
                busy=f"a retrain started at {job.started_at:%Y-%m-%d %H:%M} UTC (job run "
                f"{job.id}) is still running; the triggers are checked again next time."
            )
    last = last_retrain(store)
    fired: list[Firing] = []
    waiting: list[str] = []
    listed = store.list_alerts() if triggers.alerts else []
    unresolved = [a for a in listed if a.status != "resolved"]
    for rule in triggers.alerts:
        alerts = [a for a in unresolved if a.rule == rule]
        new = [a for a in alerts if not any(e.event == RETRAINED for e in a.history)]
        if new:
            ids = tuple(sorted(a.id for a in new))
            said = "; ".join(f"alert {a.id} ({a.status}): {a.message}" for a in new[:3])
            fired.append(Firing("alert", f"alert rule '{rule}': {said}", rule=rule, alert_ids=ids))
        else:
            why = "answered by an earlier retrain" if alerts else "no open alert"
            waiting.append(f"alert rule '{rule}': {why}.")
    since = last
    if since is None:
        production = store.production_version()
        since = None if production is None else production.created_at
    if triggers.every:
        every = parse_duration(triggers.every)
        if since is None:
            waiting.append(f"every {triggers.every}: no model in production and no retrain yet.")
        elif now - since >= every:
            what = "the last retrain" if last is not None else "the production model"
            old = f"{_age(now - since)} old ({since:%Y-%m-%d %H:%M} UTC)"
            fired.append(Firing("schedule", f"every {triggers.every}: {what} is {old}."))
        else:
            due = since + every
            waiting.append(f"every {triggers.every}: next at {due:%Y-%m-%d %H:%M} UTC.")
    if triggers.new_labels:
        feedback = store.all_feedback()
        count = sum(1 for _label, _n, at in feedback.values() if since is None or at > since)
        after = "since the last retrain" if last is not None else "so far"
        if since is not None and last is None:
            after = "since the production model was made"
        sentence = f"{count:,} new labels {after} (trigger: {triggers.new_labels:,})"
        if count >= triggers.new_labels:
            fired.append(Firing("labels", sentence + ".", count=count))
        else:
            waiting.append(sentence + f"; {triggers.new_labels - count:,} more to go.")
    return TriggerCheck(fired=fired, waiting=waiting, last_retrain=last)


def retrain_on_triggers(
    config: ProjectConfig, root: Path, store: Store, artifacts: ArtifactStore, *,
    now: dt.datetime | None = None, job_id: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Check the triggers; when any fired, retrain (saying why) and return the summary the
    ``retrain`` job records."""
    now = now or dt.datetime.now(dt.UTC)
    check = check_triggers(config, store, now=now, job_id=job_id)
    summary: dict[str, Any] = {**check.to_dict(), "retrained": False, "at": now.isoformat()}
    if check.busy or not check.fired:
        return summary
    why = [f.to_dict() for f in check.fired]
    result = retrain(config, root, store, artifacts, now=now, progress=progress, trigger=why,
                     by="steadyml worker")  # fmt: skip
    outcome = result.decision.get("outcome")
    note = (
        f"retrain job {job_id}: " if job_id is not None else "retrain: "
    ) + (
        f"nothing new since run {result.run.number} (decision {outcome})"
        if result.up_to_date
        else f"run {result.run.number}, challenger version "
        f"{None if result.model_version is None else result.model_version.version}, "
        f"decision {outcome}"
    )  # fmt: skip
    for firing in check.fired:
        for alert_id in firing.alert_ids:
            store.add_alert_event(alert_id, RETRAINED, by="steadyml worker", note=note)
    summary.update(
        retrained=True,
        up_to_date=result.up_to_date,
        run=result.run.number,
        model_version=None if result.model_version is None else result.model_version.version,
        dataset_version=result.dataset.version,
        outcome=outcome,
        decision=result.decision.get("summary"),
        rollout=result.rollout,
    )
    return summary
