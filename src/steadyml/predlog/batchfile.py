"""Batch runs do not insert one SQL row per prediction: ``BatchLogFile`` writes a run's log rows
(the log's columns, with each logged input as a column of its own type) to a Parquet file,
puts it in the artifact store and records one ``prediction_files`` row.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from steadyml.errors import StoreError

if TYPE_CHECKING:
    import pyarrow as pa

    from steadyml.artifacts import ArtifactStore
    from steadyml.store import Store
    from steadyml.store.predfiles import PredictionFile

__all__ = ["META_COLUMNS", "BatchLogFile", "log_schema", "remove_orphans"]

_PREFIX = "steadyml-predlog-"


def remove_orphans() -> int:
    """Remove the temporary log files of batch runs whose process is gone (killed before it
    could clean up: SIGKILL, a power cut). Returns how many were removed."""
    removed = 0
    folder = tempfile.gettempdir()
    try:
        names = [n for n in os.listdir(folder) if n.startswith(_PREFIX)]
    except OSError:
        return 0
    for name in names:
        pid_text = name[len(_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


# the columns of a batch log file, before one column per logged input
META_COLUMNS = ("request_id", "row_key", "at", "model_version", "route", "prediction", "score",
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
    fields += [pa.field(name, t) for name, t in inputs.items() if name not in META_COLUMNS]
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
        remove_orphans()
        fd, name = tempfile.mkstemp(prefix=f"{_PREFIX}{os.getpid()}-", suffix=".parquet")
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
