"""Reading the prediction log back: the SQL rows, batch runs' files and the API's chunks."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.store import Store

__all__ = ["delete_batch_logs_before", "read_log"]


def read_log(
    store: Store,
    artifacts: ArtifactStore | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
    chunk_rows: int = 50_000,
) -> Iterator[pd.DataFrame]:
    """The prediction log between ``since`` (inclusive) and ``until`` (exclusive), in chunks.

    Each chunk is a frame with the columns of ``LOG_COLUMNS`` except ``inputs``, and one
    column per logged input; ``at`` is a UTC timestamp. First the SQL log (quiet API traffic,
    refused records, older batch runs), then every batch file and API chunk logged in the
    period, read a batch of rows at a time: the whole log is never built twice here.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from steadyml.artifacts import ArtifactStore
    from steadyml.store.monitoring import LOG_COLUMNS
    from steadyml.store.predfiles import read_table

    meta_columns = [c for c in LOG_COLUMNS if c != "inputs"]
    opened: dict[str, ArtifactStore] = {}
    for rows in store.prediction_log(since=since, until=until, model_version=model_version,
                                     chunk_rows=chunk_rows):  # fmt: skip
        meta = pd.DataFrame.from_records(rows, columns=list(LOG_COLUMNS))
        inputs = pd.DataFrame.from_records(list(meta.pop("inputs")), index=meta.index)
        inputs = inputs.drop(columns=[c for c in inputs.columns if c in meta.columns])
        meta["at"] = pd.to_datetime(meta["at"], utc=True)
        yield pd.concat([meta, inputs], axis=1)
    for file in store.list_prediction_files(since=since, until=until, model_version=model_version):
        if file.inline:
            data = store.prediction_chunk_data(file.id)
        else:
            where = artifacts
            if where is None:
                where = opened.get(file.artifacts_url) or ArtifactStore(file.artifacts_url)
                opened[file.artifacts_url] = where
            data = where.get_bytes(file.digest, what=f"batch prediction log {file.batch_id}")
        # an API chunk may straddle the period's edges: keep only its rows inside
        straddles = (since is not None and file.at < since) or (
            until is not None and file.ends >= until
        )
        if file.inline:  # an API chunk: small, read whole
            batches = read_table(data).to_batches(max_chunksize=chunk_rows)
        else:
            batches = pq.ParquetFile(pa.BufferReader(data)).iter_batches(batch_size=chunk_rows)
        for batch in batches:
            frame = batch.to_pandas()
            if straddles:
                keep = pd.Series(True, index=frame.index)
                if since is not None:
                    keep &= frame["at"] >= pd.Timestamp(since)
                if until is not None:
                    keep &= frame["at"] < pd.Timestamp(until)
                frame = frame[keep]
            yield frame[[*meta_columns, *(c for c in frame.columns if c not in meta_columns)]]
        del batches, data


def delete_batch_logs_before(store: Store, artifacts: ArtifactStore, cutoff: dt.datetime) -> int:
    """Retention for batch runs and API chunks: forget those whose rows were all logged before
    ``cutoff`` and remove a batch file's bytes (when no other record points at them). Returns
    how many predictions they held."""
    old = store.list_prediction_files(ended_before=cutoff)
    deleted = store.delete_prediction_files([f.id for f in old])
    for digest in {f.digest for f in old if not f.inline}:
        if store.prediction_file_digest_used(digest):
            continue
        with contextlib.suppress(FileNotFoundError):
            artifacts.fs.rm(artifacts.path_for(digest))
    return deleted
