"""End to end: a canary that fails every request is rolled back by a real server long before
the step's minimum of requests, on decisive evidence, with no failed client request
(issue 13: the guardrails fail early on overwhelming evidence)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from factories import churn_records, copy_project, read_keys
from live_server import start_server

import steadyml
from steadyml.store.rollouts import rollouts_of

PLAN = """
retraining:
  rollout_plan:
    steps: [10, 50]          # straight to a 10 % canary
    min_requests: 500        # the default: far more than this test sends the candidate
    evaluate_every_seconds: 1
"""


def add_raising_candidate(project: Any, like: int = 1) -> int:
    """``like``'s model behind a step that raises on every call (TypeError), as a new version
    with its own artifact: a candidate that fails every request it is given."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from steadyml.registry import load_bundle
    from steadyml.registry.bundle import dump_bundle

    v = project.store.get_model_version(like)
    bundle = load_bundle(project.artifacts, v)
    bundle.pipeline = Pipeline([("broken", FunctionTransformer(int)),
                                ("model", bundle.pipeline)])  # fmt: skip
    bundle.version = None
    data = dump_bundle(bundle)
    digest = project.artifacts.put_bytes(data)
    return int(project.store.add_model_version(
        run_number=v.run_number, artifact_digest=digest, size_bytes=len(data),
        model_type="broken", task=v.task, gates_passed=True, features=list(v.features),
        dataset_version=v.dataset_version, primary_metric=v.primary_metric,
        primary_value=v.primary_value, contract=dict(v.contract), reference=dict(v.reference),
    ).version)  # fmt: skip


@pytest.mark.slow
def test_a_failing_canary_is_rolled_back_early_with_no_failed_request(
    serving_template: Path, tmp_path: Path
) -> None:
    root = copy_project(serving_template, tmp_path, PLAN)
    records = churn_records(root, n=10)
    with steadyml.open(root, env={}) as project:
        bad = add_raising_candidate(project)
    keys = read_keys(root)
    server = start_server(root, keys)
    try:
        with steadyml.open(root, env={}) as project:
            project.start_rollout(bad, reason="early-failure test", by="tests")
        statuses: list[int] = []
        versions: set[int] = set()
        deadline = time.monotonic() + 90
        state = "running"
        while time.monotonic() < deadline and state == "running":
            resp = server.post("/v1/predict", json={"records": records},
                               headers={"X-API-Key": keys["predict"]})  # fmt: skip
            statuses.append(resp.status_code)
            if resp.status_code == 200:
                versions |= {a["model_version"] for a in resp.json()["results"]}
            with steadyml.open(root, env={}) as project:
                state = rollouts_of(project.store).latest_rollout().status
            time.sleep(0.05)
        with steadyml.open(root, env={}) as project:
            last = rollouts_of(project.store).latest_rollout()
            assert state == "rolled_back", (server.output()[-3000:], last.reading)
            assert statuses and set(statuses) == {200}  # not one client request failed
            assert versions == {1}  # production answered the canary's records
            assert "failed_requests" in (last.reason or "")
            assert "decisive before the minimum of 500" in (last.reason or "")
            assert last.reading["candidate_requests"] < 500
            assert project.traffic().mode == "production"
            assert project.production().version == 1
    finally:
        server.stop()
