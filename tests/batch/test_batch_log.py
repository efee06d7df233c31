"""The batch prediction log: one Parquet file per run in the artifact store, one store row.

Real parts: a trained project, real files, the real SQLite store and artifact store.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest

from steadyml.entities import PredictionRecord
from steadyml.monitoring.monitor import load_log
from steadyml.predlog import read_log
from steadyml.store.predfiles import KeyFilter


def test_one_file_per_run_counted_with_the_sql_log(
    write_input, batch_project, scoring_frame, tmp_path
):
    store = batch_project.store
    now = dt.datetime.now(dt.UTC)
    store.add_predictions([PredictionRecord(request_id="api-1", at=now, model_version=1,
                                            route="live", inputs={"tenure_months": 3},
                                            prediction=0, score=0.2, latency_ms=2.0)])  # fmt: skip
    for i in range(2):
        source = write_input(scoring_frame.head(40 + i), f"in{i}.csv")
        batch_project.score_batch(source, tmp_path / f"out{i}.parquet", chunk_rows=16)
    assert [f.rows for f in store.list_prediction_files()] == [40, 41]
    assert store.count_predictions() == 82
    assert store.count_predictions(route="batch") == 81
    assert store.count_predictions(route="live", answered=True) == 1
    logged = pd.concat(read_log(store), ignore_index=True)
    assert len(logged) == 82 and logged["route"].value_counts().to_dict() == {"batch": 81,
                                                                              "live": 1}  # fmt: skip
    assert str(logged["at"].dtype).startswith("datetime64") and logged["at"].dt.tz is not None


def test_monitor_reads_batch_files_by_logged_time(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(scoring_frame.head(30), "in.csv")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    batch_project.score_batch(source, tmp_path / "out.parquet")
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    store = batch_project.store
    found = load_log(store, since=before, until=after, model_version=1, time_column=None)
    assert len(found) == 30 and found["score"].notna().all()
    assert found["time"].between(pd.Timestamp(before), pd.Timestamp(after)).all()
    assert len(load_log(store, since=after, until=None, model_version=None, time_column=None)) == 0
    assert len(load_log(store, since=None, until=None, model_version=2, time_column=None)) == 0


def test_retention_deletes_old_batch_files_and_their_bytes(
    write_input, batch_project, scoring_frame, tmp_path
):
    source = write_input(scoring_frame.head(25), "in.csv")
    batch_project.score_batch(source, tmp_path / "out.parquet")
    (old,) = batch_project.store.list_prediction_files()
    path = Path(batch_project.artifacts.path_for(old.digest))
    assert path.exists()
    days = batch_project.config.monitoring.retention_days
    assert batch_project.apply_retention(now=old.at + dt.timedelta(days=days - 1)) == 0
    assert batch_project.apply_retention(now=old.at + dt.timedelta(days=days + 1)) == 25
    assert batch_project.store.list_prediction_files() == []
    assert batch_project.store.count_predictions() == 0
    assert not path.exists()


def test_a_tampered_log_file_is_refused(write_input, batch_project, scoring_frame, tmp_path):
    from steadyml.errors import IntegrityError

    source = write_input(scoring_frame.head(10), "in.csv")
    batch_project.score_batch(source, tmp_path / "out.parquet")
    (file,) = batch_project.store.list_prediction_files()
    path = Path(batch_project.artifacts.path_for(file.digest))
    path.chmod(0o644)
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(IntegrityError, match="batch prediction log"):
        list(read_log(batch_project.store))


def test_key_filter_never_misses_a_key_and_rarely_invents_one():
    keys = [f"C{i:06d}" for i in range(20_000)]
    bloom = KeyFilter(len(keys))
    for start in range(0, len(keys), 3000):
        bloom.add(keys[start : start + 3000])
    again = KeyFilter.from_bytes(bloom.to_bytes())
    assert again is not None and all(again.contains(keys))
    others = [f"X{i:06d}" for i in range(20_000)]
    assert sum(again.contains(others)) / len(others) < 0.005
    assert KeyFilter.from_bytes(b"not a filter") is None


def test_temporary_log_files_of_killed_runs_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import tempfile

    from steadyml.predlog.batchfile import remove_orphans

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = tmp_path / f"steadyml-predlog-{gone.stdout.strip()}-abc.parquet"
    mine = tmp_path / f"steadyml-predlog-{os.getpid()}-def.parquet"
    other = tmp_path / "unrelated.parquet"
    for path in (dead, mine, other):
        path.write_bytes(b"x")
    assert remove_orphans() == 1
    assert not dead.exists() and mine.exists() and other.exists()
