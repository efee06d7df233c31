"""A column's profile: its logical type, its filled values and how many distinct ones.

Every role guess reads a column through its ``ColumnProfile``, so the type and the counts are
worked out once per column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from steadyml.data.roles.guesses import LogicalType

__all__ = ["ColumnProfile", "profile_column"]


@dataclass
class ColumnProfile:
    name: str
    dtype: LogicalType
    values: pd.Series  # the non-missing values
    rows: int
    distinct: int

    @property
    def missing_rate(self) -> float:
        return round(1 - len(self.values) / self.rows, 4) if self.rows else 0.0

    @property
    def unique_share(self) -> float:
        return self.distinct / len(self.values) if len(self.values) else 0.0


def profile_column(name: str, column: pd.Series) -> ColumnProfile:
    """The profile of one column (unhashable values, such as lists, are counted as text)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    values = column.dropna()
    dtype = _logical_type(column, values)
    try:
        distinct = int(values.nunique())
    except TypeError:  # unhashable objects such as lists
        values = values.astype(str)
        distinct = int(values.nunique())
    return ColumnProfile(name=name, dtype=dtype, values=values, rows=len(column), distinct=distinct)


def _logical_type(column: pd.Series, values: pd.Series) -> LogicalType:
    if pd.api.types.is_bool_dtype(column.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column.dtype):
        if pd.api.types.is_integer_dtype(column.dtype):
            return "integer"
        return "integer" if _whole(values) else "number"
    kind = pd.api.types.infer_dtype(values, skipna=True) if len(values) else "string"
    if kind == "boolean":
        return "boolean"
    if kind in {"datetime", "datetime64", "date"}:
        return "datetime"
    if kind == "integer":
        return "integer"
    if kind in {"floating", "mixed-integer-float", "decimal"}:
        return "integer" if _whole(values) else "number"
    return "string"


def _whole(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(numbers)
    return bool(len(numbers)) and bool(finite.all()) and bool((numbers == np.floor(numbers)).all())
