"""Validate a table against its contract with pandera, and report every violation.

Validation never raises for bad data: ``validate`` returns a ``ContractReport`` with one
``Violation`` per column and rule (type, range, allowed values, never missing, a missing
column), each with its count, a few example rows and a message that says what was expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from steadyml.data.contract.model import ColumnContract, Contract
from steadyml.data.contract.values import as_number, format_bound, plain_value, type_check

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXAMPLES", "ContractReport", "Violation", "allowed_check", "validate"]

EXAMPLES = 3


@dataclass(frozen=True)
class Violation:
    column: str
    rule: str
    message: str
    count: int
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContractReport:
    rows: int
    violations: list[Violation]
    extra_columns: list[str]
    bad_rows: int

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "violations": [v.to_dict() for v in self.violations],
            "extra_columns": self.extra_columns,
        }


def allowed_check(col: ColumnContract) -> Callable[[pd.Series], pd.Series]:
    """A check that each value is one of ``col.allowed`` (a missing value passes); numbers
    compare as numbers, anything else as text."""
    allowed = list(col.allowed or [])
    numeric = col.type in ("integer", "number") and all(
        isinstance(a, (int, float)) and not isinstance(a, bool) for a in allowed
    )

    def check(s: pd.Series) -> pd.Series:
        if numeric:
            n = as_number(s)
            return n.isin([float(a) for a in allowed]) | s.isna()
        as_text = s.map(lambda v: v if isinstance(v, str) else str(plain_value(v)))
        return as_text.isin([str(a) for a in allowed]) | s.isna()

    return check


def validate(df: pd.DataFrame, contract: Contract, *, row_offset: int = 1) -> ContractReport:
    """Validate ``df``; never raises for bad data, returns every violation.

    ``row_offset`` turns the frame's positional index into the row number people see (1 = the
    first data row under the header).
    """
    import pandas as pd
    import pandera.pandas as pa

    frame = df.reset_index(drop=True)
    violations: list[Violation] = []
    bad: set[int] = set()
    try:
        _schema(contract).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        for (column, check), group in fc.groupby(["column", "check"], dropna=False, sort=False):
            col_name = (
                str(column) if isinstance(column, str) else str(group["failure_case"].iloc[0])
            )
            rule = {"column_in_dataframe": "missing_column"}.get(str(check), str(check))
            idx = [int(i) for i in group["index"].dropna()]
            bad.update(idx)
            examples = [
                {"row": int(r["index"]) + row_offset, "value": plain_value(r["failure_case"])}
                for _, r in group.head(EXAMPLES).iterrows()
                if pd.notna(r["index"])
            ]
            count = max(len(idx), 1) if rule == "missing_column" else len(idx)
            col = contract.columns.get(col_name)
            violations.append(
                Violation(
                    column=col_name,
                    rule=rule,
                    count=count,
                    examples=examples,
                    message=_describe_violation(col, col_name, rule, count, examples),
                )
            )
    extra = [c for c in map(str, frame.columns) if c not in contract.columns]
    if any(v.rule == "missing_column" for v in violations):
        bad_rows = len(frame)
    else:
        bad_rows = len(bad)
    return ContractReport(
        rows=len(frame), violations=violations, extra_columns=extra, bad_rows=bad_rows
    )


def _schema(contract: Contract) -> Any:
    import numpy as np
    import pandera.pandas as pa

    cols = {}
    for name, col in contract.columns.items():
        checks = [pa.Check(type_check(col.type), error="type", element_wise=False)]
        if col.type in ("integer", "number") and (col.min is not None or col.max is not None):
            lo = -np.inf if col.min is None else float(col.min)
            hi = np.inf if col.max is None else float(col.max)
            checks.append(
                pa.Check(
                    lambda s, lo=lo, hi=hi: as_number(s).between(lo, hi) | as_number(s).isna(),
                    error="range",
                )
            )
        if col.allowed is not None:
            checks.append(pa.Check(allowed_check(col), error="allowed"))
        cols[name] = pa.Column(
            checks=checks, nullable=col.nullable, required=col.required, coerce=False
        )
    return pa.DataFrameSchema(cols, strict=False)


def _describe_violation(
    col: ColumnContract | None, column: str, rule: str, count: int, examples: list[dict[str, Any]]
) -> str:
    first = examples[0] if examples else None
    where = f" in row {first['row']}" if first and first.get("row") is not None else ""
    got = f"; got {first['value']!r}{where}" if first else ""
    more = f" ({count} rows in all)" if count > 1 else ""
    if rule == "missing_column":
        role = f" (role {col.role})" if col else ""
        return f"Column '{column}' is missing; the contract expects it{role}."
    if rule == "not_nullable":
        rows = ", ".join(str(e["row"]) for e in examples)
        return (
            f"Column '{column}' is empty in {count} row(s) (e.g. rows {rows}); "
            "the contract says it is never missing."
        )
    if col is None:
        return f"Column '{column}' broke rule '{rule}'{got}{more}."
    if rule == "type":
        kind = {"integer": "a whole number", "number": "a number"}.get(col.type, f"a {col.type}")
        return f"Column '{column}' expects {kind}{got}{more}."
    if rule == "range":
        span = f"between {format_bound(col.min)} and {format_bound(col.max)}"
        return f"Column '{column}' expects a number {span}{got}{more}."
    if rule == "allowed":
        shown = ", ".join(map(str, (col.allowed or [])[:8]))
        return f"Column '{column}' expects one of {shown}{got}{more}."
    return f"Column '{column}' broke rule '{rule}'{got}{more}."
