"""A column that is a precomputed train/test split (values such as ``train`` and ``test``).

Such a column says which rows the user set aside for testing; learning from it would let a
model tell test rows apart. ``steadyml init`` drops it from the features with a reason and
writes ``training.split: {method: column, column: <name>}`` so training keeps the user's split.
"""

from __future__ import annotations

from dataclasses import dataclass

from steadyml.data.roles.profile import ColumnProfile

__all__ = ["SplitColumn", "split_column"]

_TRAIN = frozenset({"train", "training", "trn", "fit"})
_TEST = frozenset(
    {"test", "testing", "tst", "valid", "validation", "val", "holdout", "dev", "eval"}
)
_MAX_VALUES = 4


@dataclass(frozen=True)
class SplitColumn:
    """A split column: its name and its values, as written in the data."""

    column: str
    train_values: tuple[str, ...]
    test_values: tuple[str, ...]  # every value that marks a test (or validation) row

    def reason(self) -> str:
        shown = ", ".join(repr(v) for v in (*self.train_values, *self.test_values))
        return (
            f"a precomputed train/test split (values {shown}): training uses it "
            "(training.split.method: column), so it is never a feature"
        )


def split_column(prof: ColumnProfile) -> SplitColumn | None:
    """The split a column holds, when its values are only train and test (or validation)
    labels, with at least one of each; otherwise None."""
    if prof.dtype != "string" or not 2 <= prof.distinct <= _MAX_VALUES:
        return None
    values = sorted({str(v) for v in prof.values})
    train = tuple(v for v in values if v.strip().lower() in _TRAIN)
    test = tuple(v for v in values if v.strip().lower() in _TEST)
    if not train or not test or len(train) + len(test) != len(values):
        return None
    return SplitColumn(prof.name, train, test)
