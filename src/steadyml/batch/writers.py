"""Writing the scored rows and the rejects: to a temporary file, renamed at the end.

``AtomicTableWriter`` writes CSV or Parquet (by the output's extension) to
``<out>.tmp-<uuid>`` beside the output and moves it into place with ``os.replace`` only when
every chunk is written. If anything fails, ``abort`` removes the temporary file: a
half-written output never appears under the final name, and an older output is left as it
was.

In CSV files, a text cell that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a single quote in front
(``'=HYPERLINK(...)``), as OWASP advises against CSV injection; numbers (``-3.5``) are left
alone, and Parquet files hold the values unchanged.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from steadyml.errors import DataError

__all__ = ["AtomicTableWriter", "neutralise_formulas", "output_kind"]


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP: CSV injection)
_FORMULA_START = r"^[=+\-@\t\r]"
# ... but a number (-3.5, +1e3, -inf) is a number, not a formula: it stays as it is
_NUMBER = r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|infinity|nan))$"


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Text cells that a spreadsheet would run as a formula (starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return), prefixed with a single quote, as OWASP advises
    for CSV files; numbers such as ``-3.5`` and non-text columns are left as they are."""
    import pyarrow.compute as pc

    columns = list(table.columns)
    changed = False
    for i, column in enumerate(columns):
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        risky = pc.match_substring_regex(column, _FORMULA_START)
        if not pc.any(risky).as_py():
            continue
        risky = pc.and_kleene(risky, pc.invert(pc.match_substring_regex(column, _NUMBER)))
        quoted = pc.binary_join_element_wise("'", column, "")
        columns[i] = pc.if_else(risky, quoted, column)
        changed = True
    return pa.table(columns, schema=table.schema) if changed else table


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
        if self.kind == "csv":
            table = neutralise_formulas(table)
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
