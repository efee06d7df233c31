"""Reading the prediction log back: the SQL rows, batch runs' files and the API's chunks."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from steadyml.artifacts import ArtifactStore
    from steadyml.store import Store

__all__ = [
    "REPAIRED",
    "LogPart",
    "delete_batch_logs_before",
    "log_parts",
    "read_log",
    "read_part",
    "repair_text",
    "split_file",
]

# a column the SQL log's frames carry when some of their text could not be read as it was
# stored (a lone surrogate, which no UTF-8 text holds): True on those rows, whose bad
# characters are written as backslash escapes; absent when every row was fine
REPAIRED = "_text_repaired"


@dataclass(frozen=True)
class LogPart:
    """A part of the log that can be read on its own (by another process too): the SQL log,
    one batch run's file (``row_groups``: some of its row groups, its hash already checked),
    or some of the API's chunks (``chunk_ids``)."""

    kind: str  # "sql", "file" or "chunks"
    artifacts_url: str = ""
    digest: str = ""
    batch_id: str = ""
    row_groups: tuple[int, ...] | None = None
    chunk_ids: tuple[int, ...] = ()


def read_log(
    store: Store,
    artifacts: ArtifactStore | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
    chunk_rows: int = 50_000,
    columns: Collection[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The prediction log between ``since`` (inclusive) and ``until`` (exclusive), in chunks.

    Each chunk is a frame with the columns of ``LOG_COLUMNS`` except ``inputs``, and one
    column per logged input; ``at`` is a UTC timestamp. First the SQL log (quiet API traffic,
    refused records, older batch runs), then every batch file and API chunk logged in the
    period, read a batch of rows at a time: the whole log is never built twice here.

    ``columns``: only these columns (those the log has; ``at`` always), so a reader that
    needs a few of them does not turn every logged input into Python objects. A batch run's
    file is checked against its digest first and then read a batch of rows at a time, so
    memory holds one batch of it, not the file.
    """
    for part in log_parts(store, since=since, until=until, model_version=model_version):
        yield from read_part(part, store, artifacts, since=since, until=until,
                             model_version=model_version, chunk_rows=chunk_rows,
                             columns=columns)  # fmt: skip


def log_parts(
    store: Store,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
) -> list[LogPart]:
    """The parts ``read_log`` reads, in its order: the SQL log, each batch file, the API's
    chunks 200 at a time."""
    files = store.list_prediction_files(since=since, until=until, model_version=model_version)
    parts = [LogPart("sql")]
    parts += [LogPart("file", f.artifacts_url, f.digest, f.batch_id) for f in files if not f.inline]
    chunk_ids = [f.id for f in files if f.inline]
    parts += [LogPart("chunks", chunk_ids=tuple(chunk_ids[i : i + 200]))
              for i in range(0, len(chunk_ids), 200)]  # fmt: skip
    return parts


def split_file(part: LogPart, artifacts: ArtifactStore | None = None) -> list[LogPart]:
    """A batch file's part as one part per row group, once its hash has been checked here."""
    import dataclasses

    import pyarrow.parquet as pq

    from steadyml.artifacts import ArtifactStore

    where = artifacts or ArtifactStore(part.artifacts_url)
    with _verified(where, part.digest, f"batch prediction log {part.batch_id}") as handle:
        groups = pq.ParquetFile(handle).num_row_groups
    return [dataclasses.replace(part, row_groups=(g,)) for g in range(groups)]


def read_part(
    part: LogPart,
    store: Store,
    artifacts: ArtifactStore | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    model_version: int | None = None,
    chunk_rows: int = 50_000,
    columns: Collection[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """One part of the log (``log_parts``) as ``read_log`` reads it."""
    import pandas as pd
    import pyarrow.parquet as pq

    from steadyml.artifacts import ArtifactStore
    from steadyml.store.monitoring import LOG_COLUMNS
    from steadyml.store.predfiles import read_table

    meta_columns = [c for c in LOG_COLUMNS if c != "inputs"]
    wanted = None if columns is None else {"at", *columns}
    if part.kind == "sql":
        for rows in store.prediction_log(since=since, until=until, model_version=model_version,
                                         chunk_rows=chunk_rows):  # fmt: skip
            rows, repaired = _readable(rows)
            meta = pd.DataFrame.from_records(rows, columns=list(LOG_COLUMNS))
            inputs = pd.DataFrame.from_records(list(meta.pop("inputs")), index=meta.index)
            inputs = inputs.drop(columns=[c for c in inputs.columns if c in meta.columns])
            meta["at"] = pd.to_datetime(meta["at"], utc=True)
            frame = pd.concat([meta, inputs], axis=1)
            if repaired:
                frame[REPAIRED] = frame.index.isin(repaired)
            yield frame if wanted is None else frame[[c for c in frame.columns if c in wanted]]
        return

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        first = [c for c in meta_columns if c in frame.columns]
        return frame[[*first, *(c for c in frame.columns if c not in meta_columns)]]

    def inside(frame: pd.DataFrame) -> pd.DataFrame:
        """Only the rows logged in the period (an API chunk may straddle its edges)."""
        keep = pd.Series(True, index=frame.index)
        if since is not None:
            keep &= frame["at"] >= pd.Timestamp(since)
        if until is not None:
            keep &= frame["at"] < pd.Timestamp(until)
        return frame if bool(keep.all()) else frame[keep]

    if part.kind == "file":  # a batch run: one Parquet file
        where = artifacts or ArtifactStore(part.artifacts_url)
        what = f"batch prediction log {part.batch_id}"
        handle = (
            _verified(where, part.digest, what)
            if part.row_groups is None
            else where.fs.open(where.path_for(part.digest), "rb")  # checked by split_file
        )
        with handle:
            parquet = pq.ParquetFile(handle)
            names = parquet.schema_arrow.names
            chosen = None if wanted is None else [c for c in names if c in wanted]
            batches = parquet.iter_batches(batch_size=chunk_rows, columns=chosen,
                                           row_groups=part.row_groups)  # fmt: skip
            for batch in batches:
                yield ordered(inside(batch.to_pandas()))
        return
    # API chunks: joined into frames of about ``chunk_rows`` rows (a busy day is tens of
    # thousands of one-second chunks)
    tables: list[pa.Table] = []
    held = 0
    found = store.prediction_chunks_data(list(part.chunk_ids))
    for file_id in part.chunk_ids:
        if file_id not in found:
            continue  # removed by retention meanwhile
        table = read_table(found.pop(file_id))
        if wanted is not None:
            table = table.select([c for c in table.column_names if c in wanted])
        tables.append(table)
        held += table.num_rows
        if held >= chunk_rows:
            yield from _frames(tables, ordered, inside)
            tables, held = [], 0
    if tables:
        yield from _frames(tables, ordered, inside)


def _verified(artifacts: ArtifactStore, digest: str, what: str) -> Any:
    """The stored file ``digest``, open for reading once its bytes hash to it (read in pieces,
    never held whole). A missing or changed file fails as ``ArtifactStore.get_bytes`` does."""
    path = artifacts.path_for(digest)
    hasher = hashlib.sha256()
    try:
        with artifacts.fs.open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                hasher.update(block)
    except FileNotFoundError:
        artifacts.get_bytes(digest, what=what)  # raises ArtifactNotFound, with its hint
        raise
    if hasher.hexdigest() != digest.removeprefix("sha256:").lower():
        artifacts.get_bytes(digest, what=what)  # raises IntegrityError, with its hint
    return artifacts.fs.open(path, "rb")


def repair_text(value: str) -> str:
    """``value`` with every character UTF-8 cannot hold (a lone surrogate) as a backslash
    escape: ``"a\\ud800"`` (one bad character) becomes ``"a\\\\ud800"`` (seven good ones)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _readable(rows: list[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[int]]:
    """The SQL log's rows with text that UTF-8 cannot hold repaired (``repair_text``; in the
    logged inputs too), and the positions of the rows that needed it.

    SQLite keeps whatever text it was given, so a lone surrogate sent in a JSON body (``"\\ud800"``
    is valid JSON) comes back as it went in; pandas' and Arrow's strings refuse it.
    """
    repaired: list[int] = []
    out = rows
    for i, row in enumerate(rows):
        if all(_clean(v) for v in row):
            continue
        if out is rows:
            out = list(rows)
        out[i] = tuple(_repaired(v) for v in row)
        repaired.append(i)
    return out, repaired


def _clean(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_clean(k) and _clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_clean(v) for v in value)
    return True


def _repaired(value: Any) -> Any:
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, dict):
        return {_repaired(k): _repaired(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_repaired(v) for v in value]
    return value


def _frames(tables: list[pa.Table], ordered: Any, inside: Any) -> Iterator[pd.DataFrame]:
    """The tables as one frame, or one frame each when their columns cannot be joined."""
    import pyarrow as pa

    try:
        joined = [pa.concat_tables(tables, promote_options="permissive")]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        joined = tables
    for table in joined:
        yield ordered(inside(table.to_pandas()))


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
