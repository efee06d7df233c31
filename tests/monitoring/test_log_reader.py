"""The log reader on batch log files: read a batch at a time after the file's hash is checked,
only the columns asked for, and a changed or missing file refused as before."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from steadyml.artifacts import ArtifactStore
from steadyml.errors import ArtifactNotFound, IntegrityError
from steadyml.predlog.batchfile import BatchLogFile, log_schema
from steadyml.predlog.reader import read_log
from steadyml.store import open_store

AT = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)


@pytest.fixture
def logged(tmp_path: Path) -> Any:
    """A store with one batch log file of 1,000 rows (written in 4 row groups)."""
    store = open_store(str(tmp_path / "store.db"), project="p")
    artifacts = ArtifactStore(str(tmp_path / "artifacts"))
    schema = log_schema(pa.int64(), {"plan": pa.string(), "tenure": pa.int64()})
    log = BatchLogFile(store, artifacts, batch_id="b1", at=AT, model_version=1, schema=schema,
                       expected_rows=1000)  # fmt: skip
    for part in range(4):
        n = 250
        log.write(pa.table({
            "request_id": [f"r{part}-{i}" for i in range(n)], "row_key": [f"k{i}" for i in range(n)],
            "at": pa.array([AT] * n, pa.timestamp("us", tz="UTC")), "model_version": [1] * n,
            "route": ["batch"] * n, "prediction": [i % 2 for i in range(n)],
            "score": [0.5] * n, "latency_ms": [None] * n, "fallback": [False] * n,
            "error": pa.array([None] * n, pa.string()), "plan": ["basic"] * n,
            "tenure": list(range(n)),
        }, schema=schema))  # fmt: skip
    log.upload()
    file = log.record()
    try:
        yield store, artifacts, file
    finally:
        store.close()


def test_a_batch_file_is_read_in_batches_with_the_columns_asked_for(logged: Any) -> None:
    store, artifacts, _ = logged
    frames = list(read_log(store, artifacts, chunk_rows=100, columns=["tenure", "route"]))
    assert [len(f) for f in frames] == [100] * 10
    assert all(list(f.columns) == ["at", "route", "tenure"] for f in frames)
    whole = list(read_log(store, artifacts))
    assert sum(len(f) for f in whole) == 1000 and "plan" in whole[0].columns


def test_a_changed_batch_file_is_refused_and_a_missing_one_named(logged: Any) -> None:
    store, artifacts, file = logged
    path = Path(artifacts.path_for(file.digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="batch prediction log b1"):
        list(read_log(store, artifacts))
    path.unlink()
    with pytest.raises(ArtifactNotFound, match="batch prediction log b1"):
        list(read_log(store, artifacts))
