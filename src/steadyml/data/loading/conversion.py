"""Types of a delimited file's columns, read as text: numbers become numbers, ``true`` and
``false`` booleans, everything else stays text. A column whose text has leading zeros
(``"007"``, ``"02134"``) stays text, so ids and postal codes keep their zeros; a
semicolon-separated file may use a decimal comma (``3,5``). Nothing is parsed as a date here:
``steadyml.data.roles`` decides that.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from steadyml.data.loading.messages import quote_names

__all__ = ["convert_types"]

_DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+\s*$|^\s*[+-]?\d+\s*$"
_BOOL_WORDS = {"true": True, "false": False}


def convert_types(
    file: Path, frame: pd.DataFrame, delimiter: str, notes: list[str]
) -> pd.DataFrame:
    """``frame`` (all text) with numbers and booleans converted; a note for decimal commas."""
    converted: dict[str, pd.Series] = {}
    decimal_comma: list[str] = []
    for name in frame.columns:
        column = frame[name]
        values = column.dropna()
        if values.empty:
            converted[name] = column
            continue
        new = _as_number(column, values)
        if new is None and delimiter == ";":
            new = _as_decimal_comma(column, values)
            if new is not None:
                decimal_comma.append(name)
        if new is None:
            new = _as_bool(column, values)
        converted[name] = column if new is None else new
    if decimal_comma:
        notes.append(
            f"{'Column' if len(decimal_comma) == 1 else 'Columns'} {quote_names(decimal_comma)} "
            f"in '{file.name}' {'uses' if len(decimal_comma) == 1 else 'use'} a decimal comma "
            "(3,5); read as numbers."
        )
    return pd.DataFrame(converted, index=frame.index, columns=frame.columns)


def _as_number(column: pd.Series, values: pd.Series) -> pd.Series | None:
    sample = values.iloc[:200]
    if pd.to_numeric(sample, errors="coerce").isna().any():
        return None
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.isna().sum() != column.isna().sum():
        return None
    if _has_leading_zero(values):
        return None  # "007", "02134": codes, keep the text
    return numbers


def _has_leading_zero(values: pd.Series) -> bool:
    """True when some value is written like "007" or "-01" (but not "0" or "0.5")."""
    stripped = values.str.lstrip(" +-")
    zeros = stripped[stripped.str.startswith("0")]
    return bool(zeros.str.slice(1, 2).str.isdigit().any())


def _as_decimal_comma(column: pd.Series, values: pd.Series) -> pd.Series | None:
    if not values.str.contains(",", regex=False).any():
        return None
    if not values.str.match(_DECIMAL_COMMA).all() or _has_leading_zero(values):
        return None
    return pd.to_numeric(column.str.replace(",", ".", regex=False), errors="coerce")


def _as_bool(column: pd.Series, values: pd.Series) -> pd.Series | None:
    lowered = values.str.strip().str.lower()
    if not lowered.isin(list(_BOOL_WORDS)).all():
        return None
    mapped = column.str.strip().str.lower().map(_BOOL_WORDS)
    if column.isna().any():
        return mapped.astype(object).where(column.notna(), np.nan)
    return mapped.astype(bool)
