"""Row-by-row validation of a chunk against the data contract, for the columns the model
reads and the id column.

The checks and their words are the contract's (``steadyml.data.contract.check_rows``, shared
with the API): a row that breaks a rule (type, or a bound the user wrote) is refused with its
reason; a row that breaks only an expectation (outside the training range, an unseen
category, missing where training never was) is scored with a warning per field, unless
``batch.on_unexpected`` is ``refuse``. The project's ``data.missing_codes`` are applied
first, so a code such as ``-1`` meaning "unknown" is a missing value, not a value out of
range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from steadyml.batch.readers import NA_STRINGS
from steadyml.data.contract import ColumnContract, Contract
from steadyml.data.contract.rows import OnUnexpected, RowCheck, check_rows
from steadyml.errors import DataError

__all__ = ["RowRules", "build_rules", "check_chunk", "missing_columns_error"]


@dataclass(frozen=True)
class RowRules:
    columns: tuple[ColumnContract, ...]
    missing_codes: Mapping[str, tuple[object, ...]]
    on_unexpected: OnUnexpected = "answer"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def build_rules(
    contract: Contract | None,
    features: Sequence[str],
    id_column: str | None,
    missing_codes: Mapping[str, Sequence[object]],
    on_unexpected: OnUnexpected = "answer",
) -> RowRules:
    """The contract's columns for the model's features and the id column (a column the
    contract does not know is text, with no rule but presence)."""
    names = list(dict.fromkeys([*([id_column] if id_column else []), *features]))
    known = contract.columns if contract is not None else {}
    columns = tuple(
        known.get(name) or ColumnContract(name=name, role="feature", type="string")
        for name in names
    )
    codes = {k: tuple(v) for k, v in missing_codes.items() if k in names}
    return RowRules(columns=columns, missing_codes=codes, on_unexpected=on_unexpected)


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


def check_chunk(frame: pd.DataFrame, rules: RowRules, *, text: bool) -> RowCheck:
    """Check every row of ``frame`` (a CSV chunk read as text when ``text``): the rows that
    break a rule are refused with their reasons, the rows that break only expectations are
    scored with their warnings (or refused, with ``on_unexpected="refuse"``). The returned
    frame holds the checked columns typed (numbers as floats, missing as NaN)."""
    return check_rows(
        frame,
        rules.columns,
        on_unexpected=rules.on_unexpected,
        missing_codes=rules.missing_codes,
        na_strings=NA_STRINGS if text else (),
    )
