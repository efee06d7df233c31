"""Codes shaped like 666, 999999.375 or 1000000 are found; real long tails are not (issue 11)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steadyml.data.quality import quality_report
from steadyml.data.roles import infer_roles
from steadyml.data.sentinels import find_sentinels
from steadyml.entities import Roles


def _loanapp_like(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """The shape of the public loanapp data: codes among 0/1 flags, counts and terms."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "gdlin": rng.choice([0, 1], n, p=[0.1, 0.9]),  # meets guidelines: a 0/1 flag
            "lines": rng.integers(0, 56, n).astype(float),  # credit lines
            "term": rng.choice([180.0, 240.0, 360.0, 480.0], n),  # months
            "review": rng.integers(0, 16, n),
            "liq": np.round(rng.lognormal(3.6, 1.2, n)),  # assets, a long tail
            "approve": rng.choice([0, 1], n, p=[0.15, 0.85]),
        }
    )
    frame.loc[[3, 50], "gdlin"] = 666
    frame.loc[7, "lines"] = 999999.375  # 999999 stored as a 32-bit float
    frame.loc[[1, 9, 30, 77], "term"] = 999999.375
    frame.loc[rng.choice(n, 60, replace=False), "review"] = 999
    frame.loc[[11, 12, 13, 14, 15], "liq"] = 1_000_000
    return frame


def test_codes_of_every_shape_are_found_even_in_one_or_two_rows() -> None:
    frame = _loanapp_like()
    found = {col: find_sentinels(frame[col]) for col in frame.columns}
    assert [(s.code, s.count) for s in found["gdlin"]] == [(666, 2)]
    assert [(s.code, s.count) for s in found["lines"]] == [(999999.375, 1)]
    assert [(s.code, s.count) for s in found["term"]] == [(999999.375, 4)]
    assert [(s.code, s.count) for s in found["review"]] == [(999, 60)]
    assert [(s.code, s.count) for s in found["liq"]] == [(1_000_000, 5)]
    assert found["approve"] == []


def test_init_and_data_check_report_the_same_codes() -> None:
    frame = _loanapp_like()
    guess = infer_roles(frame, target="approve")
    warned = sorted(w.split("'")[1] for w in guess.warnings if "code for 'unknown'" in w)
    report = quality_report(frame, Roles(target="approve", numeric=tuple(frame.columns[:-1])))
    checked = sorted(f.column or "" for f in report.findings if f.rule == "sentinel_code")
    assert warned == checked == ["gdlin", "lines", "liq", "review", "term"]
    lines = next(w for w in guess.warnings if w.startswith("Column 'lines'"))
    assert "999999.375 in 1 row," in lines and "(0 to 55)" in lines
    assert "`missing_codes: {lines: [999999.375]}`" in lines
    # the code is not taken for a third category: 0/1 plus 666 is a yes/no flag with a code
    assert (
        guess.column("gdlin").reason == "only two values (0 and 1) and the code 666: a yes/no flag"
    )


@pytest.mark.parametrize("seed", range(20))
def test_real_long_tails_and_counts_are_not_codes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    columns = {
        "income in dollars": np.round(rng.lognormal(10.8, 0.9, 5000), -2),
        "income in thousands": np.round(rng.lognormal(3.5, 1.2, 3000)),
        "heavy tail (pareto)": np.round((rng.pareto(1.1, 2000) + 1) * 1000),
        "price": np.round(rng.lognormal(5, 1.5, 2000), 2),
        "visits (count)": rng.poisson(2, 1000).astype(float),
        "age with 99 as the oldest": np.r_[rng.integers(18, 91, 500), [99] * 4],
    }
    for name, values in columns.items():
        assert find_sentinels(values) == [], name


def test_a_negative_code_among_non_negative_counts_needs_a_few_rows() -> None:
    counts = np.random.default_rng(3).integers(0, 9, 400).astype(float)
    assert [s.code for s in find_sentinels(np.r_[counts, [-9, -9, -9]])] == [-9]
    assert find_sentinels(np.r_[counts, [-9, -9]]) == []  # twice: not yet a pattern
