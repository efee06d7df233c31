"""Guardrails that fail early on decisive evidence and never on chance, and an agreement that
sees a rare class (monitoring.guardrails over monitoring.decisive; issue 13)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from steadyml.monitoring.guardrails import Limits, read_guardrails

LIMITS = Limits(min_requests=500)
SEEDS = range(40)  # fixed: the same draws every run
SIZES = (12, 60, 240, 480)  # candidate requests, all below min_requests


def piece(version: int, route: str, preds: list, *, ids: list[str] | None = None,
          failed: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    n = len(preds)
    bad = np.zeros(n, dtype=bool) if failed is None else failed
    return pd.DataFrame({
        "request_id": ids if ids is not None else [os.urandom(16).hex() for _ in range(n)],
        "route": route, "model_version": version, "prediction": preds,
        "score": 0.5, "latency_ms": 10.0, "fallback": bad,
        "error": [("candidate failed: boom" if b else None) for b in bad],
    })  # fmt: skip


def read(*pieces: pd.DataFrame, shadow: bool, limits: Limits = LIMITS) -> dict:
    reading = read_guardrails(pieces, candidate=2, production=1, shadow=shadow, limits=limits,
                              task="classification", metric="accuracy")  # fmt: skip
    return {c.name: c for c in reading.checks}


def draw(rng: np.random.Generator, n: int, share_yes: float) -> list[str]:
    return list(np.where(rng.random(n) < share_yes, "yes", "no"))


# --- a bad candidate is failed early --------------------------------------------------------


def test_a_candidate_that_fails_every_request_is_failed_after_a_few() -> None:
    """A 10 % canary at 5 requests a second, 12 s in: 6 candidate requests, all failed."""
    rng = np.random.default_rng(0)
    prod = piece(1, "live", draw(rng, 54, 0.3))
    cand = piece(2, "canary", draw(rng, 6, 0.3), failed=np.ones(6, dtype=bool))
    found = read(prod, cand, shadow=False)
    check = found["failed_requests"]
    assert check.verdict == "FAIL", check.sentence
    assert "6 of 6" in check.sentence and "decisive before the minimum of 500" in check.sentence
    # the other checks still need the minimum: none passes
    assert {c.verdict for c in found.values()} <= {"FAIL", "INCONCLUSIVE", "N/A", "WAITING"}


def test_a_handful_of_failures_is_never_enough() -> None:
    """Four failures in four requests fail nothing: 'one error in three aborts a release' is
    the complaint this avoids (at least five failures, and p < 1e-6)."""
    prod = piece(1, "live", ["no"] * 200)
    cand = piece(2, "canary", ["no"] * 4, failed=np.ones(4, dtype=bool))
    assert read(prod, cand, shadow=False)["failed_requests"].verdict == "INCONCLUSIVE"


def test_a_flipped_candidate_in_the_shadow_is_failed_after_a_few_requests() -> None:
    rng = np.random.default_rng(1)
    preds = draw(rng, 10, 0.3)
    ids = [os.urandom(16).hex() for _ in preds]
    flipped = ["no" if p == "yes" else "yes" for p in preds]
    found = read(piece(1, "live", preds, ids=ids), piece(2, "shadow", flipped, ids=ids),
                 shadow=True)  # fmt: skip
    assert found["agreement"].verdict == "FAIL", found["agreement"].sentence
    assert "0.00 % of 10 shared requests" in found["agreement"].sentence
    # ten disagreements against a 50 % line could still be chance (0.5 ** 10 = 1e-3)
    assert found["minority_agreement"].verdict == "INCONCLUSIVE"


def test_a_flipped_canary_fails_on_distance_once_the_counts_are_decisive() -> None:
    rng = np.random.default_rng(2)
    prod = piece(1, "live", draw(rng, 1800, 0.3))
    few = read(prod, piece(2, "canary", draw(rng, 40, 0.7)), shadow=False)
    assert few["prediction_distance"].verdict == "INCONCLUSIVE"  # 40 could be chance
    more = read(prod, piece(2, "canary", draw(rng, 200, 0.7)), shadow=False)
    assert more["prediction_distance"].verdict == "FAIL", more["prediction_distance"].sentence
    assert "decisive before the minimum" in more["prediction_distance"].sentence


# --- a good candidate never is -----------------------------------------------------------


@pytest.mark.slow  # 40 seeds x 4 sizes x 3 readings
def test_a_candidate_at_its_limits_is_never_failed_early() -> None:
    """Good candidates drawn with fixed seeds, each exactly at a limit (the hardest good
    case): failures production's share plus 1 point, 90 % agreement, 50 % agreement on the
    rare class, and the same prediction distribution; at every size below the minimum the
    reading is INCONCLUSIVE, never FAIL and never PASS."""
    seen = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for n in SIZES:
            # canary: failures at the limit (production fails 20 % here, so failures are
            # plenty and the exact test is asked every time), same predictions
            prod_n = 9 * n
            prod = piece(1, "live", draw(rng, prod_n, 0.3), failed=rng.random(prod_n) < 0.2)
            cand = piece(2, "canary", draw(rng, n, 0.3), failed=rng.random(n) < 0.21)
            found = read(prod, cand, shadow=False)
            assert found["failed_requests"].verdict == "INCONCLUSIVE", (seed, n)
            assert found["prediction_distance"].verdict == "INCONCLUSIVE", (seed, n)
            # a rare class (2 %) in a canary: a few more in one arm is chance, not a shift
            rare = read(piece(1, "live", draw(rng, prod_n, 0.02)),
                        piece(2, "canary", draw(rng, n, 0.02)), shadow=False)  # fmt: skip
            assert rare["prediction_distance"].verdict == "INCONCLUSIVE", (seed, n)
            # shadow: 10 % of answers differ (agreement at its 90 % line), and the rare class
            # agreed on half the requests either model flags (its 50 % line)
            prod_preds = draw(rng, n, 0.1)
            cand_preds = list(prod_preds)
            flagged = [i for i, p in enumerate(prod_preds) if p == "yes"]
            for i in flagged:  # half of the flagged answered alike: each other one differs
                if rng.random() < 0.5:
                    cand_preds[i] = "no"
            ids = [os.urandom(16).hex() for _ in range(n)]
            shadow = read(piece(1, "live", prod_preds, ids=ids),
                          piece(2, "shadow", cand_preds, ids=ids), shadow=True)  # fmt: skip
            assert shadow["agreement"].verdict == "INCONCLUSIVE", (seed, n)
            assert shadow["minority_agreement"].verdict == "INCONCLUSIVE", (seed, n)
            seen += 1
    assert seen == len(SEEDS) * len(SIZES)


# --- agreement on a rare class ------------------------------------------------------------


def _rare_world(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    churn = (x[:, 0] + 0.3 * rng.normal(size=n) > 2.0).astype(int)  # about 3 % churn
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "churn": churn})


def test_agreement_on_a_rare_class_catches_a_candidate_that_never_predicts_it() -> None:
    """Real models: production a logistic regression on data with about 3 % churners; one
    candidate never predicts churn (the majority class), another is the same kind of model
    fitted on another sample. Plain agreement passes both; the rare class tells them apart."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    train, other, live = _rare_world(4000, 1), _rare_world(4000, 2), _rare_world(3000, 3)
    features = ["a", "b"]
    production = LogisticRegression().fit(train[features], train["churn"])
    never = DummyClassifier(strategy="most_frequent").fit(train[features], train["churn"])
    retrained = LogisticRegression().fit(other[features], other["churn"])
    ids = [os.urandom(16).hex() for _ in range(len(live))]
    answers = production.predict(live[features]).tolist()
    assert 0.01 < np.mean(answers) < 0.05  # a rare class
    prod = piece(1, "live", answers, ids=ids)

    bad = read(prod, piece(2, "shadow", never.predict(live[features]).tolist(), ids=ids),
               shadow=True)  # fmt: skip
    assert bad["agreement"].verdict == "PASS" and bad["agreement"].candidate > 0.95
    assert bad["minority_agreement"].verdict == "FAIL", bad["minority_agreement"].sentence
    assert bad["minority_agreement"].candidate == 0.0
    assert "answer '0'" in bad["minority_agreement"].sentence

    good = read(prod, piece(2, "shadow", retrained.predict(live[features]).tolist(), ids=ids),
                shadow=True)  # fmt: skip
    assert good["agreement"].verdict == "PASS"
    assert good["minority_agreement"].verdict == "PASS", good["minority_agreement"].sentence
    assert good["minority_agreement"].candidate > 0.7


def test_minority_agreement_holds_on_too_few_flagged_requests_and_passes_on_none() -> None:
    ids = [os.urandom(16).hex() for _ in range(600)]
    prod_preds = ["yes"] * 3 + ["no"] * 597
    # 3 flagged requests, none alike: below the line but three could be chance
    few = read(piece(1, "live", prod_preds, ids=ids), piece(2, "shadow", ["no"] * 600, ids=ids),
               shadow=True)  # fmt: skip
    assert few["minority_agreement"].verdict == "INCONCLUSIVE"
    assert "within chance" in few["minority_agreement"].sentence
    none = read(piece(1, "live", ["no"] * 600, ids=ids), piece(2, "shadow", ["no"] * 600, ids=ids),
                shadow=True)  # fmt: skip
    assert none["minority_agreement"].verdict == "PASS"
    assert none["minority_agreement"].candidate is None  # nothing to compare, never 0
    canary = read(piece(1, "live", prod_preds), piece(2, "canary", prod_preds), shadow=False)
    assert canary["minority_agreement"].verdict == "N/A"
