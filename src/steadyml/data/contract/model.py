"""The data contract itself: one ``ColumnContract`` per column, in a ``Contract``.

A column's contract is its role, its type, whether it may be missing or absent, and either a
range (numbers) or the allowed values (categories).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steadyml.data.contract.values import LogicalType, format_bound

__all__ = ["ColumnContract", "Contract"]


@dataclass
class ColumnContract:
    name: str
    role: str
    type: LogicalType
    nullable: bool = True
    required: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None

    def describe(self) -> str:
        parts: list[str] = [self.type]
        if self.min is not None or self.max is not None:
            parts.append(f"between {format_bound(self.min)} and {format_bound(self.max)}")
        if self.allowed is not None:
            shown = ", ".join(map(str, self.allowed[:8]))
            more = f" (+{len(self.allowed) - 8} more)" if len(self.allowed) > 8 else ""
            parts.append(f"one of {shown}{more}")
        if not self.nullable:
            parts.append("never missing")
        return ", ".join(parts)


@dataclass
class Contract:
    columns: dict[str, ColumnContract]
    inferred_from: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def for_scoring(self, target: str) -> Contract:
        """The contract live inputs must meet: everything but the target."""
        cols = {k: v for k, v in self.columns.items() if k != target}
        return Contract(columns=cols, inferred_from=self.inferred_from, version=self.version)
