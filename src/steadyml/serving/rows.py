"""A request's records as plain rows: one DataFrame is built per batch, not per request.

Building a pandas DataFrame costs far more than scoring a few rows with a compiled model, so
the service hands the batcher ``RecordRows`` (column names and one list of values per record)
and the batcher's worker thread concatenates the rows of a whole batch into one frame, off
the event loop.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import pandas as pd

__all__ = ["Frame", "RecordRows", "as_frame", "concat_frames"]


class RecordRows:
    """A request's records as plain rows, turned into a DataFrame only per batch."""

    __slots__ = ("columns", "values")

    def __init__(self, columns: list[str], values: list[list[Any]]) -> None:
        self.columns = columns
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def take(self, index: list[int]) -> RecordRows:
        return RecordRows(self.columns, [self.values[i] for i in index])

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, v, strict=True)) for v in self.values]

    def frame(self) -> pd.DataFrame:
        # dtype=object: pandas 3 would otherwise turn every text column into Arrow strings
        return pd.DataFrame(self.values, columns=self.columns, dtype=object)


Frame: TypeAlias = "pd.DataFrame | RecordRows"
"""What the batcher scores: a DataFrame, or rows it turns into one per batch."""


def as_frame(frame: Frame) -> pd.DataFrame:
    return frame.frame() if isinstance(frame, RecordRows) else frame


def concat_frames(frames: list[Frame]) -> pd.DataFrame:
    """One DataFrame for a batch: the rows joined first when every part is ``RecordRows``
    with the same columns (one frame built), else the frames concatenated."""
    if (
        all(isinstance(f, RecordRows) for f in frames)
        and len({tuple(f.columns) for f in frames if isinstance(f, RecordRows)}) == 1
    ):
        first = frames[0]
        assert isinstance(first, RecordRows)
        values = [v for f in frames if isinstance(f, RecordRows) for v in f.values]
        return RecordRows(first.columns, values).frame()
    parts = [as_frame(f) for f in frames]
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
