"""Live values are binned as the training reference was, so a stable column scores no PSI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steadyml.monitoring.drift_stats import psi_index
from steadyml.monitoring.references import bin_shares
from steadyml.training.reference import numeric_summary


@pytest.mark.parametrize(("low", "high"), [(4, 11), (0, 2), (1, 6)])
def test_whole_numbers_binned_like_the_reference(low: int, high: int) -> None:
    rng = np.random.default_rng(3)
    train = rng.integers(low, high, size=5000).astype(float)
    ref = numeric_summary(pd.Series(train))
    edges = np.asarray(ref["quantiles"])
    counts = np.asarray(ref["bin_counts"], dtype=float)
    assert np.allclose(bin_shares(np.sort(train), edges), counts / counts.sum())
    same = np.sort(rng.integers(low, high, size=5000).astype(float))
    assert psi_index(counts / counts.sum(), bin_shares(same, edges)) < 0.01
