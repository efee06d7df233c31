"""Labels that arrive late: read a file of true outcomes and join them to the prediction log.

Each label is keyed by the prediction's request id (from the API's answer) or by the row id
(the project's id column, which batch scoring and the API both log). The last label for a key
wins and repeats are counted, so sending a file twice is harmless. Labels whose key matches no
logged prediction are kept (the prediction may be logged later) and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from steadyml.data.loading import read_table
from steadyml.data.storable import text_problem
from steadyml.errors import DataError
from steadyml.store import Store

__all__ = ["FeedbackResult", "load_feedback_file", "record_feedback"]


MAX_ID = 200  # the store's request id and row key columns hold this many characters


@dataclass(frozen=True)
class FeedbackResult:
    rows: int
    stored: int
    skipped: list[dict[str, Any]] = field(default_factory=list)  # rows without a key or label
    duplicates: int = 0  # keys that appeared more than once in this file
    unknown_keys: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "stored": self.stored,
            "skipped": self.skipped,
            "duplicates": self.duplicates,
            "unknown_keys": self.unknown_keys[:100],
            "unknown_count": len(self.unknown_keys),
        }


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def load_feedback_file(
    path: str | Path, *, id_column: str, label_column: str
) -> tuple[list[tuple[str, Any]], list[dict[str, Any]], int]:
    """``(labels, skipped rows with reasons, rows read)`` from a CSV or Parquet file."""
    frame = read_table(path)
    for argument, column, holds in (
        ("id_column", id_column, "the request id or row id"),
        ("label_column", label_column, "the true outcome"),
    ):
        if column not in frame.columns:
            cols = ", ".join(map(str, frame.columns[:20]))
            raise DataError(
                f"The {argument.replace('_', ' ')} {column!r} is not a column of "
                f"{Path(path).name}.",
                hint=f"Its columns are: {cols}. Name the column that holds {holds}.",
                field=argument,
            )
    labels: list[tuple[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    keys = frame[id_column]
    values = frame[label_column]
    for i, (key, label) in enumerate(zip(keys.tolist(), values.tolist(), strict=True)):
        line = i + 2  # the header is line 1
        if key is None or (isinstance(key, float) and pd.isna(key)) or str(key).strip() == "":
            skipped.append({"line": line, "reason": f"{id_column} is empty"})
            continue
        if label is None or (isinstance(label, float) and pd.isna(label)):
            skipped.append({"line": line, "reason": f"{label_column} is empty"})
            continue
        text = str(_plain(key)).strip()
        reason = _unstorable(text, _plain(label), id_column, label_column)
        if reason:
            skipped.append({"line": line, "reason": reason})
            continue
        labels.append((text, _plain(label)))
    return labels, skipped, len(frame)


def _unstorable(key: str, label: Any, id_column: str, label_column: str) -> str | None:
    """Why the store cannot keep this key or label as it is (the API refuses the same), or
    None. An id longer than the store keeps would match no prediction once cut short."""
    if len(key) > MAX_ID:
        return f"{id_column} is {len(key)} characters; the store keeps ids of up to {MAX_ID}"
    problem = text_problem(key)
    if problem:
        return f"{id_column} {problem}"
    if isinstance(label, float) and not math.isfinite(label):
        return f"{label_column} is {label}; a label must be a finite number or a class"
    if isinstance(label, int) and not isinstance(label, bool) and abs(label) >= 2**63:
        return f"{label_column} {label} is beyond 64 bits"
    if isinstance(label, str) and text_problem(label):
        return f"{label_column} {text_problem(label)}"
    return None


def record_feedback(store: Store, labels: list[tuple[str, Any]], skipped: list[dict[str, Any]],
                    rows: int) -> FeedbackResult:  # fmt: skip
    seen: dict[str, int] = {}
    for key, _ in labels:
        seen[key] = seen.get(key, 0) + 1
    stored, unknown = store.add_feedback(labels) if labels else (0, [])
    return FeedbackResult(
        rows=rows,
        stored=stored,
        skipped=skipped,
        duplicates=sum(1 for n in seen.values() if n > 1),
        unknown_keys=list(unknown),
    )
