"""Data files: which kinds steadyml reads (by extension), and finding the file a path names.

``file_kind`` says ``csv`` (delimited text, optionally gzipped) or ``parquet`` and refuses any
other extension; ``existing_file`` resolves a path and, when it names no file, says what is
there instead (close names in the same folder).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from steadyml.errors import DataError

__all__ = ["DELIMITER_BY_SUFFIX", "SUPPORTED_SUFFIXES", "FileKind", "existing_file", "file_kind"]

FileKind = Literal["csv", "parquet"]

# the delimiter each text extension implies (None: guess it from the header)
DELIMITER_BY_SUFFIX: dict[str, str | None] = {".csv": ",", ".tsv": "\t", ".txt": None}
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


def file_kind(path: str | Path) -> FileKind:
    """Return ``"csv"`` for delimited text files and ``"parquet"`` for Parquet files.

    Raises ``DataError`` for any other extension, listing the supported ones.
    """
    name = Path(path).name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    stem = name.removesuffix(".gz")
    if Path(stem).suffix in DELIMITER_BY_SUFFIX:
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


def existing_file(path: Path) -> Path:
    """The absolute path of the data file ``path`` names; ``DataError`` when it is a folder
    or is missing (with the close names in its folder, or the missing folder)."""
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
