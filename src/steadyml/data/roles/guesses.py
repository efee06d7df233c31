"""What role guessing answers: the guess for each column and for the whole table.

``RoleGuess`` holds one ``ColumnGuess`` per column (in file order) with a short reason in plain
words, the kind of task the target implies, warnings, and the column holding the user's own
train/test split if there is one; ``RoleGuess.roles()`` turns it into the ``Roles`` of the
project file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from steadyml.entities import Roles

__all__ = ["ColumnGuess", "LogicalType", "Role", "RoleGuess", "Task"]

Role = Literal[
    "target", "id", "timestamp", "numeric", "categorical", "text", "drop", "sensitive", "pii"
]
Task = Literal["classification", "regression"]
LogicalType = Literal["integer", "number", "string", "boolean", "datetime"]


@dataclass(frozen=True)
class ColumnGuess:
    """The role guessed (or given) for one column, and why."""

    column: str
    role: Role
    reason: str  # short, plain words; shown as a YAML comment
    dtype: LogicalType
    distinct: int
    missing_rate: float


@dataclass(frozen=True)
class RoleGuess:
    """The roles of all columns of a table, the task the target implies, and warnings."""

    target: str
    task: Task
    task_reason: str
    columns: list[ColumnGuess]  # in file order
    warnings: list[str] = field(default_factory=list)
    split_column: str | None = None  # a column holding the user's train/test split (dropped)
    split_test_values: tuple[str, ...] = ()  # its values that mark a test row
    group_column: str | None = None  # the id column when its values repeat (a panel)

    def column(self, name: str) -> ColumnGuess:
        """Return the guess for one column (``KeyError`` if the table has no such column)."""
        for guess in self.columns:
            if guess.column == name:
                return guess
        raise KeyError(name)

    def roles(self) -> Roles:
        """The guess as the ``Roles`` of the project file (``drop`` maps column -> reason)."""
        by_role: dict[str, list[str]] = {}
        for guess in self.columns:
            by_role.setdefault(guess.role, []).append(guess.column)
        return Roles(
            target=self.target,
            id=next(iter(by_role.get("id", [])), None),
            timestamp=next(iter(by_role.get("timestamp", [])), None),
            numeric=tuple(by_role.get("numeric", [])),
            categorical=tuple(by_role.get("categorical", [])),
            text=tuple(by_role.get("text", [])),
            sensitive=tuple(by_role.get("sensitive", [])),
            pii=tuple(by_role.get("pii", [])),
            drop={g.column: g.reason for g in self.columns if g.role == "drop"},
        )
