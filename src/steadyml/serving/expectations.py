"""The warnings of answered records: the contract's expectations each record breaks.

A record outside what training showed (a value beyond the training range, a category not seen
in training, a missing value where training never had one) is answered, with one warning per
field, worded as batch scoring words them (``steadyml.data.contract.check_rows``: one wording
for both). Only with ``serving.on_unexpected: refuse`` are such records refused instead; the
request model does that (``requests.py``) and there is nothing left to warn about.

The request path is tuned, and ``check_rows`` builds a pandas frame: too costly for every
request. So ``ExpectationCheck`` first looks at the values the service already has, in plain
Python, only for the features that have expectations; only the records it flags (rare) go
through ``check_rows``, which decides and words the warnings. The plain check may flag more
than ``check_rows`` finds (it never flags less), so the words are always the contract's.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steadyml.data.contract import ColumnContract, Contract

__all__ = ["ExpectationCheck"]


@dataclass(frozen=True, slots=True)
class _Expected:
    """One feature's expectations, ready for a cheap test of a value."""

    at: int  # where the value is in a record's row
    col: ColumnContract
    lo: float | None
    hi: float | None
    seen: frozenset[Any] | None  # the categories seen in training (hashable ones)
    never_missing: bool
    codes: frozenset[Any]  # values that mean "missing" (data.missing_codes)

    def flags(self, value: Any) -> bool:
        """Whether ``value`` may break an expectation (``check_rows`` decides)."""
        if value is None or (self.codes and _is_code(value, self.codes)):
            return self.never_missing
        if self.seen is not None and (not _hashable(value) or value not in self.seen):
            return True
        if self.lo is None and self.hi is None:
            return False
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return (self.lo is not None and value < self.lo) or (
            self.hi is not None and value > self.hi
        )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _is_code(value: Any, codes: frozenset[Any]) -> bool:
    if not _hashable(value):
        return False
    return value in codes or (isinstance(value, float) and math.isnan(value))


class ExpectationCheck:
    """The warnings of records given as rows of values in ``columns`` order."""

    def __init__(
        self,
        contract: Contract,
        *,
        columns: Sequence[str],
        features: Collection[str],
        missing_codes: Mapping[str, Collection[object]] | None = None,
    ) -> None:
        codes = missing_codes or {}
        checks: list[_Expected] = []
        for at, name in enumerate(columns):
            col = contract.columns.get(name)
            if col is None or name not in features:
                continue
            never_missing = not col.nullable and col.rules.nullable is not False
            numeric = col.type in ("integer", "number")
            lo = float(col.min) if numeric and col.min is not None else None
            hi = float(col.max) if numeric and col.max is not None else None
            seen = None
            if col.allowed is not None:
                seen = frozenset(a for a in col.allowed if _hashable(a))
            if not never_missing and lo is None and hi is None and seen is None:
                continue  # nothing expected of this column
            column_codes = frozenset(c for c in codes.get(name, ()) if _hashable(c))
            checks.append(_Expected(at, col, lo, hi, seen, never_missing, column_codes))
        self._checks = tuple(checks)
        self._codes = {c.col.name: tuple(c.codes) for c in checks if c.codes}

    @property
    def active(self) -> bool:
        """Whether any feature has an expectation to check."""
        return bool(self._checks)

    def warnings(self, rows: Sequence[Sequence[Any]]) -> list[list[str]] | None:
        """Per row, its warnings (``[]`` when none); ``None`` when no row has any."""
        checks = self._checks
        if not checks:
            return None
        flagged = [i for i, row in enumerate(rows) if any(c.flags(row[c.at]) for c in checks)]
        if not flagged:
            return None
        found = self._words([rows[i] for i in flagged])
        if not any(found):
            return None
        out: list[list[str]] = [[] for _ in rows]
        for i, words in zip(flagged, found, strict=True):
            out[i] = words
        return out

    def _words(self, rows: Sequence[Sequence[Any]]) -> list[list[str]]:
        """The contract's warnings of these rows, as batch scoring words them."""
        import pandas as pd

        from steadyml.data.contract import check_rows

        checks = self._checks
        frame = pd.DataFrame(
            {c.col.name: [row[c.at] for row in rows] for c in checks}, dtype=object
        )
        found = check_rows(frame, [c.col for c in checks], missing_codes=self._codes)
        return found.row_warnings()
