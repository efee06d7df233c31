"""A labels file with values the store cannot keep: such rows are skipped with a reason, the
others stored, on SQLite and PostgreSQL (PostgreSQL raised on NUL or Infinity and stored none)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from steadyml.monitoring.feedback import load_feedback_file, record_feedback
from steadyml.store import Store, open_store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url, project="p")
    yield opened
    opened.close()


def test_rows_the_store_cannot_keep_are_skipped_with_a_reason(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pd.DataFrame(
        {
            "request_id": ["r-1", "r" * 201, "r-\x00", "r-4", "r-5", "r-6"],
            "label": [1.0, 1.0, 0.0, float("inf"), float("nan"), 0.0],
        }
    ).to_parquet(path)
    labels, skipped, rows = load_feedback_file(path, id_column="request_id", label_column="label")
    assert [k for k, _ in labels] == ["r-1", "r-6"]
    reasons = {s["line"]: s["reason"] for s in skipped}
    assert reasons[3] == "request_id is 201 characters; the store keeps ids of up to 200"
    assert "NUL" in reasons[4] and "finite" in reasons[5] and "empty" in reasons[6]
    result = record_feedback(store, labels, skipped, rows)
    assert result.rows == 6 and len(result.skipped) == 4
    assert sorted(result.unknown_keys) == ["r-1", "r-6"]  # kept, though no prediction matches
