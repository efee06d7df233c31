"""Compare-and-set: several evaluators at once (threads, each with its own engine, as two
servers and a worker would be) apply each step once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from rollout_helpers import T0, bare_versions, log, mixed

from steadyml.flows import rollout as ro
from steadyml.store import open_store
from steadyml.store.rollouts import rollouts_of

EVALUATORS = 4


def _race(url: str, config: Any, now: dt.datetime) -> list[str]:
    stores = [open_store(url, project="churn") for _ in range(EVALUATORS)]
    barrier = threading.Barrier(EVALUATORS)
    actions: list[str] = []

    def run(store: Any) -> None:
        barrier.wait()
        actions.append(ro.evaluate_rollout(store, config, now=now, force=True).action)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    return actions


def test_several_evaluators_apply_each_step_once(store_url: str, trained_project: Any) -> None:
    config = trained_project.config
    plan = config.retraining.rollout_plan
    plan.hold_minutes, plan.min_requests, plan.steps = 10, 50, [0.0, 50.0]
    config.launch.required = []  # bare versions carry no contract; tests/checklist tests the gate
    store = open_store(store_url, project="churn")
    bare_versions(store)
    ro.start_rollout(store, None, config, 2, by="tests", reason="tests", now=T0)
    preds = mixed(80)
    keys = log(store, T0 + dt.timedelta(minutes=1), 1, "live", preds)
    log(store, T0 + dt.timedelta(minutes=1), 2, "shadow", preds, request_ids=keys)

    first = _race(store_url, config, T0 + dt.timedelta(minutes=11))
    assert first.count("advanced") == 1, first
    assert set(first) <= {"advanced", "skipped", "held"}
    r = rollouts_of(store).active_rollout()
    assert (r.step, r.seq) == (1, 2)
    assert store.get_traffic().percent == 50.0

    at = T0 + dt.timedelta(minutes=12)
    log(store, at, 1, "live", mixed(80))
    log(store, at, 2, "canary", mixed(80))
    second = _race(store_url, config, T0 + dt.timedelta(minutes=23))
    assert second.count("promoted") == 1, second
    events = [e.action for e in store.list_events() if e.action.startswith("rollout")]
    assert events == ["rollout:shadow", "rollout:canary", "rollout:promote"]
    assert store.production_version().version == 2
    assert store.get_traffic().mode == "production"
    store.close()


@pytest.mark.postgres
def test_abort_racing_the_promotion_leaves_one_outcome(postgres_url: str,
                                                       trained_project: Any) -> None:  # fmt: skip
    """An abort and the final evaluation at once: either the rollout completed (and the abort
    finds nothing to abort) or it was aborted with v1 in production, never a mix."""
    config = trained_project.config
    plan = config.retraining.rollout_plan
    plan.hold_minutes, plan.min_requests, plan.steps = 10, 50, [50.0]
    store = open_store(postgres_url, project="churn")
    bare_versions(store)
    ro.start_rollout(store, None, config, 2, by="tests", reason="tests", now=T0)
    at = T0 + dt.timedelta(minutes=1)
    log(store, at, 1, "live", mixed(80))
    log(store, at, 2, "canary", mixed(80))
    other = open_store(postgres_url, project="churn")
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}

    def evaluate() -> None:
        barrier.wait()
        results["evaluate"] = ro.evaluate_rollout(other, config, now=T0 + dt.timedelta(minutes=11),
                                                  force=True).action  # fmt: skip

    def abort() -> None:
        barrier.wait()
        try:
            results["abort"] = ro.abort_rollout(store, config, by="t", reason="stop").status
        except Exception as exc:  # the rollout had completed first
            results["abort"] = str(exc)

    threads = [threading.Thread(target=evaluate), threading.Thread(target=abort)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    last = rollouts_of(store).latest_rollout()
    if last.status == "completed":
        assert store.production_version().version == 2
        assert "No rollout is under way" in results["abort"]
    else:
        assert last.status == "aborted"
        assert store.production_version().version == 1
        assert store.get_traffic().mode == "production"
    other.close()
    store.close()
