"""The target: the task it implies (classification or regression) and why, in plain words.

A target that cannot be learned (every value missing, one value, dates) is refused with a
``DataError`` about the ``target`` argument; missing targets and classes seen once are noted.
"""

from __future__ import annotations

from steadyml.data.roles.guesses import Task
from steadyml.data.roles.profile import ColumnProfile
from steadyml.data.roles.wording import examples, name_list
from steadyml.errors import DataError

__all__ = ["MAX_CLASSES", "guess_task"]

MAX_CLASSES = 20  # a numeric target with at most this many whole values is a classification


def guess_task(prof: ColumnProfile, notes: list[str]) -> tuple[Task, str]:
    """The task the target column implies and the reason; warnings are added to ``notes``."""
    _refuse_unlearnable(prof)
    name = prof.name
    if prof.missing_rate > 0:
        missing = prof.rows - len(prof.values)
        notes.append(
            f"Target '{name}' is missing in {missing} rows "
            f"({prof.missing_rate:.1%}); those rows cannot be used for training."
        )
    if prof.dtype in {"integer", "number"}:
        few = prof.distinct <= 2 or len(prof.values) >= 5 * prof.distinct
        if prof.dtype == "integer" and prof.distinct <= MAX_CLASSES and few:
            task: Task = "classification"
            reason = (
                f"'{name}' holds whole numbers with only {prof.distinct} distinct values "
                f"({examples(prof.values, 5, sort=True)}): treated as classes"
            )
        else:
            task = "regression"
            kind = "decimal numbers" if prof.dtype == "number" else "whole numbers"
            reason = f"'{name}' holds {kind} with {prof.distinct} distinct values: a quantity"
    else:
        task = "classification"
        kind = "true/false values" if prof.dtype == "boolean" else "labels"
        reason = (
            f"'{name}' holds {kind} with {prof.distinct} classes "
            f"({examples(prof.values, 5, sort=True)})"
        )
    if task == "classification":
        counts = prof.values.value_counts()
        rare = [str(v) for v, n in counts.items() if n < 2]
        if rare:
            notes.append(
                f"Target '{name}' has classes seen in only one row ({name_list(rare)}); a model "
                "cannot learn them and they cannot be split into training and test data. "
                "Remove those rows or merge them into another class."
            )
    return task, reason


def _refuse_unlearnable(prof: ColumnProfile) -> None:
    name = prof.name
    if prof.values.empty:
        raise DataError(
            f"Target column '{name}' is empty: every value is missing.",
            hint="Choose the column that holds the outcome to predict.",
            field="target",
        )
    if prof.distinct < 2:
        raise DataError(
            f"Target column '{name}' has only one value ({examples(prof.values, 1)}) in all "
            f"{len(prof.values)} rows that have one: a model needs at least two different "
            "outcomes to learn from.",
            hint="Check the data file, or choose another target column.",
            field="target",
        )
    if prof.dtype == "datetime":
        raise DataError(
            f"Target column '{name}' holds dates; steadyml predicts classes or numbers.",
            hint="Choose another target column, or give this one as the timestamp.",
            field="target",
        )
