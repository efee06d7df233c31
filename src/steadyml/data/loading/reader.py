"""``read_table`` and ``read_table_with_notes``: a data file into a DataFrame, with clear errors.

``read_table`` is strict: a file that is not UTF-8 is refused with the byte and line where the
trouble starts. ``read_table_with_notes`` also reads Windows (cp1252) and latin-1 files, and
returns plain-words notes for everything it had to guess, so the caller can show them.
Delimited text is read by ``delimited``; Parquet here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from steadyml.data.loading.delimited import read_delimited, refuse_duplicates
from steadyml.data.loading.encoding import MAX_UNPACKED_RATIO
from steadyml.data.loading.files import existing_file, file_kind
from steadyml.data.loading.messages import first_line, quote_names
from steadyml.errors import DataError

__all__ = ["read_table", "read_table_with_notes"]


def read_table(
    path: str | Path,
    *,
    nrows: int | None = None,
    field: str | None = None,
    max_unpacked_ratio: float | None = MAX_UNPACKED_RATIO,
) -> pd.DataFrame:
    """Read a CSV/TSV/TXT (optionally gzipped) or Parquet file into a DataFrame.

    ``nrows`` reads only the first rows (``0`` reads just the column names). The file must be
    UTF-8 (a byte-order mark is fine); otherwise a ``DataError`` says where the bad byte is.
    Every problem (missing file, empty file, no rows, ragged rows, duplicate column names, a
    link that loops, a file of ``/proc``...) raises ``DataError`` with a message that says what
    to do; ``field`` names the caller's argument that gave the path (for its flag). A gzipped
    file may unpack to ``max_unpacked_ratio`` times its size on disk (at least 64 MB; None:
    no bound); past that reading stops with a ``DataError`` (a compression bomb).
    """
    frame, _notes = _read(path, nrows, False, field, max_unpacked_ratio)
    return frame


def read_table_with_notes(
    path: str | Path,
    *,
    nrows: int | None = None,
    field: str | None = None,
    max_unpacked_ratio: float | None = MAX_UNPACKED_RATIO,
) -> tuple[pd.DataFrame, list[str]]:
    """Like ``read_table``, but also accept cp1252/latin-1 files, and say what was guessed.

    Returns the frame and a list of notes in plain words, e.g. that the file was decoded as
    cp1252 or that it is separated by semicolons, not commas. An empty list means nothing
    needed guessing.
    """
    return _read(path, nrows, True, field, max_unpacked_ratio)


def _read(
    path: str | Path,
    nrows: int | None,
    legacy_encodings: bool,
    field: str | None,
    max_unpacked_ratio: float | None,
) -> tuple[pd.DataFrame, list[str]]:
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number >= 0 or None. Got {nrows!r} instead.")
    file = existing_file(Path(path), field=field)
    kind = file_kind(file, field=field)
    if file.stat().st_size == 0:
        raise DataError(
            f"'{file}' is empty (0 bytes).",
            hint="Export the data again; the file should start with a header row of column "
            "names, followed by one line per row.",
        )
    if kind == "parquet":
        frame, notes = _read_parquet(file, nrows), list[str]()
    else:
        frame, notes = read_delimited(file, nrows, legacy_encodings, max_unpacked_ratio)
    if len(frame) == 0 and nrows != 0:
        raise DataError(
            f"'{file}' has columns {quote_names(frame.columns)} but no rows.",
            hint="Add the data rows below the header (or export the table again with its rows).",
        )
    return frame, notes


def _read_parquet(file: Path, nrows: int | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
        names = list(parquet.schema_arrow.names)
        refuse_duplicates(file, names)
        if nrows is None:
            table = parquet.read()
        elif nrows == 0:
            table = parquet.schema_arrow.empty_table()
        else:
            batches = []
            for batch in parquet.iter_batches(batch_size=nrows):
                batches.append(batch)
                break
            table = (
                pa.Table.from_batches(batches, schema=parquet.schema_arrow)
                if batches
                else parquet.schema_arrow.empty_table()
            )
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"'{file}' is not a readable Parquet file ({first_line(exc)}).",
            hint="Check that the file was fully copied and really is Parquet; a CSV file "
            "should end in .csv.",
        ) from exc
    return table.to_pandas()
