"""Text that holds dates: the share of a column's values written as dates in one way."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

__all__ = ["date_share"]

_DATE_SAMPLE = 500
_NUMERIC_DATE = re.compile(r"9[-/.]9|9 ?[-/.]? ?a|a ?[-/.]? ?9")  # 2012-01-31, 1 Jan, Jan 1
_MONTH = r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b"


def date_share(values: pd.Series) -> float:
    """Share of a sample of ``values`` that parse as dates written in one consistent way."""
    strings = values.astype(str)
    if len(strings) > _DATE_SAMPLE:
        picks = np.linspace(0, len(strings) - 1, _DATE_SAMPLE).astype(int)
        strings = strings.iloc[np.unique(picks)]
    strings = strings.str.strip()
    if strings.empty or strings.str.len().max() > 40:
        return 0.0
    plain = strings.str.replace(r"(?<=\d)[Tt](?=\d)", " ", regex=True).str.replace(
        r"(?<=\d)Z$|\b(?:UTC|GMT|[AaPp][Mm])\b", "", regex=True
    )
    shapes = plain.str.replace(r"\d+", "9", regex=True).str.replace(r"[A-Za-z]+", "a", regex=True)
    counts = shapes.value_counts()
    top_shape, top_count = str(counts.index[0]), int(counts.iloc[0])
    if top_count / len(strings) < 0.8 or not _NUMERIC_DATE.search(top_shape):
        return 0.0
    months = plain.str.contains(_MONTH)
    if "a" in top_shape and months.mean() < 0.8:
        return 0.0  # letters, but not month names: '1st', 'A-12'
    if (months | plain.str.contains(r"\d{4}")).mean() < 0.8:
        return 0.0  # no year and no month name: '1.5.6' is a version, not a date
    best = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in ("ISO8601", "mixed"):
            try:
                parsed = pd.to_datetime(strings, format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                continue
            best = max(best, float(parsed.notna().mean()))
            if best >= 0.95:
                break
    return min(best, top_count / len(strings))
