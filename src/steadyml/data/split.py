"""Split a table into train and test rows, the same way every time.

A test score only means something if the test rows look like the rows the model will meet
live. A random or stratified split suits rows that do not depend on time; when they do, the
test rows must come *after* the training rows, or the model is graded on a past it has
already seen. When the data already says which rows are for testing (a column holding
``train``/``test``), ``column`` keeps the user's split: a row whose value is one of
``test_values`` (any case) is a test row, every other row (a missing value too) trains.
When several rows belong to one person, customer or machine (a panel: one row per person
and year), ``group`` keeps each one's rows together, all in train or all in test: a row
split would grade the model on people it has already seen (on a public panel, ROC AUC 0.72
by row against 0.67 for new people). A row without a group value is a group of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from steadyml.config.schema import SPLIT_TEST_VALUES
from steadyml.entities import Roles
from steadyml.errors import DataError

__all__ = ["SplitMethod", "group_codes", "is_regression_like", "split_rows"]

SplitMethod = Literal["random", "stratified", "time", "column", "group"]
_METHODS = ("random", "stratified", "time", "column", "group")
_MAX_CLASSES = 20


def split_rows(
    df: pd.DataFrame,
    roles: Roles,
    method: SplitMethod = "stratified",
    test_size: float = 0.2,
    seed: int = 0,
    *,
    column: str | None = None,
    test_values: Sequence[str] = SPLIT_TEST_VALUES,
) -> tuple[pd.Index, pd.Index]:
    """Return the index labels of the train rows and of the test rows.

    Every row lands in exactly one of the two. The same inputs always give the same split,
    so a result can be traced and repeated. ``column`` and ``test_values`` are for the
    ``column`` method (``test_size`` and ``seed`` do not matter to it); ``column`` names the
    groups for the ``group`` method.
    """
    _check_inputs(df, method, test_size)
    if method == "time":
        return _time_split(df, roles, test_size)
    if method == "column":
        return _column_split(df, column, test_values)
    if method == "group":
        return _group_split(df, column, test_size, seed)
    labels = np.asarray(df.index)
    stratify = _stratify_codes(df, roles) if method == "stratified" else None
    try:
        train, test = train_test_split(
            labels, test_size=test_size, random_state=seed, shuffle=True, stratify=stratify
        )
    except ValueError as exc:
        raise DataError(
            f"Cannot make a {method} split of {len(df)} rows with test_size={test_size}: {exc}",
            hint="Use more rows, a different test_size, or training.split.method: random in "
            "steadyml.yaml.",
        ) from exc
    return pd.Index(train), pd.Index(test)


def is_regression_like(target: pd.Series) -> bool:
    """True when a target looks like a quantity to predict rather than a set of classes.

    Numbers with more than 20 distinct values are treated as a quantity; strings, booleans
    and numbers with few distinct values as classes.
    """
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        return False
    return int(target.nunique(dropna=True)) > _MAX_CLASSES


def _check_inputs(df: pd.DataFrame, method: str, test_size: float) -> None:
    """Reject arguments that would give a split nobody asked for."""
    if method not in _METHODS:
        raise DataError(
            f"Split method must be one of {', '.join(_METHODS)}. Got {method!r} instead."
        )
    if not 0.0 < float(test_size) < 1.0:
        raise DataError(
            "test_size must be a share between 0 and 1 (for example 0.2). "
            f"Got {test_size!r} instead."
        )
    if len(df) < 2:
        raise DataError(f"Need at least 2 rows to split into train and test; got {len(df)}.")
    if not df.index.is_unique:
        raise DataError(
            "The table's row labels repeat, so train and test rows could not be told apart.",
            hint="Reset the row labels first: df = df.reset_index(drop=True).",
        )


def _stratify_codes(df: pd.DataFrame, roles: Roles) -> np.ndarray:
    """Class codes of the target, so each class keeps its share in train and in test."""
    target = _column(df, roles.target, "target")
    if is_regression_like(target):
        raise DataError(
            f"Cannot stratify on target '{roles.target}': it has {target.nunique()} distinct "
            "numbers, which looks like a quantity (regression), not a set of classes.",
            hint="Use training.split.method: random (or 'time' when rows have a timestamp).",
        )
    codes, _ = pd.factorize(target, use_na_sentinel=True)  # a missing label is its own class
    return np.asarray(codes)


def _time_split(df: pd.DataFrame, roles: Roles, test_size: float) -> tuple[pd.Index, pd.Index]:
    """Put the latest share of distinct timestamps in test, so test never precedes train."""
    if roles.timestamp is None:
        raise DataError(
            "training.split.method is 'time' but the project names no timestamp column.",
            hint="Add `timestamp: <column>` to the data section of steadyml.yaml, "
            "or use training.split.method stratified or random.",
        )
    stamps = _sortable_times(_column(df, roles.timestamp, "timestamp"), roles.timestamp)
    distinct = stamps.drop_duplicates().sort_values().reset_index(drop=True)
    if len(distinct) < 2:
        raise DataError(
            f"Timestamp column '{roles.timestamp}' has {len(distinct)} distinct value(s); "
            "a time split needs at least 2.",
            hint="Use training.split.method stratified or random for this data.",
        )
    n_test = min(len(distinct) - 1, max(1, round(test_size * len(distinct))))
    cutoff = distinct.iloc[len(distinct) - n_test]
    in_test = (stamps >= cutoff).to_numpy()
    return df.index[~in_test], df.index[in_test]


def _sortable_times(values: pd.Series, name: str) -> pd.Series:
    """Timestamps as values that sort in time order; numbers (e.g. month numbers) stay numbers."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        stamps = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    missing = int(stamps.isna().sum())
    if missing:
        bad = values[stamps.isna()].head(3).tolist()
        raise DataError(
            f"Timestamp column '{name}' has {missing} row(s) without a readable time "
            f"(for example {bad}); a time split cannot place them.",
            hint="Fill in or drop those rows, or write times like 2024-01-31.",
        )
    return stamps


def _column_split(
    df: pd.DataFrame, column: str | None, test_values: Sequence[str]
) -> tuple[pd.Index, pd.Index]:
    """The user's own split: rows whose ``column`` holds a test value are the test rows."""
    if not column:
        raise DataError(
            "The split method is 'column' but no column is named.",
            hint="Name the column that holds the split: training.split.column in "
            "steadyml.yaml (its values, e.g. train/test, say which rows are test rows).",
        )
    raw = _column(df, column, "split").astype("string")
    wanted = {str(v).strip().lower() for v in test_values}
    in_test = raw.str.strip().str.lower().isin(wanted).fillna(False).to_numpy(dtype=bool)
    found = ", ".join(repr(str(v)) for v in raw.dropna().unique()[:6])
    if not in_test.any() or in_test.all():
        side = "no row" if not in_test.any() else "every row"
        raise DataError(
            f"Split column '{column}' makes {side} a test row: test values are "
            f"{', '.join(sorted(wanted))}; the column holds {found or 'only missing values'}.",
            hint="List the values that mark a test row in training.split.test_values, or "
            "choose another split method.",
        )
    return df.index[~in_test], df.index[in_test]


def group_codes(values: pd.Series) -> np.ndarray:
    """One integer per group; a missing value is a group of its own (one row each)."""
    codes, _ = pd.factorize(values.astype("string"), use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    missing = codes < 0
    if missing.any():
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _group_split(
    df: pd.DataFrame, column: str | None, test_size: float, seed: int
) -> tuple[pd.Index, pd.Index]:
    """About ``test_size`` of the groups (not rows) in test, each group's rows together."""
    from sklearn.model_selection import GroupShuffleSplit

    if not column:
        raise DataError(
            "The split method is 'group' but no column names the groups.",
            hint="Name the column that says whose row it is (a person, customer or machine "
            "id): training.split.column in steadyml.yaml.",
        )
    groups = group_codes(_column(df, column, "group"))
    distinct = len(np.unique(groups))
    if distinct < 2:
        raise DataError(
            f"Group column '{column}' holds {distinct} group; a group split needs at least 2.",
            hint="Name a column with one value per person (or customer), or use method "
            "stratified or random.",
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(df)), groups=groups))
    if not len(train) or not len(test):
        raise DataError(
            f"A group split of {distinct} groups with test_size={test_size} leaves one side empty.",
            hint="Use a test_size that puts at least one group on each side.",
        )
    return df.index[np.sort(train)], df.index[np.sort(test)]


def _column(df: pd.DataFrame, name: str, role: str) -> pd.Series:
    """The named column, or a DataError that says which column the project expects."""
    if name not in df.columns:
        raise DataError(
            f"The {role} column '{name}' named in steadyml.yaml is not in the data.",
            hint=f"Columns found: {', '.join(map(str, df.columns[:20]))}.",
        )
    return df[name]
