"""The guardrails' ROC AUC under bootstrap weights: numpy only, equal to scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from steadyml.monitoring.guardrails import weighted_auc


@pytest.mark.parametrize("ties", [False, True])
def test_weighted_auc_equals_sklearn_under_poisson_weights(ties: bool) -> None:
    rng = np.random.default_rng(7)
    n = 600
    positive = rng.random(n) < 0.3
    score = rng.random(n) + 0.3 * positive
    if ties:  # few distinct scores: ties within and across the classes
        score = np.round(score, 1)
    weights = np.vstack([np.ones(n), rng.poisson(1.0, size=(50, n))]).astype(float)
    got = weighted_auc(positive, score, weights)
    want = [roc_auc_score(positive, score, sample_weight=w) for w in weights]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_weighted_auc_is_nan_without_positive_weight() -> None:
    positive = np.array([True, False, False])
    weights = np.array([[0.0, 1.0, 2.0]])
    assert np.isnan(weighted_auc(positive, np.array([0.9, 0.1, 0.2]), weights)[0])
