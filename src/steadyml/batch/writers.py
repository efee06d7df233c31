"""Writing the scored rows and the rejects: to a temporary file, renamed at the end.

``AtomicTableWriter`` writes CSV or Parquet (by the output's extension) to
``<out>.tmp-<uuid>`` beside the output and moves it into place with ``os.replace`` only when
every chunk is written. If anything fails, ``abort`` removes the temporary file: a
half-written output never appears under the final name, and an older output is left as it
was.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from steadyml.errors import DataError

__all__ = ["AtomicTableWriter", "output_kind"]


def output_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith(".csv"):
        return "csv"
    raise DataError(
        f"Cannot write '{path.name}': the output must end in .csv or .parquet.",
        hint="For example scores.parquet (smaller and faster) or scores.csv.",
        field="out",
    )


class AtomicTableWriter:
    """Appends Arrow tables to a temporary file; ``commit`` renames it into place."""

    def __init__(self, path: Path, *, kind: str | None = None, field: str = "out") -> None:
        """``field``: the argument that named ``path`` (``out`` or ``rejects``), for errors."""
        self.path = path
        self.kind = kind or output_kind(path)
        if not path.parent.is_dir():
            raise DataError(
                f"Cannot write '{path}': the folder '{path.parent}' does not exist.",
                hint="Create the folder first, or choose another path.",
                field=field,
            )
        self.tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:12]}")
        self._writer: Any = None
        self._schema: pa.Schema | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._schema is None:
            self._schema = table.schema
            self._open(table.schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def _open(self, schema: pa.Schema) -> None:
        if self.kind == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.tmp, schema)
        else:
            import pyarrow.csv as pacsv

            self._writer = pacsv.CSVWriter(self.tmp, schema)

    def commit(self, empty_schema: pa.Schema | None = None) -> None:
        if self._writer is None:
            self._open(empty_schema if empty_schema is not None else pa.schema([]))
        self._writer.close()
        self._writer = None
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()
