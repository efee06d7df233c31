"""The prediction log: the writer for API traffic, the file writer for batch runs, the reader.

The API and batch scoring hand it records and return at once; the thread writes them to the
metadata store in groups (every ``flush_ms`` or ``max_batch`` records), off the request path.
``close()`` drains the queue, so nothing logged is lost on a normal stop (SIGTERM included:
uvicorn runs the app's shutdown, which closes the writer).

Personal data never reaches the log raw: ``scrub`` removes the ``pii`` columns, or replaces
them with a keyed hash (HMAC-SHA256 with a per-project secret) so rows can still be joined
without revealing the value.

Batch runs do not insert one SQL row per prediction: ``BatchLogFile`` writes a run's log rows
(the same columns, with each logged input as a column of its own type) to a Parquet file, puts
it in the artifact store and records one ``prediction_files`` row. ``read_log`` gives the
monitor both kinds, in chunks: the SQL log and every batch file logged in the period.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import hmac
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from steadyml.entities import PredictionRecord
from steadyml.errors import StoreError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from steadyml.artifacts import ArtifactStore
    from steadyml.store import Store
    from steadyml.store.predfiles import PredictionFile

__all__ = [
    "BatchLogFile",
    "PredictionLogWriter",
    "delete_batch_logs_before",
    "log_schema",
    "read_log",
    "scrub",
]


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def hmac_values(values: Iterable[Any], key: str) -> list[str | None]:
    """``scrub``'s keyed hash of many values at once (None stays None)."""
    base = hmac.new(key.encode(), digestmod=hashlib.sha256)
    out: list[str | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        h = base.copy()
        h.update(str(value).encode())
        out.append(f"hmac:{h.hexdigest()[:32]}")
    return out


def scrub(
    inputs: Mapping[str, Any], pii: Iterable[str], *, mode: str = "remove", key: str = ""
) -> dict[str, Any]:
    """The inputs as the log may keep them: personal data removed or keyed-hashed."""
    pii_set = set(pii)
    out: dict[str, Any] = {}
    for col, value in inputs.items():
        if col in pii_set:
            if mode == "hash" and value is not None:
                digest = hmac.new(key.encode(), str(value).encode(), hashlib.sha256).hexdigest()
                out[col] = f"hmac:{digest[:32]}"
            continue
        out[col] = _json_value(value)
    return out


class PredictionLogWriter:
    """Batches prediction records into the store from one background thread.

    Callers append to a deque (no lock, no wake-up); the thread wakes every ``flush_ms``,
    or at once when ``max_batch`` items wait, and writes everything queued in one insert.
    Waking the thread for every request (a ``queue.Queue`` with a blocking ``get``) made it
    fight the event loop for the GIL thousands of times a second: measured, that cost a
    third of the service's throughput, far more than the writing itself.
    """

    def __init__(
        self,
        write: Callable[[Sequence[PredictionRecord]], Any],
        *,
        flush_ms: float = 200.0,
        max_batch: int = 2000,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._write = write
        self._flush_s = flush_ms / 1000
        self._max_batch = max_batch
        self._on_error = on_error
        self._items: collections.deque[
            tuple[PredictionRecord | Callable[[], Iterable[PredictionRecord]], int]
        ] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        # rows queued (written only by callers) and rows taken (only by the writer thread):
        # each counter has one writer, so their difference is safe to read anywhere
        self._queued_rows = 0
        self._taken_rows = 0
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="steadyml-predlog", daemon=True)
            self._thread.start()

    def log(self, records: Iterable[PredictionRecord]) -> None:
        records = list(records)
        self._items.extend((r, 1) for r in records)
        self._queued_rows += len(records)
        if len(self._items) >= self._max_batch:
            self._wake.set()

    def log_later(self, build: Callable[[], Iterable[PredictionRecord]], rows: int = 1) -> None:
        """Queue a function that builds ``rows`` records; it runs on the writer thread, so the
        caller (the event loop) does not pay for scrubbing and serialising."""
        self._items.append((build, rows))
        self._queued_rows += rows
        if len(self._items) >= self._max_batch:
            self._wake.set()

    def pending(self) -> int:
        """Rows queued and not yet taken by the writer (an estimate while it works)."""
        return max(self._queued_rows - self._taken_rows, 0)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_s)
            self._wake.clear()
            stopping = self._stopping
            self._drain()
            if stopping:
                self._drain()  # anything that raced in with the stop
                return

    def _drain(self) -> None:
        batch: list[PredictionRecord] = []
        items = self._items
        while items:
            try:
                item, rows = items.popleft()
            except IndexError:  # pragma: no cover - emptied between the check and the pop
                break
            self._take(item, batch)
            self._taken_rows += rows
            if len(batch) >= self._max_batch:
                self._flush(batch)
                batch = []
        if batch:
            self._flush(batch)

    def _take(
        self,
        item: PredictionRecord | Callable[[], Iterable[PredictionRecord]],
        batch: list[PredictionRecord],
    ) -> None:
        if isinstance(item, PredictionRecord):
            batch.append(item)
            return
        try:
            batch.extend(item())
        except Exception as exc:  # a record that cannot be built is reported, not fatal
            self.failed += 1
            if self._on_error is not None:
                self._on_error(exc)

    def _flush(self, batch: list[PredictionRecord]) -> None:
        for attempt in range(3):
            try:
                self._write(batch)
                self.written += len(batch)
                return
            except Exception as exc:  # keep serving; report and retry
                if attempt == 2:
                    self.failed += len(batch)
                    if self._on_error is not None:
                        self._on_error(exc)
                    return
                time.sleep(0.2 * (attempt + 1))


# --- batch runs: one Parquet file per run ----------------------------------------------------

# the columns of a batch log file, before one column per logged input
_META_COLUMNS = ("request_id", "row_key", "at", "model_version", "route", "prediction", "score",
                 "latency_ms", "fallback", "error")  # fmt: skip


def log_schema(prediction: pa.DataType, inputs: Mapping[str, pa.DataType]) -> pa.Schema:
    """The schema of a batch log file: the log's columns, then the inputs in their types."""
    import pyarrow as pa

    fields = [
        pa.field("request_id", pa.string()),
        pa.field("row_key", pa.string()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        pa.field("model_version", pa.int64()),
        pa.field("route", pa.string()),
        pa.field("prediction", prediction),
        pa.field("score", pa.float64()),
        pa.field("latency_ms", pa.float64()),
        pa.field("fallback", pa.bool_()),
        pa.field("error", pa.string()),
    ]
    fields += [pa.field(name, t) for name, t in inputs.items() if name not in _META_COLUMNS]
    return pa.schema(fields)


class BatchLogFile:
    """A batch run's prediction log: Arrow tables appended to a temporary Parquet file;
    ``commit`` puts the file in the artifact store and records one ``prediction_files`` row.

    Until ``record`` the run has logged nothing as far as anyone can see; ``abort`` (any
    failure) removes the temporary file and records nothing.
    """

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        *,
        batch_id: str,
        at: dt.datetime,
        model_version: int | None,
        schema: pa.Schema,
        expected_rows: int,
        route: str = "batch",
    ) -> None:
        from steadyml.store.predfiles import KeyFilter

        self.store = store
        self.artifacts = artifacts
        self.batch_id = batch_id
        self.at = at
        self.model_version = model_version
        self.schema = schema
        self.route = route
        self.rows = 0
        self.refused = 0
        self.keys = KeyFilter(expected_rows)
        fd, name = tempfile.mkstemp(prefix="steadyml-predlog-", suffix=".parquet")
        os.close(fd)
        self.tmp = name
        self._writer: Any = None
        self._digest: str | None = None

    def write(self, table: pa.Table) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        if table.num_rows == 0:
            return
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="snappy")
        self._writer.write_table(table)
        self.rows += table.num_rows
        self.refused += table.num_rows - table.column("error").null_count
        keys = pc.drop_null(table.column("row_key"))
        if len(keys):
            self.keys.add(keys.to_numpy())

    def upload(self) -> str:
        """Close the file and put it in the artifact store; returns its digest."""
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.tmp, self.schema)
        self._writer.close()
        self._writer = None
        self._digest = self.artifacts.put_file(self.tmp)
        self._remove_tmp()
        return self._digest

    def record(self) -> PredictionFile:
        """Record the uploaded file: from now on its rows count as logged."""
        if self._digest is None:
            raise StoreError("The batch prediction log was not uploaded before recording.")
        return self.store.add_prediction_file(
            batch_id=self.batch_id,
            digest=self._digest,
            artifacts_url=self.artifacts.url,
            rows=self.rows,
            rows_refused=self.refused,
            at=self.at,
            model_version=self.model_version,
            route=self.route,
            key_filter=self.keys.to_bytes() if self.rows else None,
        )

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._remove_tmp()

    def _remove_tmp(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


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
    column per logged input; ``at`` is a UTC timestamp. First the SQL log (API traffic, older
    batch runs), then every batch file logged in the period, read a batch of rows at a time:
    the whole log is never built twice here.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from steadyml.artifacts import ArtifactStore
    from steadyml.store.monitoring import LOG_COLUMNS

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
        where = artifacts
        if where is None:
            where = opened.get(file.artifacts_url) or ArtifactStore(file.artifacts_url)
            opened[file.artifacts_url] = where
        data = where.get_bytes(file.digest, what=f"batch prediction log {file.batch_id}")
        parquet = pq.ParquetFile(pa.BufferReader(data))
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            yield frame[[*meta_columns, *(c for c in frame.columns if c not in meta_columns)]]
        del parquet, data


def delete_batch_logs_before(store: Store, artifacts: ArtifactStore, cutoff: dt.datetime) -> int:
    """Retention for batch runs: forget the files logged before ``cutoff`` and remove their
    bytes (when no other record points at them). Returns how many predictions they held."""
    old = store.list_prediction_files(until=cutoff)
    deleted = store.delete_prediction_files([f.id for f in old])
    for digest in {f.digest for f in old}:
        if store.prediction_file_digest_used(digest):
            continue
        with contextlib.suppress(FileNotFoundError):
            artifacts.fs.rm(artifacts.path_for(digest))
    return deleted
