"""End to end: a real uvicorn server evaluates the rollout itself and rolls a bad candidate
back while clients send requests, with no failed client request (issue 13)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from factories import churn_records, copy_project, read_keys
from live_server import start_server

import steadyml
from steadyml.store.rollouts import rollouts_of


def add_candidate(store: Any, like: int) -> int:
    """``like``'s model under a new version number, its gates waived (for the test)."""
    v = store.get_model_version(like)
    return int(store.add_model_version(
        run_number=v.run_number, artifact_digest=v.artifact_digest, size_bytes=v.size_bytes,
        model_type=v.model_type, task=v.task, gates_passed=True, features=list(v.features),
        dataset_version=v.dataset_version, primary_metric=v.primary_metric,
        primary_value=v.primary_value, contract=dict(v.contract), reference=dict(v.reference),
        serving_digest=v.serving_digest,
    ).version)  # fmt: skip


PLAN = """
retraining:
  rollout_plan:
    min_requests: 40
    evaluate_every_seconds: 1
"""


@pytest.mark.slow
def test_server_rolls_back_a_bad_candidate_with_no_failed_request(
    serving_template: Path, tmp_path: Path
) -> None:
    root = copy_project(serving_template, tmp_path, PLAN)
    records = churn_records(root, n=20)
    # a bad candidate: trained on flipped labels, so it answers the opposite of production
    data = root / "data" / "churn.csv"
    frame = pd.read_csv(data)
    frame["churned"] = 1 - frame["churned"]
    frame.to_csv(data, index=False)
    with steadyml.open(root, env={}) as project:
        project.snapshot()
        flipped = project.train(force=True).model_version
        assert flipped is not None

        # the flipped model under a new number, its gates waived for the test
        bad = add_candidate(project.store, like=flipped.version)
    keys = read_keys(root)
    server = start_server(root, keys)
    try:
        with steadyml.open(root, env={}) as project:
            project.start_rollout(bad, reason="end-to-end test", by="tests")
        statuses: list[int] = []
        deadline = time.monotonic() + 90
        state = "running"
        while time.monotonic() < deadline and state == "running":
            for i in range(0, 20, 5):
                resp = server.post("/v1/predict", json={"records": records[i : i + 5]},
                                   headers={"X-API-Key": keys["predict"]})  # fmt: skip
                statuses.append(resp.status_code)
            with steadyml.open(root, env={}) as project:
                state = rollouts_of(project.store).latest_rollout().status
        with steadyml.open(root, env={}) as project:
            seen = rollouts_of(project.store).latest_rollout()
        said = [c["sentence"] for c in (seen.reading or {}).get("checks", [])]
        assert state == "rolled_back", (server.output()[-3000:], said)
        assert statuses and set(statuses) == {200}  # not one client request failed
        with steadyml.open(root, env={}) as project:
            last = rollouts_of(project.store).latest_rollout()
            assert "agreement" in (last.reason or "")
            assert project.traffic().mode == "production"
            assert project.production().version == 1
            # the incident is raised right after the rollback is committed: wait a moment
            raised = time.monotonic() + 10
            while not project.alerts() and time.monotonic() < raised:
                time.sleep(0.2)
            assert [a.rule for a in project.alerts()] == ["rollout guardrail"]
            events = [e.action for e in project.deployment_events()]
            assert events[-1] == "rollout:rollback"
            assert last.reading["verdict"] == "FAIL"
    finally:
        server.stop()
