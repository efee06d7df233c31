"""Read a data file (CSV, TSV, delimited text or Parquet) into a DataFrame, with clear errors.

``read_table`` is strict: a file that is not UTF-8 is refused with the byte and line where the
trouble starts. ``read_table_with_notes`` also reads Windows (cp1252) and latin-1 files, and
returns plain-words notes for everything it had to guess, so the caller can show them.

Types: numbers become numbers, ``true``/``false`` become booleans, everything else stays text.
A column whose raw text has leading zeros (``"007"``, ``"02134"``) stays text, so ids and postal
codes keep their zeros. Nothing is parsed as a date here: ``steadyml.data.roles`` decides that.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import gzip
import io
import re
from collections import Counter
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pandas as pd

from steadyml.errors import DataError

__all__ = ["SUPPORTED_SUFFIXES", "file_kind", "read_table", "read_table_with_notes"]

FileKind = Literal["csv", "parquet"]

_DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": None}
_PARQUET = (".parquet", ".pq")
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".txt",
    ".csv.gz",
    ".tsv.gz",
    ".txt.gz",
    ".parquet",
    ".pq",
)
_CANDIDATE_DELIMITERS = ",;\t|"
_WHITESPACE = r"\s+"
_DELIMITER_SINGULAR = {
    ",": "comma",
    ";": "semicolon",
    "\t": "tab",
    "|": "pipe (|)",
    _WHITESPACE: "space",
}
_DELIMITER_NAMES = {
    ",": "commas",
    ";": "semicolons",
    "\t": "tabs",
    "|": "pipes (|)",
    _WHITESPACE: "spaces",
}
_SAMPLE_BYTES = 64 * 1024
_CHUNK_BYTES = 1024 * 1024
_DECIMAL_COMMA = r"^\s*[+-]?\d*,\d+\s*$|^\s*[+-]?\d+\s*$"
_BOOL_WORDS = {"true": True, "false": False}
_TOKENIZE_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_SAVE_AS_UTF8 = (
    "Open it in a spreadsheet or text editor and save it again as 'CSV UTF-8', "
    "then run the command again."
)


def file_kind(path: str | Path) -> FileKind:
    """Return ``"csv"`` for delimited text files and ``"parquet"`` for Parquet files.

    Raises ``DataError`` for any other extension, listing the supported ones.
    """
    name = Path(path).name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    stem = name.removesuffix(".gz")
    if Path(stem).suffix in _DELIMITED:
        return "csv"
    suffix = "".join(Path(name).suffixes[-2:]) if name.endswith(".gz") else Path(name).suffix
    hint = "Save the data as CSV (in a spreadsheet: File > Save As > 'CSV UTF-8') or Parquet."
    if suffix in {".xlsx", ".xls", ".xlsm", ".ods"}:
        hint = "steadyml does not read spreadsheets directly. " + hint
    raise DataError(
        f"Cannot read '{Path(path)}': files ending in '{suffix or '(no extension)'}' are not "
        f"supported. Supported: {', '.join(SUPPORTED_SUFFIXES)}.",
        hint=hint,
    )


def read_table(path: str | Path, *, nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV/TSV/TXT (optionally gzipped) or Parquet file into a DataFrame.

    ``nrows`` reads only the first rows (``0`` reads just the column names). The file must be
    UTF-8 (a byte-order mark is fine); otherwise a ``DataError`` says where the bad byte is.
    Every problem (missing file, empty file, no rows, ragged rows, duplicate column names, ...)
    raises ``DataError`` with a message that says what to do.
    """
    frame, _notes = _read(path, nrows=nrows, legacy_encodings=False)
    return frame


def read_table_with_notes(
    path: str | Path, *, nrows: int | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Like ``read_table``, but also accept cp1252/latin-1 files, and say what was guessed.

    Returns the frame and a list of notes in plain words, e.g. that the file was decoded as
    cp1252 or that it is separated by semicolons, not commas. An empty list means nothing
    needed guessing.
    """
    return _read(path, nrows=nrows, legacy_encodings=True)


# -- the reading pipeline --------------------------------------------------------------------


def _read(
    path: str | Path, *, nrows: int | None, legacy_encodings: bool
) -> tuple[pd.DataFrame, list[str]]:
    if nrows is not None and (isinstance(nrows, bool) or not isinstance(nrows, int) or nrows < 0):
        raise ValueError(f"nrows must be a whole number >= 0 or None. Got {nrows!r} instead.")
    file = _existing_file(Path(path))
    kind = file_kind(file)
    if file.stat().st_size == 0:
        raise DataError(
            f"'{file}' is empty (0 bytes).",
            hint="Export the data again; the file should start with a header row of column "
            "names, followed by one line per row.",
        )
    if kind == "parquet":
        frame, notes = _read_parquet(file, nrows), list[str]()
    else:
        frame, notes = _read_delimited(file, nrows, legacy_encodings)
    if len(frame) == 0 and nrows != 0:
        raise DataError(
            f"'{file}' has columns {_quoted(frame.columns)} but no rows.",
            hint="Add the data rows below the header (or export the table again with its rows).",
        )
    return frame, notes


def _existing_file(path: Path) -> Path:
    file = path.expanduser().absolute()
    if file.is_dir():
        raise DataError(
            f"'{file}' is a folder, not a data file.",
            hint="Give the path of a .csv or .parquet file inside it.",
        )
    if file.exists():
        return file
    folder = file.parent
    if not folder.is_dir():
        raise DataError(
            f"Data file not found: '{file}'. The folder '{folder}' does not exist.",
            hint="Check the path; relative paths start from the current folder.",
        )
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    close = difflib.get_close_matches(file.name, names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == file.name.lower() and n not in close]
    hint = (
        "Did you mean " + " or ".join(f"'{folder / n}'" for n in close) + "?"
        if close
        else "Check the spelling; relative paths start from the current folder."
    )
    raise DataError(f"Data file not found: '{file}'.", hint=hint)


def _read_parquet(file: Path, nrows: int | None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
        names = list(parquet.schema_arrow.names)
        _refuse_duplicates(file, names)
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
            f"'{file}' is not a readable Parquet file ({_first_line(exc)}).",
            hint="Check that the file was fully copied and really is Parquet; a CSV file "
            "should end in .csv.",
        ) from exc
    return table.to_pandas()


def _read_delimited(
    file: Path, nrows: int | None, legacy_encodings: bool
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    compressed = file.name.lower().endswith(".gz")
    head = _head_bytes(file, compressed)
    encoding, text = _choose_encoding(file, head, compressed, legacy_encodings, notes)
    if not text.strip():
        raise DataError(
            f"'{file}' has no header row: it contains only blank lines.",
            hint="The first line should list the column names.",
        )
    delimiter = _choose_delimiter(file, text, notes)
    header = _header_fields(text, delimiter)
    _refuse_duplicates(file, header)
    try:
        frame = pd.read_csv(
            file,
            sep=delimiter,
            dtype=str,
            encoding=encoding,
            nrows=nrows,
            compression="gzip" if compressed else None,
            keep_default_na=True,
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"'{file}' has no header row.", hint="The first line should list the column names."
        ) from exc
    except pd.errors.ParserError as exc:
        raise _parser_error(file, exc, delimiter) from exc
    except UnicodeDecodeError as exc:  # a bad byte after the first 64 KB
        raise _not_utf8(file, compressed) from exc
    if not isinstance(frame.index, pd.RangeIndex):  # rows longer than the header
        raise _longer_than_header(file, text, delimiter, header)
    unnamed = [str(c) for c, raw in zip(frame.columns, header, strict=False) if not raw.strip()]
    if unnamed:
        notes.append(
            f"{_quoted(unnamed)} in '{file.name}' had no name in the header; pandas named it. "
            "A first column like this is often a row number saved by df.to_csv() without "
            "index=False."
        )
    if all(_is_number(name) for name in header):
        notes.append(
            f"The first line of '{file.name}' holds numbers ({_quoted(header[:5])}), not "
            "column names: the file may have no header row. If so, add a first line with "
            "the column names."
        )
    if nrows is None and not compressed:
        _refuse_truncated_last_line(file, len(header), delimiter, encoding)
    return _convert_types(file, frame, delimiter, notes), notes


def _open_bytes(file: Path, compressed: bool) -> IO[bytes]:
    if compressed:
        return gzip.open(file, "rb")  # type: ignore[return-value]
    return open(file, "rb")


def _head_bytes(file: Path, compressed: bool) -> bytes:
    try:
        with _open_bytes(file, compressed) as fh:
            return fh.read(_SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"Cannot read '{file}': {_first_line(exc)}.",
            hint="Check that the file was fully copied and that you may read it.",
        ) from exc


def _choose_encoding(
    file: Path, head: bytes, compressed: bool, legacy: bool, notes: list[str]
) -> tuple[str, str]:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append(f"'{file.name}' is saved as UTF-16; it was read as such.")
        return "utf-16", head.decode("utf-16", errors="ignore")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig", text
    except UnicodeDecodeError:
        pass
    error = _not_utf8(file, compressed)
    if not legacy:
        raise error
    encoding = "cp1252" if _decodes(file, compressed, "cp1252") else "latin-1"
    label = "cp1252 (Windows Western European)" if encoding == "cp1252" else "latin-1"
    notes.append(
        f"{error.message} It was read as {label}: check that accented letters look right, "
        "or re-save the file as UTF-8."
    )
    return encoding, head.decode(encoding, errors="replace")


def _decodes(file: Path, compressed: bool, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with _open_bytes(file, compressed) as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _not_utf8(file: Path, compressed: bool) -> DataError:
    """Build the error for a non-UTF-8 file, naming the first bad byte, its offset and line."""
    offset = line = 0  # offset and line number where ``pending`` starts
    pending = b""
    with _open_bytes(file, compressed) as fh:
        while True:
            chunk = fh.read(_CHUNK_BYTES)
            data = pending + chunk
            try:
                data.decode("utf-8")
                good = len(data)
            except UnicodeDecodeError as exc:
                if chunk and exc.end == len(data):  # a character split across two reads
                    good = exc.start
                else:
                    return _not_utf8_at(
                        file,
                        data[exc.start : exc.start + 1],
                        offset + exc.start,
                        line + data.count(b"\n", 0, exc.start) + 1,
                    )
            if not chunk:
                return DataError(f"'{file}' is not valid UTF-8 text.", hint=_SAVE_AS_UTF8)
            offset += good
            line += data.count(b"\n", 0, good)
            pending = data[good:]


def _not_utf8_at(file: Path, bad: bytes, offset: int, line: int) -> DataError:
    return DataError(
        f"'{file}' is not UTF-8 text: byte 0x{bad.hex().upper()} at byte offset {offset} "
        f"(line {line}) is not valid UTF-8. The file was probably saved with a Windows or "
        "Latin-1 encoding.",
        hint=_SAVE_AS_UTF8,
    )


def _choose_delimiter(file: Path, text: str, notes: list[str]) -> str:
    """Pick the delimiter: the one the extension implies, unless the header clearly disagrees."""
    sample = text[: text.rfind("\n") + 1] or text
    header_line = sample.splitlines()[0] if sample.splitlines() else ""
    stem = file.name.lower().removesuffix(".gz")
    expected = _DELIMITED.get(Path(stem).suffix)
    if expected is not None and len(_header_fields(header_line, expected)) > 1:
        return expected
    try:
        sniffer = csv.Sniffer()
        sniffed: str | None = sniffer.sniff(sample, delimiters=_CANDIDATE_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed is None or sniffed not in header_line:
        counts = Counter(ch for ch in header_line if ch in _CANDIDATE_DELIMITERS)
        sniffed = counts.most_common(1)[0][0] if counts else None
    if sniffed is None and _whitespace_table(sample):
        sniffed = _WHITESPACE
    if sniffed is None or sniffed == expected:
        return expected or ","
    if expected is not None:
        notes.append(
            f"'{file.name}' is separated by {_DELIMITER_NAMES[sniffed]}, not "
            f"{_DELIMITER_NAMES[expected]}; it was read that way."
        )
    else:
        notes.append(
            f"'{file.name}' looks separated by {_DELIMITER_NAMES[sniffed]}; it was read that way."
        )
    return sniffed


def _whitespace_table(sample: str) -> bool:
    """True when every line splits on spaces into the same number (> 1) of values."""
    lines = [line for line in sample.splitlines() if line.strip()][:500]
    if len(lines) < 2 or any('"' in line for line in lines):
        return False
    widths = {len(line.split()) for line in lines}
    return len(widths) == 1 and widths.pop() > 1


def _rows(text: str, delimiter: str) -> list[list[str]]:
    """Split the lines of ``text`` into fields the way the file will be read."""
    if delimiter == _WHITESPACE:
        return [line.split() for line in text.splitlines() if line.strip()]
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error:
        return [line.split(delimiter) for line in text.splitlines()]


def _header_fields(text: str, delimiter: str) -> list[str]:
    if delimiter == _WHITESPACE:
        return next((line.split() for line in text.splitlines() if line.strip()), [])
    try:
        return next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        return text.splitlines()[0].split(delimiter) if text else []


def _refuse_duplicates(file: Path, names: list[str]) -> None:
    counts = Counter(name for name in names if name.strip())
    repeated = [name for name, n in counts.items() if n > 1]
    if repeated:
        hint = (
            "Rename the repeated columns in the header so every name is unique "
            "(for example 'price_2023' and 'price_2024')."
        )
        if all(_is_number(name) for name in names):
            hint = (
                "The first line holds numbers, not names: the file seems to have no header "
                "row. Add a first line with one unique name per column."
            )
        raise DataError(f"'{file}' has more than one column named {_quoted(repeated)}.", hint=hint)


def _longer_than_header(file: Path, text: str, delimiter: str, header: list[str]) -> DataError:
    sample = text[: text.rfind("\n") + 1] or text
    width = max((len(row) for row in _rows(sample, delimiter)[1:]), default=0)
    seen = f"rows with {width} values" if width else "rows with more values"
    return DataError(
        f"The header (line 1) of '{file}' names {len(header)} columns, but the file has {seen}.",
        hint="Check that the first line really is the list of column names, with one name "
        "per column, and that no row ends with an extra separator.",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parser_error(file: Path, exc: Exception, delimiter: str) -> DataError:
    text = str(exc)
    if match := _TOKENIZE_ERROR.search(text):
        expected, line, saw = match.groups()
        return DataError(
            f"'{file}' line {line} has {saw} values but the header has {expected} columns.",
            hint=f"Check that line for a {_DELIMITER_SINGULAR.get(delimiter, delimiter)} inside "
            "a value (put such values in double quotes) or a missing line break.",
        )
    if match := _EOF_IN_QUOTE.search(text):
        line = int(match.group(1)) + 1
        return DataError(
            f"'{file}' has a double quote (\") opened near line {line} that is never closed, "
            "so the rest of the file reads as one value.",
            hint="Close the quote or remove it; the file may also have been cut off.",
        )
    return DataError(
        f"Cannot parse '{file}': {_first_line(exc)}.",
        hint="Check the file near the line named above.",
    )


def _refuse_truncated_last_line(file: Path, n_columns: int, delimiter: str, encoding: str) -> None:
    """Refuse a file whose last line has fewer values than the line before it (cut off)."""
    if n_columns < 2 or encoding == "utf-16":
        return
    size = file.stat().st_size
    with open(file, "rb") as fh:
        fh.seek(max(size - _SAMPLE_BYTES, 0))
        tail = fh.read().decode(encoding, errors="replace")
    lines = [ln for ln in tail.rstrip("\r\n").split("\n") if ln.strip()]
    if len(lines) < 2 or '"' in lines[-1] or '"' in lines[-2]:
        return
    last, before = (len(_header_fields(ln, delimiter)) for ln in lines[-2:][::-1])
    if last < n_columns <= before:
        n_lines = _count_lines(file)
        raise DataError(
            f"The last line of '{file}' (line {n_lines}) has {last} of {n_columns} values: "
            "the file looks cut off.",
            hint="Copy or export the file again (it may still have been writing), or delete "
            "that last line if it is not needed.",
        )


def _count_lines(file: Path) -> int:
    count = 0
    last = b"\n"
    with open(file, "rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


# -- types -------------------------------------------------------------------------------------


def _convert_types(
    file: Path, frame: pd.DataFrame, delimiter: str, notes: list[str]
) -> pd.DataFrame:
    converted: dict[str, pd.Series] = {}
    decimal_comma: list[str] = []
    for name in frame.columns:
        column = frame[name]
        values = column.dropna()
        if values.empty:
            converted[name] = column
            continue
        new = _as_number(column, values)
        if new is None and delimiter == ";":
            new = _as_decimal_comma(column, values)
            if new is not None:
                decimal_comma.append(name)
        if new is None:
            new = _as_bool(column, values)
        converted[name] = column if new is None else new
    if decimal_comma:
        notes.append(
            f"{'Column' if len(decimal_comma) == 1 else 'Columns'} {_quoted(decimal_comma)} in "
            f"'{file.name}' {'uses' if len(decimal_comma) == 1 else 'use'} a decimal comma "
            "(3,5); read as numbers."
        )
    return pd.DataFrame(converted, index=frame.index, columns=frame.columns)


def _as_number(column: pd.Series, values: pd.Series) -> pd.Series | None:
    sample = values.iloc[:200]
    if pd.to_numeric(sample, errors="coerce").isna().any():
        return None
    numbers = pd.to_numeric(column, errors="coerce")
    if numbers.isna().sum() != column.isna().sum():
        return None
    if _has_leading_zero(values):
        return None  # "007", "02134": codes, keep the text
    return numbers


def _has_leading_zero(values: pd.Series) -> bool:
    """True when some value is written like "007" or "-01" (but not "0" or "0.5")."""
    stripped = values.str.lstrip(" +-")
    zeros = stripped[stripped.str.startswith("0")]
    return bool(zeros.str.slice(1, 2).str.isdigit().any())


def _as_decimal_comma(column: pd.Series, values: pd.Series) -> pd.Series | None:
    if not values.str.contains(",", regex=False).any():
        return None
    if not values.str.match(_DECIMAL_COMMA).all() or _has_leading_zero(values):
        return None
    return pd.to_numeric(column.str.replace(",", ".", regex=False), errors="coerce")


def _as_bool(column: pd.Series, values: pd.Series) -> pd.Series | None:
    lowered = values.str.strip().str.lower()
    if not lowered.isin(list(_BOOL_WORDS)).all():
        return None
    mapped = column.str.strip().str.lower().map(_BOOL_WORDS)
    if column.isna().any():
        return mapped.astype(object).where(column.notna(), np.nan)
    return mapped.astype(bool)


def _quoted(names: object) -> str:
    items = [str(n) for n in names]  # type: ignore[attr-defined]
    shown = ", ".join(f"'{n}'" for n in items[:20])
    return shown + (f" and {len(items) - 20} more" if len(items) > 20 else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
