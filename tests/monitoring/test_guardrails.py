"""monitoring.guardrails on hand-made log pieces: verdicts, missing values, the shadow join."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from steadyml.monitoring.guardrails import Limits, read_guardrails

LIMITS = Limits(min_requests=100)


def piece(version: int, route: str, preds: list, *, ids: list[str] | None = None,
          latency: float | None = 10.0, failed: int = 0) -> pd.DataFrame:  # fmt: skip
    n = len(preds)
    return pd.DataFrame({
        "request_id": ids if ids is not None else [os.urandom(16).hex() for _ in range(n)],
        "route": route, "model_version": version, "prediction": preds,
        "score": np.linspace(0, 1, n), "latency_ms": latency,
        "fallback": [i < failed for i in range(n)],
        "error": [("boom" if i < failed else None) for i in range(n)],
    })  # fmt: skip


def checks(*pieces: pd.DataFrame, shadow: bool = True, task: str = "classification") -> dict:
    reading = read_guardrails(pieces, candidate=2, production=1, shadow=shadow, limits=LIMITS,
                              task=task, metric="accuracy")  # fmt: skip
    return {c.name: c for c in reading.checks}


def test_the_shadow_join_uses_request_ids_of_any_shape() -> None:
    for ids in ([os.urandom(16).hex() for _ in range(200)],  # the service's ids
                [f"batch-{i}:row-{i}-with-a-longer-key-than-32" for i in range(200)]):  # fmt: skip
        preds = ["yes", "no"] * 100
        swapped = preds[:150] + ["no" if p == "yes" else "yes" for p in preds[150:]]
        found = checks(piece(1, "live", preds, ids=ids), piece(2, "shadow", swapped, ids=ids))
        assert found["agreement"].candidate == 0.75
        assert found["agreement"].verdict == "FAIL"


def test_missing_latency_is_inconclusive_not_zero() -> None:
    preds = ["yes", "no"] * 100
    found = checks(piece(1, "live", preds), piece(2, "canary", preds, latency=None), shadow=False)
    assert found["latency_p95"].verdict == "INCONCLUSIVE"
    assert found["latency_p95"].candidate is None
    assert "no latency was logged for the candidate" in found["latency_p95"].sentence


def test_many_failures_fail_before_min_requests_but_a_few_do_not() -> None:
    prod = piece(1, "live", ["no"] * 200)
    few = checks(prod, piece(2, "canary", ["no"] * 10, failed=3), shadow=False)
    assert few["failed_requests"].verdict == "INCONCLUSIVE"  # 3 of 10: not "one error aborts"
    many = checks(prod, piece(2, "canary", ["no"] * 40, failed=20), shadow=False)
    assert many["failed_requests"].verdict == "FAIL"


def test_regression_distance_and_agreement() -> None:
    rng = np.random.default_rng(1)
    values = list(rng.normal(100, 10, 300))
    ids = [os.urandom(16).hex() for _ in range(300)]
    same = checks(piece(1, "live", values, ids=ids), piece(2, "shadow", values, ids=ids),
                  task="regression")  # fmt: skip
    assert same["prediction_distance"].verdict == "PASS"
    assert same["agreement"].verdict == "PASS"
    shifted = [v + 40 for v in values]
    moved = checks(piece(1, "live", values, ids=ids), piece(2, "shadow", shifted, ids=ids),
                   task="regression")  # fmt: skip
    assert moved["prediction_distance"].verdict == "FAIL"
    assert moved["agreement"].verdict == "FAIL"


def test_labels_too_few_wait_without_holding() -> None:
    preds = ["yes", "no"] * 100
    found = checks(piece(1, "live", preds), piece(2, "canary", preds), shadow=False)
    assert found["success_metric"].verdict == "WAITING"
    assert found["agreement"].verdict == "N/A"


def test_a_shadow_that_answers_nothing_fails_after_enough_traffic() -> None:
    """A candidate that never loaded leaves no row: its silence is not a pass. One that
    answers but lags behind production (its answers are logged after the callers') holds
    the step (the demo's good candidate was rolled back for 160 of 2,400)."""
    early = checks(piece(1, "live", ["no"] * 300))
    assert early["failed_requests"].verdict == "INCONCLUSIVE"  # could still be lag
    silent = checks(piece(1, "live", ["no"] * 1000))
    assert silent["failed_requests"].verdict == "FAIL"
    assert "answered none of the 1000" in silent["failed_requests"].sentence
    lagging = checks(piece(1, "live", ["no"] * 2400), piece(2, "shadow", ["no"] * 60))
    assert lagging["failed_requests"].verdict == "INCONCLUSIVE"


def test_a_rare_class_by_chance_holds_the_step_and_a_real_shift_fails() -> None:
    # a rare class: none in production's 300 answers and 7 in the candidate's puts the
    # distance above 0.1, yet such counts come by chance (chi-square p about 0.008)
    prod = piece(1, "live", ["no"] * 300)
    chance = checks(prod, piece(2, "canary", ["yes"] * 7 + ["no"] * 293), shadow=False)
    assert chance["prediction_distance"].candidate > LIMITS.max_prediction_distance
    assert chance["prediction_distance"].verdict == "INCONCLUSIVE"
    assert "within chance" in chance["prediction_distance"].sentence
    flipped = checks(prod, piece(2, "canary", ["yes"] * 297 + ["no"] * 3), shadow=False)
    assert flipped["prediction_distance"].verdict == "FAIL"


# --- the estimate before labels (issue 16's guardrail) ----------------------------------------
# a calibration record as training writes it, with no calibrator: the scores are the chances
CALIBRATED = {"estimation": {"kind": "classification", "method": "none", "ece_before": 0.01,
                             "ece_after": 0.01, "rows": 5_000}}  # fmt: skip


def scored(version: int, route: str, scores: np.ndarray) -> pd.DataFrame:
    frame = piece(version, route, ["yes" if s >= 0.5 else "no" for s in scores])
    frame["score"] = scores
    return frame


def estimate_checks(prod: np.ndarray, cand: np.ndarray, reference: dict | None = None) -> dict:
    reference = CALIBRATED if reference is None else reference
    reading = read_guardrails(
        [scored(1, "live", prod), scored(2, "canary", cand)], candidate=2, production=1,
        shadow=False, limits=LIMITS, task="classification", metric="accuracy",
        estimation={"candidate": (reference, 0.5), "production": (reference, 0.5)},
    )  # fmt: skip
    return {c.name: c for c in reading.checks}


def test_an_estimate_before_labels_fails_a_candidate_that_lost_its_confidence() -> None:
    rng = np.random.default_rng(3)
    sure = np.clip(rng.choice([0.03, 0.97], 600) + rng.normal(0, 0.01, 600), 0, 1)
    unsure = np.clip(0.5 + rng.normal(0, 0.05, 600), 0, 1)  # expected accuracy about 0.5
    same = estimate_checks(sure, sure[::-1])
    assert same["estimated_metric"].verdict == "PASS"
    assert "an estimate, before labels" in same["estimated_metric"].sentence
    worse = estimate_checks(sure, unsure)
    assert worse["estimated_metric"].verdict == "FAIL"
    assert worse["estimated_metric"].candidate < 0.6 < worse["estimated_metric"].production
    # the labelled check still waits: the estimate is its own check, marked as one
    assert worse["success_metric"].verdict == "WAITING"


def test_an_unreliable_or_missing_estimate_never_judges() -> None:
    rng = np.random.default_rng(4)
    sure = np.clip(rng.choice([0.03, 0.97], 600), 0, 1)
    unsure = np.full(600, 0.5)
    shaky = {"estimation": {**CALIBRATED["estimation"], "ece_after": 0.2}}
    found = estimate_checks(sure, unsure, shaky)["estimated_metric"]
    assert found.verdict == "N/A" and "unreliable" in found.sentence
    old = estimate_checks(sure, unsure, {})["estimated_metric"]  # trained before estimates
    assert old.verdict == "N/A"
    few = estimate_checks(sure[:50], unsure[:50])["estimated_metric"]
    assert few.verdict == "INCONCLUSIVE"  # too few requests: as every other check
