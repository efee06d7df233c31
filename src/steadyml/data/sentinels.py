"""Sentinel codes: numbers such as -1 or 999999 that stand for 'unknown', not an amount.

One detector for ``steadyml init`` (a warning, and a code is not mistaken for a category when
roles are guessed) and ``steadyml data check`` (a finding that says how to declare the code
in ``data.missing_codes``). A value counts as a sentinel code when:

* it is one of ``SENTINEL_CODES``;
* it repeats: in at least ``MIN_COUNT`` rows, and in fewer than half of the filled rows;
* the column's other values (every code left out) are at least ``2 * MIN_COUNT`` rows and
  the code lies outside their range, and either it is negative while they are all
  non-negative with at least ``MIN_REST_DISTINCT`` distinct values, or it is further from
  them than 3 times their spread (1st to 99th percentile, at least 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_COUNT", "MIN_REST_DISTINCT", "SENTINEL_CODES", "SentinelCode", "find_sentinels"]

SENTINEL_CODES: tuple[float, ...] = (-1, -9, -99, -999, -9999, 99, 999, 9999, 99999, 999999)
MIN_COUNT = 3
MIN_REST_DISTINCT = 5
_SPREAD_TIMES = 3.0


@dataclass(frozen=True)
class SentinelCode:
    """A code found in a column: how many rows hold it, and the range of the other values."""

    code: int | float  # a whole code as an int (-1, 999), as people write it
    count: int
    low: float  # the smallest and largest value that is not a code
    high: float


def find_sentinels(values: np.ndarray | pd.Series) -> list[SentinelCode]:
    """The sentinel codes in a column of numbers (missing values are ignored), smallest first."""
    numbers = _as_floats(values)
    filled = numbers[~np.isnan(numbers)]
    is_code = np.isin(filled, SENTINEL_CODES)
    if not is_code.any():
        return []
    rest = filled[~is_code]
    found = []
    for code in np.unique(filled[is_code]):
        count = int((filled == code).sum())
        if count < MIN_COUNT or count * 2 >= len(filled):
            continue
        if _far_from_rest(float(code), rest):
            found.append(SentinelCode(_plain(code), count, float(rest.min()), float(rest.max())))
    return found


def _as_floats(values: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(values, pd.Series):
        numbers: np.ndarray = values.to_numpy(dtype="float64", na_value=np.nan)
        return numbers
    return np.asarray(values, dtype="float64")


def _far_from_rest(code: float, rest: np.ndarray) -> bool:
    if len(rest) < 2 * MIN_COUNT:
        return False
    low, high = float(rest.min()), float(rest.max())
    if low <= code <= high:
        return False
    if code < 0 <= low and len(np.unique(rest)) >= MIN_REST_DISTINCT:
        return True
    q01, q99 = np.quantile(rest, [0.01, 0.99])
    gap = low - code if code < low else code - high
    return bool(gap > _SPREAD_TIMES * max(float(q99 - q01), 1.0))


def _plain(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number
