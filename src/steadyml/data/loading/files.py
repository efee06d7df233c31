"""Data files: which kinds steadyml reads (by extension), and finding the file a path names.

``file_kind`` says ``csv`` (delimited text, optionally gzipped) or ``parquet`` and refuses any
other extension; ``existing_file`` resolves a path and, when it names no file, says what is
there instead (close names in the same folder), and refuses what is not a data file with the
reason: a folder, a link that loops, a file it may not read, a device or pipe, a file of
``/proc`` or ``/sys``.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
from pathlib import Path
from typing import Literal

from steadyml.data.loading.messages import first_line
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


def file_kind(path: str | Path, *, field: str | None = None) -> FileKind:
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
        field=field,
    )


def existing_file(path: Path, *, field: str | None = None) -> Path:
    """The absolute path of the data file ``path`` names; ``DataError`` (about the argument
    ``field``, when given) when it is missing (with the close names in its folder, or the
    missing folder), a folder, a link that loops, unreadable, not a regular file (a device, a
    pipe) or a file of the operating system (``/proc``, ``/sys``)."""
    file = path.expanduser().absolute()
    try:
        info = file.stat()
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and not _loops(file):
            raise _not_found(file, field) from None
        raise _unreachable(file, exc, field) from None
    if stat.S_ISDIR(info.st_mode):
        raise DataError(
            f"'{file}' is a folder, not a data file.",
            hint="Give the path of a .csv or .parquet file inside it.",
            field=field,
        )
    if not stat.S_ISREG(info.st_mode):
        what = "a pipe" if stat.S_ISFIFO(info.st_mode) else (
            "a socket" if stat.S_ISSOCK(info.st_mode) else "a device")  # fmt: skip
        raise DataError(
            f"'{file}' is {what}, not a data file: it may never end, so it is not read.",
            hint="Save the data to a .csv or .parquet file first and give that file's path.",
            field=field,
        )
    real = Path(os.path.realpath(file))
    if real.parts[1:2] in (("proc",), ("sys",)):
        linked = f" (it leads to '{real}')" if real != file else ""
        raise DataError(
            f"'{file}'{linked} is a file the operating system makes up on reading (under "
            f"/{real.parts[1]}), not a data file.",
            hint="Give the path of a .csv or .parquet file with the data to read.",
            field=field,
        )
    if not os.access(file, os.R_OK):
        raise DataError(
            f"Cannot read '{file}': permission denied.",
            hint="Let the user running steadyml read the file (ls -l shows who may), or copy "
            "it somewhere readable and give that path.",
            field=field,
        )
    return file


def _loops(file: Path) -> bool:
    try:
        os.stat(file)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _unreachable(file: Path, exc: OSError, field: str | None) -> DataError:
    if exc.errno == errno.ELOOP or _loops(file):
        return DataError(
            f"Cannot open '{file}': a symbolic link in this path loops (it leads back to "
            "itself, directly or through other links), so there is no file at the end.",
            hint="Point the link at the real data file (ls -l shows where each link points), "
            "or give the real file's path instead.",
            field=field,
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return DataError(
            f"Cannot open '{file}': permission denied.",
            hint="Let the user running steadyml read the file and enter its folders "
            "(ls -l shows who may), or copy it somewhere readable and give that path.",
            field=field,
        )
    return DataError(
        f"Cannot open '{file}': {exc.strerror or first_line(exc)}.",
        hint="Check the path, and that the disk or share it is on is reachable.",
        field=field,
    )


def _not_found(file: Path, field: str | None) -> DataError:
    folder = file.parent
    if not folder.is_dir():
        return DataError(
            f"Data file not found: '{file}'. The folder '{folder}' does not exist.",
            hint="Check the path; relative paths start from the current folder.",
            field=field,
        )
    try:
        names = sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError:
        names = []
    close = difflib.get_close_matches(file.name, names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == file.name.lower() and n not in close]
    hint = (
        "Did you mean " + " or ".join(f"'{folder / n}'" for n in close) + "?"
        if close
        else "Check the spelling; relative paths start from the current folder."
    )
    return DataError(f"Data file not found: '{file}'.", hint=hint, field=field)
