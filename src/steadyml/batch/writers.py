"""Writing the scored rows and the rejects: to a temporary file, renamed at the end.

``AtomicTableWriter`` writes CSV or Parquet (by the output's extension) to
``<out>.tmp-<uuid>`` beside the output and moves it into place with ``os.replace`` only when
every chunk is written. If anything fails, ``abort`` removes the temporary file: a
half-written output never appears under the final name, and an older output is left as it
was. A run that is killed cannot clean up: its temporary file stays, and the next run for the
same output removes it (``remove_stale_temp_files``), telling them apart from the file of a run
still writing by a lock the writer holds while it writes.

In CSV files, a text cell that a spreadsheet would run as a formula (it starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) is written with a single quote in front
(``'=HYPERLINK(...)``), as OWASP advises against CSV injection; numbers (``-3.5``) are left
alone, and Parquet files hold the values unchanged.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

from steadyml.errors import DataError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["AtomicTableWriter", "neutralise_formulas", "output_kind", "remove_stale_temp_files"]


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
        self._lock: int | None = None  # held while the temporary file is being written
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
        self._lock = _create_locked(self.tmp)
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
        self._unlock()

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the file releases its lock
            self._lock = None


def _create_locked(path: Path) -> int:
    """Create ``path`` and hold an exclusive lock on it while this run writes it: the lock
    tells a later run that the file is in use; the system releases it when the process ends,
    however it ends, so the file of a killed run is seen as stale."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _in_use(path: Path) -> bool:
    """True when another writer holds ``path``'s lock (a run still writing it)."""
    if fcntl is None:
        return False  # Windows: deleting an open file fails, which keeps it
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def remove_stale_temp_files(path: Path) -> list[str]:
    """Remove the temporary files an earlier run left beside ``path`` when it was stopped
    before it finished (``<name>.tmp-<12 hex digits>``, not locked by a run still writing);
    return their names."""
    pattern = re.compile(re.escape(path.name) + r"\.tmp-[0-9a-f]{12}")
    try:
        candidates = sorted(path.parent.iterdir())
    except OSError:
        return []
    removed = []
    for file in candidates:
        if not pattern.fullmatch(file.name) or file.is_symlink() or not file.is_file():
            continue
        if _in_use(file):
            continue
        try:
            file.unlink()
        except OSError:
            continue
        removed.append(file.name)
    return removed
