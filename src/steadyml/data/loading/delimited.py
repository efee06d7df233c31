"""Reading a delimited text file (CSV, TSV, semicolons, pipes, spaces; optionally gzipped).

The delimiter is the one the extension implies unless the header clearly says otherwise; the
file is read as text with pandas, then typed (``conversion``). Every way a file can be broken
gets a ``DataError`` that names the line: no header, repeated column names, a row with more
values than the header, a quote never closed, a last line cut off.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd

from steadyml.data.loading.conversion import convert_types
from steadyml.data.loading.encoding import (
    MAX_UNPACKED_RATIO,
    SAMPLE_BYTES,
    choose_encoding,
    head_bytes,
    not_utf8,
    open_data,
)
from steadyml.data.loading.files import DELIMITER_BY_SUFFIX
from steadyml.data.loading.messages import first_line, quote_names
from steadyml.errors import DataError

__all__ = ["is_number", "read_delimited", "refuse_duplicates"]

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
_CHUNK_BYTES = 1024 * 1024
_TOKENIZE_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def read_delimited(
    file: Path,
    nrows: int | None,
    legacy_encodings: bool,
    max_unpacked_ratio: float | None = MAX_UNPACKED_RATIO,
) -> tuple[pd.DataFrame, list[str]]:
    """The file's rows, typed, and notes on what was guessed (encoding, delimiter, header);
    a gzipped file unpacks to at most ``max_unpacked_ratio`` times its size (None: no bound)."""
    notes: list[str] = []
    ratio = max_unpacked_ratio
    compressed = file.name.lower().endswith(".gz")
    head = head_bytes(file, compressed, ratio)
    encoding, text = choose_encoding(file, head, compressed, legacy_encodings, notes, ratio)
    if not text.strip():
        raise DataError(
            f"'{file}' has no header row: it contains only blank lines.",
            hint="The first line should list the column names.",
        )
    delimiter = _choose_delimiter(file, text, notes)
    header = _header_fields(text, delimiter)
    refuse_duplicates(file, header)
    source = open_data(file, compressed, ratio) if compressed else None  # bounded unpacking
    try:
        frame = pd.read_csv(
            source if source is not None else file,
            sep=delimiter,
            dtype=str,
            encoding=encoding,
            nrows=nrows,
            keep_default_na=True,
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"'{file}' has no header row.", hint="The first line should list the column names."
        ) from exc
    except pd.errors.ParserError as exc:
        raise _parser_error(file, exc, delimiter) from exc
    except UnicodeDecodeError as exc:  # a bad byte after the first 64 KB
        raise not_utf8(file, compressed, ratio) from exc
    finally:
        if source is not None:
            source.close()
    if not isinstance(frame.index, pd.RangeIndex):  # rows longer than the header
        raise _longer_than_header(file, text, delimiter, header)
    unnamed = [str(c) for c, raw in zip(frame.columns, header, strict=False) if not raw.strip()]
    if unnamed:
        notes.append(
            f"{quote_names(unnamed)} in '{file.name}' had no name in the header; pandas named "
            "it. A first column like this is often a row number saved by df.to_csv() without "
            "index=False."
        )
    if all(is_number(name) for name in header):
        notes.append(
            f"The first line of '{file.name}' holds numbers ({quote_names(header[:5])}), not "
            "column names: the file may have no header row. If so, add a first line with "
            "the column names."
        )
    if nrows is None and not compressed:
        _refuse_truncated_last_line(file, len(header), delimiter, encoding)
    return convert_types(file, frame, delimiter, notes), notes


def refuse_duplicates(file: Path, names: list[str]) -> None:
    """``DataError`` when a column name repeats (a header of numbers: no header at all)."""
    counts = Counter(name for name in names if name.strip())
    repeated = [name for name, n in counts.items() if n > 1]
    if repeated:
        hint = (
            "Rename the repeated columns in the header so every name is unique "
            "(for example 'price_2023' and 'price_2024')."
        )
        if all(is_number(name) for name in names):
            hint = (
                "The first line holds numbers, not names: the file seems to have no header "
                "row. Add a first line with one unique name per column."
            )
        raise DataError(
            f"'{file}' has more than one column named {quote_names(repeated)}.", hint=hint
        )


def is_number(text: str) -> bool:
    """True when ``text`` reads as a number (a header of numbers is no header)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


# -- the delimiter and the header ---------------------------------------------------------------


def _choose_delimiter(file: Path, text: str, notes: list[str]) -> str:
    """Pick the delimiter: the one the extension implies, unless the header clearly disagrees."""
    sample = text[: text.rfind("\n") + 1] or text
    header_line = sample.splitlines()[0] if sample.splitlines() else ""
    stem = file.name.lower().removesuffix(".gz")
    expected = DELIMITER_BY_SUFFIX.get(Path(stem).suffix)
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


# -- broken files --------------------------------------------------------------------------------


def _longer_than_header(file: Path, text: str, delimiter: str, header: list[str]) -> DataError:
    sample = text[: text.rfind("\n") + 1] or text
    width = max((len(row) for row in _rows(sample, delimiter)[1:]), default=0)
    seen = f"rows with {width} values" if width else "rows with more values"
    return DataError(
        f"The header (line 1) of '{file}' names {len(header)} columns, but the file has {seen}.",
        hint="Check that the first line really is the list of column names, with one name "
        "per column, and that no row ends with an extra separator.",
    )


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
        f"Cannot parse '{file}': {first_line(exc)}.",
        hint="Check the file near the line named above.",
    )


def _refuse_truncated_last_line(file: Path, n_columns: int, delimiter: str, encoding: str) -> None:
    """Refuse a file whose last line has fewer values than the line before it (cut off)."""
    if n_columns < 2 or encoding == "utf-16":
        return
    size = file.stat().st_size
    with open(file, "rb") as fh:
        fh.seek(max(size - SAMPLE_BYTES, 0))
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
