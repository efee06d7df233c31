"""Row-by-row validation against the data contract, vectorised per chunk.

The rules are the contract's (``steadyml.data.contract``): type, never missing, range and
allowed values, for the columns the model reads and the id column. The project's
``data.missing_codes`` are applied first, so a code such as ``-1`` meaning "unknown" is a
missing value, not a value out of range. Every rule runs once per column over the whole
chunk (number columns are parsed once; allowed values are checked on the distinct values);
only the rows that fail are visited one by one, to write their reasons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steadyml.batch.readers import NA_STRINGS
from steadyml.data.contract import (
    ColumnContract,
    Contract,
    allowed_check,
    as_number,
    format_bound,
    type_check,
)
from steadyml.errors import DataError

__all__ = ["RowRules", "build_rules", "check_chunk", "missing_columns_error"]

_KIND_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "datetime": "a date or time",
    "boolean": "true or false",
}


@dataclass(frozen=True)
class RowRules:
    columns: tuple[ColumnContract, ...]
    missing_codes: Mapping[str, tuple[object, ...]]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def build_rules(
    contract: Contract | None,
    features: Sequence[str],
    id_column: str | None,
    missing_codes: Mapping[str, Sequence[object]],
) -> RowRules:
    """The rules for the model's feature columns and the id column."""
    names = list(dict.fromkeys([*([id_column] if id_column else []), *features]))
    known = contract.columns if contract is not None else {}
    columns = tuple(
        known.get(name) or ColumnContract(name=name, role="feature", type="string")
        for name in names
    )
    codes = {k: tuple(v) for k, v in missing_codes.items() if k in names}
    return RowRules(columns=columns, missing_codes=codes)


def missing_columns_error(file: str, columns: Sequence[str], rules: RowRules) -> DataError | None:
    absent = [n for n in rules.names if n not in columns]
    if not absent:
        return None
    shown = ", ".join(f"'{a}'" for a in absent)
    return DataError(
        f"'{file}' has no column {shown}; the model needs {'it' if len(absent) == 1 else 'them'}.",
        hint=f"Columns in the file: {', '.join(map(str, columns))}. Add the missing column(s), "
        "or check that the header is the first line.",
    )


def _missing(s: pd.Series, text: bool, codes: tuple[object, ...]) -> pd.Series:
    missing = s.isna()
    if text:
        missing |= s.isin(NA_STRINGS)
    if codes:
        missing |= s.isin(list(codes))
        if text:
            missing |= s.isin([str(c) for c in codes])
            numbers = [float(c) for c in codes if isinstance(c, (int, float))]
            if numbers:
                missing |= pd.to_numeric(s.where(~missing), errors="coerce").isin(numbers)
    return missing


def _allowed_ok(col: ColumnContract, value: pd.Series) -> pd.Series:
    """The contract's allowed-values check, run on the column's distinct values only."""
    allowed = col.allowed or []
    texts = all(isinstance(a, str) for a in allowed) and pd.api.types.is_string_dtype(value.dtype)
    if texts and (value.dtype != object or value.dropna().map(type).eq(str).all()):
        return value.isin(allowed) | value.isna()
    present = value.dropna()
    if present.empty:
        return pd.Series(True, index=value.index)
    uniques = pd.Series(present.unique())
    if len(uniques) * 4 > len(value):  # few repeats: the plain check is as quick
        return allowed_check(col)(value)
    fine = uniques[allowed_check(col)(uniques).to_numpy(dtype=bool)]
    return value.isin(fine) | value.isna()


def _type_and_number(col: ColumnContract, value: pd.Series) -> tuple[pd.Series, pd.Series | None]:
    """Whether each value has the contract's type (missing counts as fine), and for number
    columns the values as floats (what is not a number: NaN). One parse per column."""
    if col.type not in ("integer", "number"):
        return type_check(col.type)(value), None
    number = as_number(value)
    values = number.to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(values)
    if col.type == "integer":
        ok &= np.where(ok, values % 1, 0) == 0
    return pd.Series(ok, index=value.index) | value.isna(), number


def check_chunk(
    frame: pd.DataFrame, rules: RowRules, *, text: bool
) -> tuple[pd.DataFrame, np.ndarray, dict[int, list[str]], Counter[str]]:
    """Validate every row of ``frame``.

    Returns the frame with the rule columns typed (numbers as floats, missing as NaN), a mask
    of the rows that broke a rule, the reasons of those rows (by position) and a count per
    reason kind. Every rule runs on whole columns; only failing rows are visited one by one.
    """
    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, list[str]] = {}
    kinds: Counter[str] = Counter()
    typed = frame.copy(deep=False) if n else frame
    for col in rules.columns:
        raw = frame[col.name]
        missing = _missing(raw, text, rules.missing_codes.get(col.name, ()))
        has_missing = bool(missing.any())
        value = raw.where(~missing) if has_missing else raw
        fails: list[tuple[str, pd.Series]] = []
        if not col.nullable and has_missing:
            fails.append(("missing", missing))
        type_ok, number = _type_and_number(col, value)
        fails.append(("type", ~type_ok))
        if number is not None:
            typed[col.name] = number
            if col.min is not None or col.max is not None:
                lo = -np.inf if col.min is None else float(col.min)
                hi = np.inf if col.max is None else float(col.max)
                fails.append(("range", type_ok & number.notna() & ~number.between(lo, hi)))
        else:
            typed[col.name] = value
        if col.allowed is not None:
            fails.append(("allowed", type_ok & ~missing & ~_allowed_ok(col, value)))
        for rule, mask in fails:
            where = np.flatnonzero(mask.to_numpy(dtype=bool))
            if not len(where):
                continue
            bad[where] = True
            kinds[f"{col.name}: {_RULE_WORDS[rule]}"] += len(where)
            for i in where.tolist():
                reasons.setdefault(i, []).append(_message(col, rule, raw.iloc[i]))
    return typed, bad, reasons, kinds


_RULE_WORDS = {
    "missing": "missing",
    "type": "wrong type",
    "range": "out of range",
    "allowed": "unknown value",
}


def _message(col: ColumnContract, rule: str, original: object) -> str:
    got = f"got {_text(original)!r}"
    if rule == "missing":
        return f"{col.name}: is empty; the contract says it is never missing"
    if rule == "type":
        return f"{col.name}: expects {_KIND_WORDS.get(col.type, 'text')}; {got}"
    if rule == "range":
        span = f"between {format_bound(col.min)} and {format_bound(col.max)}"
        return f"{col.name}: expects a number {span}; {got}"
    shown = ", ".join(map(str, (col.allowed or [])[:8]))
    more = f" (+{len(col.allowed or []) - 8} more)" if len(col.allowed or []) > 8 else ""
    return f"{col.name}: expects one of {shown}{more}; {got}"


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
