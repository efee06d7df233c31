"""The guess for one column the user did not name: its role and the reason, in plain words.

Empty and constant columns are dropped; dates are timestamps; long varied text is free text;
(almost) unique values are ids; few values are categories. Whole numbers are amounts unless
their name or their few, scattered values say codes (a sentinel code such as 999 is left out
when judging that: ``data.sentinels``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steadyml.data.roles.dates import date_share
from steadyml.data.roles.guesses import Role
from steadyml.data.roles.names import CODE_WORDS, ID_WORDS, TIME_WORDS, name_words
from steadyml.data.roles.profile import ColumnProfile
from steadyml.data.roles.wording import examples, show
from steadyml.data.sentinels import find_sentinels

__all__ = ["guess_column", "unique_reason"]

_TEXT_SAMPLE = 2000


def guess_column(prof: ColumnProfile) -> tuple[Role, str]:
    """The role of one column and why."""
    words = name_words(prof.name)
    if prof.values.empty:
        return "drop", "empty: every value is missing"
    if prof.distinct <= 1:
        return "drop", "constant: the same value in every row"
    if prof.dtype == "boolean":
        return "categorical", "true/false values"
    if prof.dtype == "datetime":
        return "timestamp", "dates"
    if prof.dtype in {"integer", "number"}:
        return _guess_number(prof, words)
    strings = prof.values.astype(str)
    share = date_share(strings)
    if share >= 0.95 or (share >= 0.8 and words & TIME_WORDS):
        return "timestamp", f"dates such as {show(strings.iloc[0])}"
    if _is_text(strings, prof):
        words_per_value = strings.iloc[:_TEXT_SAMPLE].str.split().str.len().mean()
        return "text", f"free text: about {words_per_value:.0f} words a value"
    hinted = bool(words & ID_WORDS) or "code" in words
    if prof.unique_share >= 0.95 and (hinted or len(prof.values) > 50):
        return "id", unique_reason(prof)
    if words & ID_WORDS and prof.distinct > _MANY_IDS:
        return "drop", repeated_id_reason(prof)
    if prof.distinct <= max(50, len(prof.values) // 100):
        return "categorical", (
            f"text with {prof.distinct} distinct values ({examples(strings, 3)})"
        )
    return "drop", (
        f"{prof.distinct} distinct values: too many categories to learn from; consider grouping it"
    )


REPEATED_ID = "an identifier that repeats"
_MANY_IDS = 50  # an id-named column with more distinct values: whose row it is, not a code


def repeated_id_reason(prof: ColumnProfile) -> str:
    """Why an id-named column that repeats is dropped (and may group the split)."""
    per = len(prof.values) / max(prof.distinct, 1)
    return (
        f"{REPEATED_ID}: {prof.distinct} distinct values, about {per:.1f} rows each (the rows "
        "of one person or customer); never a feature"
    )


def unique_reason(prof: ColumnProfile) -> str:
    """Why a column looks like an id: unique, or almost, in every row."""
    if prof.distinct == prof.rows:
        return "unique for every row"
    return f"{prof.distinct} distinct values in {len(prof.values)} rows: almost unique"


def _guess_number(prof: ColumnProfile, words: set[str]) -> tuple[Role, str]:
    numbers = pd.to_numeric(prof.values, errors="coerce").astype(float)
    low, high = numbers.min(), numbers.max()
    if prof.dtype == "number":
        return "numeric", f"decimal numbers from {low:g} to {high:g}"
    unique_rows = prof.distinct == prof.rows
    sequence = unique_rows and high - low + 1 == prof.rows
    if (unique_rows or prof.unique_share >= 0.95) and (words & ID_WORDS or sequence):
        return "id", unique_reason(prof)
    if words & ID_WORDS and prof.distinct > _MANY_IDS:
        return "drop", repeated_id_reason(prof)
    codes = [s.code for s in find_sentinels(numbers)]
    real = numbers[~numbers.isin(codes)]
    if prof.distinct <= 2 or (codes and real.nunique() == 2):
        shown = " and ".join(examples(real, 2, sort=True).split(", "))
        also = f" and the code {', '.join(show(c) for c in codes)}" if codes else ""
        return "categorical", f"only two values ({shown}){also}: a yes/no flag"
    if words & {"year", "yr"}:
        return "numeric", f"whole numbers from {low:g} to {high:g}: years kept as numbers"
    if words & CODE_WORDS and prof.distinct <= 50:
        return "categorical", (
            f"whole numbers with {prof.distinct} distinct values and a name "
            "that suggests codes, not amounts"
        )
    if prof.distinct <= 10 and _looks_like_codes(real):
        return "categorical", (
            f"whole numbers with only {prof.distinct} distinct values "
            f"({examples(numbers, 5, sort=True)}): looks like codes, "
            "not amounts"
        )
    return "numeric", f"whole numbers from {low:g} to {high:g}"


def _looks_like_codes(numbers: pd.Series) -> bool:
    """True for few, scattered or large whole numbers; false for small counts like 0..5."""
    distinct = np.unique(numbers.to_numpy())
    if len(distinct) < 2:
        return False
    low, high = float(distinct.min()), float(distinct.max())
    span = high - low + 1
    small_counts = low >= 0 and high <= 20 and span <= 2 * len(distinct)
    return not small_counts


def _is_text(strings: pd.Series, prof: ColumnProfile) -> bool:
    sample = strings.iloc[:_TEXT_SAMPLE]
    if sample.str.len().mean() < 25:
        return False
    return bool(sample.str.split().str.len().mean() >= 4) and prof.unique_share > 0.3
