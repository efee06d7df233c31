"""Helpers for the rollout tests: a candidate beside production, and a hand-written log."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import Any

from steadyml.entities import ModelVersion, PredictionRecord

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


def add_candidate(store: Any, like: int = 1, *, gates_passed: bool = True) -> ModelVersion:
    """A new candidate version with ``like``'s model (the same bytes, a new number)."""
    v = store.get_model_version(like)
    return store.add_model_version(  # type: ignore[no-any-return]
        run_number=v.run_number, artifact_digest=v.artifact_digest, size_bytes=v.size_bytes,
        model_type=v.model_type, task=v.task, gates_passed=gates_passed,
        features=list(v.features), dataset_version=v.dataset_version,
        primary_metric=v.primary_metric, primary_value=v.primary_value,
        contract=dict(v.contract), reference=dict(v.reference), serving_digest=v.serving_digest,
    )  # fmt: skip


def bare_versions(store: Any, n: int = 2) -> None:
    """``n`` model versions with no artifact (enough for the rollout's state machine), the
    first in production."""
    for _ in range(n):
        store.add_model_version(
            run_number=1, artifact_digest="0" * 64, size_bytes=1, model_type="linear",
            task="classification", gates_passed=True, features=["x"], dataset_version=1,
            primary_metric="accuracy", primary_value=0.9, contract={}, reference={},
        )  # fmt: skip
    store.change_stage(1, "production", by="tests", reason="tests")


def ids(n: int) -> list[str]:
    return [os.urandom(16).hex() for _ in range(n)]


def log(
    store: Any,
    at: dt.datetime,
    version: int,
    route: str,
    predictions: Sequence[Any],
    *,
    request_ids: Sequence[str] | None = None,
    latency_ms: float = 10.0,
    error: str | None = None,
    fallback: bool = False,
) -> list[str]:
    """Log one prediction per value of ``predictions``, a millisecond apart from ``at``."""
    keys = list(request_ids) if request_ids is not None else ids(len(predictions))
    records = [
        PredictionRecord(
            request_id=keys[i],
            at=at + dt.timedelta(milliseconds=i),
            model_version=version,
            route=route,
            inputs={},
            prediction=p,
            score=None if p is None else float(p == "yes"),
            latency_ms=latency_ms,
            fallback=fallback,
            error=error,
        )
        for i, p in enumerate(predictions)
    ]
    store.add_predictions(records)
    return keys


def mixed(n: int, share_yes: float = 0.3) -> list[str]:
    cut = round(n * share_yes)
    return ["yes"] * cut + ["no"] * (n - cut)
