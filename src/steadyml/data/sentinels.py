"""Sentinel codes: numbers such as -1, 666 or 999999 that stand for 'unknown', not an amount.

One detector for ``steadyml init`` (a warning, and a code is not mistaken for a category when
roles are guessed) and ``steadyml data check`` (a finding that says how to declare the code
in ``data.missing_codes``). A value is a candidate when it is shaped like a code:

* one of ``SENTINEL_CODES`` (-1, -9, -99, -999, 99, 999, ...);
* a whole part of at least three repeated digits, with or without a fraction (666, 8888,
  999999.375: a 999999 stored as a 32-bit float);
* a round power of ten from 1000 up (1000000 standing for 'a million or more').

The column's other values (every candidate left out) must be at least ``2 * MIN_COUNT`` rows,
and the candidate must hold fewer than half of the filled rows and lie outside the others'
range. It is then a code when either

* it repeats in at least ``MIN_COUNT`` rows and is negative while the others are all
  non-negative with at least ``MIN_REST_DISTINCT`` distinct values, or is further from them
  than 3 times their spread (1st to 99th percentile, at least 1); or
* it is strikingly far, even in one or two rows: a non-negative code at least
  ``STRIKING_TIMES`` times the largest other value (at least 1) and beyond 3 times their
  spread: 666 among 0 and 1, 999999.375 among 0 to 55. A real long tail (incomes, prices)
  does not jump that far past its own largest values, and its values are not shaped like codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MIN_COUNT",
    "MIN_REST_DISTINCT",
    "SENTINEL_CODES",
    "STRIKING_TIMES",
    "SentinelCode",
    "find_sentinels",
]

SENTINEL_CODES: tuple[float, ...] = (-1, -9, -99, -999, -9999, 99, 999, 9999, 99999, 999999)
MIN_COUNT = 3
MIN_REST_DISTINCT = 5
STRIKING_TIMES = 10.0
_SPREAD_TIMES = 3.0
_MIN_REPEATED_DIGITS = 3
_MIN_ROUND = 1000.0


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
    filled = numbers[np.isfinite(numbers)]
    distinct = np.unique(filled)
    candidates = distinct[_code_shaped(distinct)]
    if not len(candidates):
        return []
    rest = filled[~np.isin(filled, candidates)]
    if len(rest) < 2 * MIN_COUNT:
        return []
    found = []
    for code in candidates:
        count = int((filled == code).sum())
        if count * 2 >= len(filled) or not _outside(float(code), rest):
            continue
        if _striking(float(code), rest) or (count >= MIN_COUNT and _far(float(code), rest)):
            found.append(SentinelCode(_plain(code), count, float(rest.min()), float(rest.max())))
    return found


def _as_floats(values: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(values, pd.Series):
        numbers: np.ndarray = values.to_numpy(dtype="float64", na_value=np.nan)
        return numbers
    return np.asarray(values, dtype="float64")


def _code_shaped(distinct: np.ndarray) -> np.ndarray:
    """Which of these distinct values look like codes rather than measured amounts."""
    listed = np.isin(distinct, SENTINEL_CODES)
    whole = np.floor(np.abs(distinct))
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.floor(np.log10(np.maximum(whole, 1))) + 1
        first = np.floor(whole / 10 ** (digits - 1))
        repeated = (digits >= _MIN_REPEATED_DIGITS) & (whole * 9 == first * (10**digits - 1))
        power = np.log10(np.maximum(distinct, 1))
        round_ = (distinct >= _MIN_ROUND) & (power == np.round(power))
    repeated &= distinct >= 0
    return np.asarray(listed | repeated | round_)


def _outside(code: float, rest: np.ndarray) -> bool:
    return not float(rest.min()) <= code <= float(rest.max())


def _spread(rest: np.ndarray) -> float:
    q01, q99 = np.quantile(rest, [0.01, 0.99])
    return max(float(q99 - q01), 1.0)


def _gap(code: float, rest: np.ndarray) -> float:
    low, high = float(rest.min()), float(rest.max())
    return low - code if code < low else code - high


def _far(code: float, rest: np.ndarray) -> bool:
    if code < 0 <= float(rest.min()) and len(np.unique(rest)) >= MIN_REST_DISTINCT:
        return True
    return _gap(code, rest) > _SPREAD_TIMES * _spread(rest)


def _striking(code: float, rest: np.ndarray) -> bool:
    if code < 0:
        return False
    largest = max(float(np.abs(rest).max()), 1.0)
    return code >= STRIKING_TIMES * largest and _gap(code, rest) > _SPREAD_TIMES * _spread(rest)


def _plain(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number
