"""The Dask engine (a real LocalCluster) gives the same output as the pandas engine."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("distributed")


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_dask_and_pandas_give_the_same_output(
    write_input, batch_project, scoring_frame, tmp_path, kind
):
    frame = scoring_frame.head(1500).astype(str)
    frame.loc[4, "email"] = "two\nlines"  # a quoted newline: line numbers must still agree
    frame.loc[900, "tenure_months"] = "abc"
    source = write_input(frame, f"in.{kind}", row_group_size=400)
    a = batch_project.score_batch(source, tmp_path / "a.parquet", chunk_rows=400, log=False)
    b = batch_project.score_batch(
        source, tmp_path / "b.parquet", chunk_rows=400, engine="dask", log=False
    )
    assert (a.rows_in, a.rows_scored, a.rows_rejected) == (
        b.rows_in,
        b.rows_scored,
        b.rows_rejected,
    )
    assert b.engine == "dask" and b.rows_rejected == 1
    left = pd.read_parquet(tmp_path / "a.parquet").drop(columns="scored_at")
    right = pd.read_parquet(tmp_path / "b.parquet").drop(columns="scored_at")
    pd.testing.assert_frame_equal(left, right)
    assert right["_row"].is_monotonic_increasing
    ra = pd.read_csv(tmp_path / "a.rejects.csv", dtype=str)
    rb = pd.read_csv(tmp_path / "b.rejects.csv", dtype=str)
    pd.testing.assert_frame_equal(ra, rb)
