"""The one sentinel-code detector, as `steadyml init` and `steadyml data check` both use it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steadyml.data.quality import quality_report
from steadyml.data.roles import infer_roles
from steadyml.data.sentinels import SentinelCode, find_sentinels
from steadyml.entities import Roles


def _counts(n: int = 500, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 60, n).astype(float)


def test_a_repeated_far_code_is_found_with_its_count_and_the_range_of_the_rest() -> None:
    values = _counts()
    values[:12] = 999
    values[20:25] = np.nan  # missing values are ignored
    [found] = find_sentinels(values)
    rest = values[12:][~np.isnan(values[12:])]
    assert found == SentinelCode(code=999, count=12, low=rest.min(), high=rest.max())
    assert isinstance(found.code, int)


def test_a_series_with_missing_values_reads_the_same_as_an_array() -> None:
    values = _counts()
    values[:5] = -1
    series = pd.Series(values).astype("Int64")
    series[7] = pd.NA
    assert [s.code for s in find_sentinels(series)] == [-1]


@pytest.mark.parametrize(
    ("values", "why"),
    [
        (np.r_[_counts(), [99, 99]], "seen only twice and not strikingly far: no pattern yet"),
        (np.r_[np.full(10, 999.0), _counts(8)], "more than half the rows: it is the data"),
        (np.r_[np.arange(0.0, 2000.0), [999, 999, 999]], "inside the other values"),
        (np.r_[np.tile([0.0, 1.0, 2.0], 50), [-1, -1, -1]], "a negative code among few values"),
        (np.random.default_rng(1).integers(-20, 21, 500), "among many negative values"),
    ],
)
def test_values_that_are_not_codes(values: np.ndarray, why: str) -> None:
    assert find_sentinels(values) == [], why


def test_init_and_data_check_agree_on_what_is_a_code() -> None:
    rng = np.random.default_rng(2)
    n = 400
    frame = pd.DataFrame(
        {
            "tenure": np.where(rng.random(n) < 0.05, 999, rng.integers(0, 60, n)),
            "calls": np.r_[[-1, -1], rng.integers(0, 9, n - 2)],  # twice only: no code
            "y": rng.choice(["yes", "no"], n),
        }
    )
    warned = [w for w in infer_roles(frame, target="y").warnings if "code for 'unknown'" in w]
    findings = [
        f for f in quality_report(frame, Roles(target="y")).findings if f.rule == "sentinel_code"
    ]
    assert [w.split("'")[1] for w in warned] == [f.column for f in findings] == ["tenure"]
    assert "999 in" in warned[0] and findings[0].details["code"] == 999
