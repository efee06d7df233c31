"""The data contract itself: one ``ColumnContract`` per column, in a ``Contract``.

A column's contract has two levels:

* **rules** (a value that breaks one is refused): the column is present (``required``), its
  value parses as its ``type``, and whatever the user wrote under ``rules`` (a
  ``ColumnRules``: min, max, allowed values, never missing);
* **expectations** (a value outside them is scored, with a warning, and counted by the
  monitor): what the training data showed, ``min``/``max`` (the range seen), ``allowed`` (the
  categories seen) and ``nullable`` (false: never missing in training).

Inference writes expectations only; a rule is something a person decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from steadyml.data.contract.values import LogicalType, format_bound

__all__ = ["ColumnContract", "ColumnRules", "Contract", "column_from_dict"]


@dataclass
class ColumnRules:
    """What the user wrote to refuse: ``None`` everywhere means no rule beyond the type."""

    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None
    nullable: bool | None = None

    @property
    def empty(self) -> bool:
        return (
            self.min is None
            and self.max is None
            and self.allowed is None
            and (self.nullable is None)
        )

    def to_dict(self) -> dict[str, Any]:
        """The rules that are set (the ``rules:`` mapping of ``contract.yaml``)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    def describe(self) -> str:
        parts: list[str] = []
        if self.min is not None or self.max is not None:
            parts.append(range_words(self.min, self.max))
        if self.allowed is not None:
            parts.append(f"one of {show_values(self.allowed)}")
        if self.nullable is False:
            parts.append("never missing")
        return ", ".join(parts)


@dataclass
class ColumnContract:
    name: str
    role: str
    type: LogicalType
    nullable: bool = True  # expectation: false = never missing in training
    required: bool = True  # rule: the column must be present
    min: float | None = None  # expectation: the smallest value seen in training
    max: float | None = None  # expectation: the largest value seen in training
    allowed: list[Any] | None = None  # expectation: the categories seen in training
    rules: ColumnRules = field(default_factory=ColumnRules)

    def describe(self) -> str:
        """The type, then the rules, then what training showed (one line, for people)."""
        parts: list[str] = [self.type]
        if not self.rules.empty:
            parts.append(f"rule: {self.rules.describe()}")
        expected: list[str] = []
        if self.min is not None or self.max is not None:
            expected.append(range_words(self.min, self.max))
        if self.allowed is not None:
            expected.append(f"one of {show_values(self.allowed)}")
        if not self.nullable:
            expected.append("never missing")
        if expected:
            parts.append(f"expected (training): {', '.join(expected)}")
        return "; ".join(parts)


def range_words(lo: float | None, hi: float | None) -> str:
    """``between 0 and 120``, ``≥ 0`` or ``≤ 120``."""
    if lo is not None and hi is not None:
        return f"between {format_bound(lo)} and {format_bound(hi)}"
    if lo is not None:
        return f"≥ {format_bound(lo)}"
    return f"≤ {format_bound(hi)}"


def show_values(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(map(str, values[:limit]))
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return f"{shown}{more}"


def column_from_dict(data: dict[str, Any]) -> ColumnContract:
    """A column from its ``dataclasses.asdict`` form (as a model version stores it); a dict
    written before rules existed has no ``rules`` and loads with none."""
    known = {f.name for f in fields(ColumnContract)}
    values = {k: v for k, v in data.items() if k in known}
    rules = values.pop("rules", None) or {}
    if isinstance(rules, ColumnRules):
        return ColumnContract(**values, rules=rules)
    return ColumnContract(**values, rules=ColumnRules(**rules))


@dataclass
class Contract:
    columns: dict[str, ColumnContract]
    inferred_from: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def for_scoring(self, target: str) -> Contract:
        """The contract live inputs must meet: everything but the target."""
        cols = {k: v for k, v in self.columns.items() if k != target}
        return Contract(columns=cols, inferred_from=self.inferred_from, version=self.version)

    @property
    def has_rules(self) -> bool:
        """Whether any column has a rule written by the user (beyond type and presence)."""
        return any(not c.rules.empty for c in self.columns.values())
