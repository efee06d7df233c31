"""Validate a table against its contract with pandera, and report every violation.

Validation never raises for bad data: ``validate`` returns a ``ContractReport`` with one
``Violation`` per column and check, each with its level (``rule``: the rows would be
refused; ``expectation``: outside what training showed, the rows would be scored with a
warning), its count, a few example rows and a message that says what was expected.
``passed`` means no rule is broken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from steadyml.data.contract.model import ColumnContract, Contract, range_words, show_values
from steadyml.data.contract.values import as_number, format_bound, plain_value, type_check

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXAMPLES",
    "ContractReport",
    "Level",
    "Violation",
    "allowed_check",
    "allowed_values_check",
    "validate",
]

EXAMPLES = 3
Level = Literal["rule", "expectation"]
_EXPECT = "expect:"  # the prefix of an expectation's check name in the pandera schema


@dataclass(frozen=True)
class Violation:
    column: str
    rule: str  # the check: missing_column, type, range, allowed, not_nullable
    message: str
    count: int
    examples: list[dict[str, Any]]
    level: Level = "rule"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContractReport:
    rows: int
    violations: list[Violation]  # both levels; see ``broken_rules`` and ``unexpected``
    extra_columns: list[str]
    bad_rows: int  # rows that break a rule (they would be refused)
    flagged_rows: int = 0  # rows that break only expectations (scored, with a warning)

    @property
    def broken_rules(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "rule"]

    @property
    def unexpected(self) -> list[Violation]:
        """The expectations broken: warnings, not errors."""
        return [v for v in self.violations if v.level == "expectation"]

    @property
    def passed(self) -> bool:
        """No rule is broken (expectations may be)."""
        return not self.broken_rules

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "flagged_rows": self.flagged_rows,
            "rules_broken": len(self.broken_rules),
            "expectations_broken": len(self.unexpected),
            "violations": [v.to_dict() for v in self.violations],
            "extra_columns": self.extra_columns,
        }


def allowed_check(col: ColumnContract) -> Callable[[pd.Series], pd.Series]:
    """A check that each value is one of ``col.allowed`` (a missing value passes)."""
    return allowed_values_check(col.type, list(col.allowed or []))


def allowed_values_check(kind: str, allowed: list[Any]) -> Callable[[pd.Series], pd.Series]:
    """A check that each value is one of ``allowed`` (a missing value passes); in a number
    column numbers compare as numbers, anything else as text."""
    numeric = kind in ("integer", "number") and all(
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
    """Validate ``df``; never raises for bad data, returns every violation of either level.

    ``row_offset`` turns the frame's positional index into the row number people see (1 = the
    first data row under the header).
    """
    import pandas as pd
    import pandera.pandas as pa

    frame = df.reset_index(drop=True)
    violations: list[Violation] = []
    bad: dict[Level, set[int]] = {"rule": set(), "expectation": set()}
    try:
        _schema(contract).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        for (column, check), group in fc.groupby(["column", "check"], dropna=False, sort=False):
            col_name = (
                str(column) if isinstance(column, str) else str(group["failure_case"].iloc[0])
            )
            name = str(check)
            level: Level = "expectation" if name.startswith(_EXPECT) else "rule"
            rule = name.removeprefix(_EXPECT)
            rule = {"column_in_dataframe": "missing_column"}.get(rule, rule)
            idx = [int(i) for i in group["index"].dropna()]
            bad[level].update(idx)
            examples = [
                {"row": int(r["index"]) + row_offset, "value": plain_value(r["failure_case"])}
                for _, r in group.head(EXAMPLES).iterrows()
                if pd.notna(r["index"])
            ]
            count = max(len(idx), 1) if rule == "missing_column" else len(idx)
            col = contract.columns.get(col_name)
            describe = _describe_violation if level == "rule" else _describe_unexpected
            violations.append(
                Violation(
                    column=col_name,
                    rule=rule,
                    count=count,
                    examples=examples,
                    message=describe(col, col_name, rule, count, examples),
                    level=level,
                )
            )
    extra = [c for c in map(str, frame.columns) if c not in contract.columns]
    if any(v.rule == "missing_column" for v in violations):
        bad_rows = len(frame)
    else:
        bad_rows = len(bad["rule"])
    return ContractReport(
        rows=len(frame),
        violations=violations,
        extra_columns=extra,
        bad_rows=bad_rows,
        flagged_rows=len(bad["expectation"] - bad["rule"]) if bad_rows < len(frame) else 0,
    )


def _schema(contract: Contract) -> Any:
    """Rules and expectations in one pandera schema; an expectation's check is named
    ``expect:...`` and passes a value that already breaks a rule (reported once, as that)."""
    import pandera.pandas as pa

    cols = {}
    for name, col in contract.columns.items():
        kind = type_check(col.type)
        checks = [pa.Check(kind, error="type", element_wise=False)]
        rules = col.rules
        rule_range = _in_range(rules.min, rules.max) if col.type in ("integer", "number") else None
        rule_allowed = (
            allowed_values_check(col.type, rules.allowed) if rules.allowed is not None else None
        )
        if rule_range is not None:
            checks.append(pa.Check(rule_range, error="range"))
        if rule_allowed is not None:
            checks.append(pa.Check(rule_allowed, error="allowed"))
        expected_range = _in_range(col.min, col.max) if col.type in ("integer", "number") else None
        if expected_range is not None:
            checks.append(
                pa.Check(_unless(expected_range, kind, rule_range), error=f"{_EXPECT}range")
            )
        if col.allowed is not None:
            seen = _unless(allowed_check(col), kind, rule_allowed)
            checks.append(pa.Check(seen, error=f"{_EXPECT}allowed"))
        if not col.nullable and rules.nullable is not False:
            checks.append(
                pa.Check(lambda s: s.notna(), error=f"{_EXPECT}not_nullable", ignore_na=False)
            )
        cols[name] = pa.Column(
            checks=checks, nullable=rules.nullable is not False, required=col.required, coerce=False
        )
    return pa.DataFrameSchema(cols, strict=False)


Check = Callable[["pd.Series"], "pd.Series"]


def _in_range(lo: float | None, hi: float | None) -> Check | None:
    if lo is None and hi is None:
        return None
    low = float("-inf") if lo is None else float(lo)
    high = float("inf") if hi is None else float(hi)
    return lambda s: as_number(s).between(low, high) | as_number(s).isna()


def _unless(expectation: Check, kind: Check, rule: Check | None) -> Check:
    """An expectation's check that passes values of the wrong type or breaking ``rule``."""

    def check(s: pd.Series) -> pd.Series:
        ok = expectation(s) | ~kind(s)
        return ok if rule is None else ok | ~rule(s)

    return check


def _example(examples: list[dict[str, Any]], count: int) -> tuple[str, str]:
    first = examples[0] if examples else None
    where = f" in row {first['row']}" if first and first.get("row") is not None else ""
    got = f"{first['value']!r}{where}" if first else ""
    more = f" ({count} rows in all)" if count > 1 else ""
    return got, more


def _describe_violation(
    col: ColumnContract | None, column: str, rule: str, count: int, examples: list[dict[str, Any]]
) -> str:
    """A broken rule: the rows would be refused."""
    got, more = _example(examples, count)
    got = f"; got {got}" if got else ""
    if rule == "missing_column":
        role = f", role {col.role}" if col else ""
        return f"Column '{column}' is missing; the contract requires it (a rule{role})."
    if rule == "not_nullable":
        rows = ", ".join(str(e["row"]) for e in examples)
        return (
            f"Column '{column}' is empty in {count} row(s) (e.g. rows {rows}); "
            "a rule in the contract says it is never missing."
        )
    if col is None:
        return f"Column '{column}' broke rule '{rule}'{got}{more}."
    if rule == "type":
        kind = {"integer": "a whole number", "number": "a number"}.get(col.type, f"a {col.type}")
        return f"Column '{column}' expects {kind} (its type, a rule){got}{more}."
    if rule == "range":
        span = range_words(col.rules.min, col.rules.max)
        return f"Column '{column}' expects a number {span} (a rule in the contract){got}{more}."
    if rule == "allowed":
        shown = show_values(col.rules.allowed or [])
        return f"Column '{column}' expects one of {shown} (a rule in the contract){got}{more}."
    return f"Column '{column}' broke rule '{rule}'{got}{more}."


_SCORED = "an expectation, not a rule: such rows are scored, with a warning"


def _describe_unexpected(
    col: ColumnContract | None, column: str, rule: str, count: int, examples: list[dict[str, Any]]
) -> str:
    """A broken expectation: the rows would be scored, with a warning per field."""
    got, more = _example(examples, count)
    if rule == "not_nullable":
        rows = ", ".join(str(e["row"]) for e in examples)
        return (
            f"Column '{column}' is empty in {count} row(s) (e.g. rows {rows}) but was never "
            f"missing in training; {_SCORED} (the model fills in missing values)."
        )
    if col is not None and rule == "range":
        span = f"{format_bound(col.min)}–{format_bound(col.max)}"
        return (
            f"Column '{column}' has values outside the training range {span}, e.g. {got}{more}; "
            f"{_SCORED}."
        )
    if col is not None and rule == "allowed":
        return (
            f"Column '{column}' has categories not seen in training "
            f"({show_values(col.allowed or [])}), e.g. {got}{more}; {_SCORED}."
        )
    return f"Column '{column}' is outside what training showed ({rule}), e.g. {got}{more}."
