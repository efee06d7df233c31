"""Check rows against the contract, vectorised: refuse what breaks a rule, flag the unexpected.

``check_rows`` is the one place where a row of new data (a chunk of a batch file, the records
of API requests) meets the contract's two levels:

* a **rule** broken (wrong type, a column the model needs absent, a bound, value list or
  "never missing" the user wrote under ``rules:``) refuses the row, with a reason per field;
* an **expectation** broken (outside the training range, a category not seen in training,
  missing where training never was) leaves the row scored, with a warning per field, unless
  ``on_unexpected="refuse"``: then the row is refused with that warning as its reason.

Every check runs once per column over the whole frame (number columns are parsed once;
allowed values are checked on the distinct values); only the rows that fail are visited, to
write their messages. The wording lives here, so batch output and API answers read alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from steadyml.data.contract.model import ColumnContract, Contract, range_words, show_values
from steadyml.data.contract.validation import allowed_values_check
from steadyml.data.contract.values import as_number, format_bound, type_check

__all__ = [
    "SCORED",
    "OnUnexpected",
    "RowCheck",
    "check_rows",
    "row_refusals",
    "row_warnings",
    "warning_words",
]

OnUnexpected = Literal["answer", "refuse"]

SCORED = "scored; outside what the model saw"
_SCORED_MISSING = "scored; the model fills in missing values"
_REFUSED = "refused: on_unexpected is 'refuse'"
_KIND_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "datetime": "a date or time",
    "boolean": "true or false",
}
# the short name of each check, for counts ("tenure_months: below the training range")
_COUNT_WORDS = {
    "absent": "absent",
    "missing": "missing",
    "type": "wrong type",
    "range": "out of range",
    "allowed": "not allowed",
    "never_missing": "missing (never in training)",
    "below": "below the training range",
    "above": "above the training range",
    "unseen": "not seen in training",
}


@dataclass
class RowCheck:
    """What ``check_rows`` found, by row position (0 = the frame's first row)."""

    typed: pd.DataFrame  # the checked columns typed: numbers as floats, missing as NaN
    refused: np.ndarray  # bool per row: the row breaks a rule (or, when refusing, expectations)
    reasons: dict[int, list[str]]  # why each refused row is refused, one message per field
    warnings: dict[int, list[str]]  # the expectations each scored row breaks, one per field
    refused_counts: Counter[str] = field(default_factory=Counter)  # "column: what" -> rows
    warning_counts: Counter[str] = field(default_factory=Counter)

    @property
    def flagged(self) -> np.ndarray:
        """Rows scored with at least one warning."""
        mask = np.zeros(len(self.refused), dtype=bool)
        if self.warnings:
            mask[list(self.warnings)] = True
        return mask

    def row_warnings(self) -> list[list[str]]:
        """Per row, its warnings (empty for a row without, and for a refused row)."""
        return [self.warnings.get(i, []) for i in range(len(self.refused))]

    def row_reasons(self) -> list[list[str]]:
        """Per row, why it is refused (empty for a row that is scored)."""
        return [self.reasons.get(i, []) for i in range(len(self.refused))]

    def warning_texts(self, rows: Sequence[int] | None = None) -> list[str]:
        """Per row (default: every row), its warnings joined by ``; `` ('' when none)."""
        picked = range(len(self.refused)) if rows is None else rows
        if not self.warnings:
            return [""] * len(picked)
        return ["; ".join(self.warnings[i]) if i in self.warnings else "" for i in picked]


def check_rows(
    frame: pd.DataFrame,
    columns: Iterable[ColumnContract],
    *,
    on_unexpected: OnUnexpected = "answer",
    missing_codes: Mapping[str, Collection[object]] | None = None,
    na_strings: Collection[str] = (),
) -> RowCheck:
    """Check every row of ``frame`` against ``columns`` (a contract's columns, e.g.
    ``contract.for_scoring(target).columns.values()``).

    ``missing_codes`` are values that mean "missing" per column (``data.missing_codes``);
    ``na_strings`` are texts that mean missing (a CSV read as text). A column absent from
    ``frame`` refuses every row when it is required and is skipped otherwise.
    """
    n = len(frame)
    refused = np.zeros(n, dtype=bool)
    reasons: dict[int, list[str]] = {}
    warnings: dict[int, list[str]] = {}
    counts: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
    typed = frame.copy(deep=False) if n else frame
    refuse_unexpected = on_unexpected == "refuse"
    codes = missing_codes or {}
    for col in columns:
        if col.name not in frame.columns:
            if col.required and n:
                refused[:] = True
                counts[True][f"{col.name}: absent"] += n
                for i in range(n):
                    reasons.setdefault(i, []).append(f"{col.name}: is absent; the model needs it")
            continue
        raw = frame[col.name]
        missing = _missing(raw, na_strings, tuple(codes.get(col.name, ())))
        has_missing = bool(missing.any())
        value = raw.where(~missing) if has_missing else raw
        type_ok, number = _type_and_number(col, value)
        typed[col.name] = number if number is not None else value
        rules = _rule_masks(col, value, missing if has_missing else None, type_ok, number)
        broken = np.zeros(n, dtype=bool)
        for _, mask in rules:
            broken |= mask
        expected = _expectation_masks(col, value, missing if has_missing else None, type_ok, number)
        found = [(c, m, True) for c, m in rules]
        found += [(c, m & ~broken, refuse_unexpected) for c, m in expected]
        for check, mask, is_rule in found:
            where = np.flatnonzero(mask)
            if not len(where):
                continue
            counts[is_rule][f"{col.name}: {_COUNT_WORDS[check]}"] += len(where)
            texts = warning_words(col, check, raw.to_numpy()[where], refused=refuse_unexpected)
            target = reasons if is_rule else warnings
            if is_rule:
                refused[where] = True
            for i, text in zip(where.tolist(), texts, strict=True):
                target.setdefault(i, []).append(text)
    for i in [i for i in warnings if refused[i]]:  # a refused row is not scored: no warnings
        del warnings[i]
    return RowCheck(typed, refused, reasons, warnings, counts[True], counts[False])


def row_warnings(frame: pd.DataFrame, contract: Contract, **options: Any) -> list[list[str]]:
    """Per row of ``frame``, the expectations it breaks (it is scored with these warnings)."""
    return check_rows(frame, contract.columns.values(), **options).row_warnings()


def row_refusals(frame: pd.DataFrame, contract: Contract, **options: Any) -> list[list[str]]:
    """Per row of ``frame``, the rules it breaks (it is refused for these reasons)."""
    return check_rows(frame, contract.columns.values(), **options).row_reasons()


# --- the checks ---------------------------------------------------------------------------

Masks = list[tuple[str, np.ndarray]]


def _rule_masks(
    col: ColumnContract,
    value: pd.Series,
    missing: pd.Series | None,
    type_ok: np.ndarray,
    number: pd.Series | None,
) -> Masks:
    rules = col.rules
    out: Masks = []
    if rules.nullable is False and missing is not None:
        out.append(("missing", missing.to_numpy(dtype=bool)))
    out.append(("type", ~type_ok))
    if number is not None and (rules.min is not None or rules.max is not None):
        out.append(("range", type_ok & _outside(number, rules.min, rules.max)))
    if rules.allowed is not None:
        out.append(("allowed", type_ok & ~_allowed_ok(col.type, rules.allowed, value)))
    return out


def _expectation_masks(
    col: ColumnContract,
    value: pd.Series,
    missing: pd.Series | None,
    type_ok: np.ndarray,
    number: pd.Series | None,
) -> Masks:
    out: Masks = []
    if not col.nullable and missing is not None and col.rules.nullable is not False:
        out.append(("never_missing", missing.to_numpy(dtype=bool)))
    if number is not None and col.min is not None:
        out.append(("below", type_ok & (number < float(col.min)).to_numpy(dtype=bool)))
    if number is not None and col.max is not None:
        out.append(("above", type_ok & (number > float(col.max)).to_numpy(dtype=bool)))
    if col.allowed is not None:
        out.append(("unseen", type_ok & ~_allowed_ok(col.type, col.allowed, value)))
    return out


def _outside(number: pd.Series, lo: float | None, hi: float | None) -> np.ndarray:
    low = -np.inf if lo is None else float(lo)
    high = np.inf if hi is None else float(hi)
    return _mask(number.notna() & ~number.between(low, high))


def _missing(s: pd.Series, na_strings: Collection[str], codes: tuple[object, ...]) -> pd.Series:
    missing = s.isna()
    text = bool(na_strings)
    if text:
        missing |= s.isin(list(na_strings))
    if codes:
        missing |= s.isin(list(codes))
        if text:
            missing |= s.isin([str(c) for c in codes])
            numbers = [float(c) for c in codes if isinstance(c, (int, float))]
            if numbers:
                missing |= pd.to_numeric(s.where(~missing), errors="coerce").isin(numbers)
    return missing


def _allowed_ok(kind: str, allowed: list[Any], value: pd.Series) -> np.ndarray:
    """Whether each value is one of ``allowed`` (missing passes), checked on the distinct
    values only when they repeat."""
    texts = all(isinstance(a, str) for a in allowed) and pd.api.types.is_string_dtype(value.dtype)
    if texts and (value.dtype != object or value.dropna().map(type).eq(str).all()):
        return _mask(value.isin(allowed) | value.isna())
    present = value.dropna()
    if present.empty:
        return np.ones(len(value), dtype=bool)
    check = allowed_values_check(kind, allowed)
    uniques = pd.Series(present.unique())
    if len(uniques) * 4 > len(value):  # few repeats: the plain check is as quick
        return _mask(check(value))
    fine = uniques[check(uniques).to_numpy(dtype=bool)]
    return _mask(value.isin(fine) | value.isna())


def _mask(s: pd.Series) -> np.ndarray:
    out: np.ndarray = s.to_numpy(dtype=bool)
    return out


def _type_and_number(col: ColumnContract, value: pd.Series) -> tuple[np.ndarray, pd.Series | None]:
    """Whether each value has the contract's type (missing counts as fine), and for number
    columns the values as floats (what is not a number: NaN). One parse per column."""
    if col.type not in ("integer", "number"):
        return type_check(col.type)(value).to_numpy(dtype=bool), None
    number = as_number(value)
    values = number.to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(values)
    if col.type == "integer":
        ok &= np.where(ok, values % 1, 0) == 0
    return ok | value.isna().to_numpy(dtype=bool), number


# --- the words ----------------------------------------------------------------------------


def warning_words(
    col: ColumnContract, check: str, values: np.ndarray, *, refused: bool
) -> list[str]:
    """One message per failing value: the field, the value, what was expected or required."""
    name = col.name
    if check == "missing":
        return [f"{name}: is empty; a rule in the contract says it is never missing"] * len(values)
    if check == "never_missing":
        tail = _REFUSED if refused else _SCORED_MISSING
        return [f"{name}: is missing, and was never missing in training ({tail})"] * len(values)
    if check in ("type", "range", "allowed"):
        if check == "type":
            need = f"{_KIND_WORDS.get(col.type, 'text')} (a rule: the column's type)"
        elif check == "range":
            need = f"a number {range_words(col.rules.min, col.rules.max)} (a rule in the contract)"
        else:
            need = f"one of {show_values(col.rules.allowed or [])} (a rule in the contract)"
        return [f"{name}: expects {need}; got {value_text(v)!r}" for v in values]
    tail = _REFUSED if refused else SCORED
    if check in ("below", "above"):
        span = _training_range(col)
        return [f"{name}: {value_text(v)} is {check} the {span} ({tail})" for v in values]
    seen = show_values(col.allowed or [])
    return [
        f"{name}: {value_text(v)!r} was not seen in training, which had {seen} ({tail})"
        for v in values
    ]


def _training_range(col: ColumnContract) -> str:
    if col.min is not None and col.max is not None:
        return f"training range {format_bound(col.min)}–{format_bound(col.max)}"
    if col.min is not None:
        return f"training minimum {format_bound(col.min)}"
    return f"training maximum {format_bound(col.max)}"


def value_text(value: object) -> str:
    """A value as it was written: numbers without a trailing ``.0``, missing as ''."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if np.isnan(f):
            return ""
        return str(int(f)) if f.is_integer() and abs(f) < 2**53 else repr(f)
    return str(value)
