"""Text encodings of delimited files: UTF-8 (a byte-order mark is fine) and UTF-16 are read as
they are; a file that is not UTF-8 is refused with the first bad byte, its offset and its line,
unless the caller accepts Windows (cp1252) or latin-1 files, which are read with a note.

A gzipped file is read through a bound on what it unpacks to (``MAX_UNPACKED_RATIO`` times its
size on disk, at least 64 MB): a small file that unpacks to gigabytes stops with a
``DataError`` that names the file and how to raise the bound, instead of filling the memory.
"""

from __future__ import annotations

import codecs
import gzip
import io
from pathlib import Path
from typing import IO, Any

from steadyml.data.loading.messages import first_line
from steadyml.errors import DataError

__all__ = [
    "MAX_UNPACKED_RATIO",
    "SAMPLE_BYTES",
    "choose_encoding",
    "head_bytes",
    "not_utf8",
    "open_data",
]

SAMPLE_BYTES = 64 * 1024  # what is read to choose the encoding and the delimiter
# A gzipped file may unpack to this many times its size on disk (CSV seldom passes 20x),
# and to at least MIN_UNPACKED_BOUND; past that reading stops (a compression bomb)
MAX_UNPACKED_RATIO = 100.0
MIN_UNPACKED_BOUND = 64 * 1024 * 1024
_CHUNK_BYTES = 1024 * 1024
_SAVE_AS_UTF8 = (
    "Open it in a spreadsheet or text editor and save it again as 'CSV UTF-8', "
    "then run the command again."
)


def unpacked_bound(file: Path, ratio: float | None) -> int | None:
    """The most bytes a gzipped ``file`` may unpack to: ``ratio`` times its size on disk, and
    at least ``MIN_UNPACKED_BOUND``; None (no bound) when ``ratio`` is None."""
    if ratio is None:
        return None
    return max(int(file.stat().st_size * ratio), MIN_UNPACKED_BOUND)


class _BoundedReader(io.RawIOBase):
    """A gzip stream that stops with a ``DataError`` once it has unpacked more than ``limit``
    bytes: a small file that unpacks to gigabytes (a compression bomb) is not read to the end."""

    def __init__(self, file: Path, limit: int, ratio: float) -> None:
        self._file = file
        self._raw = gzip.open(file, "rb")  # noqa: SIM115 - closed by close()
        self._limit = limit
        self._ratio = ratio
        self.unpacked = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.unpacked += n
        if self.unpacked > self._limit:
            raise too_big(self._file, self._limit, self._ratio)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def too_big(file: Path, limit: int, ratio: float) -> DataError:
    packed = file.stat().st_size
    return DataError(
        f"'{file}' unpacks to more than {_size(limit)} ({_size(packed)} on disk): reading stopped "
        f"there. Compressed data files seldom unpack to more than {ratio:g} times their size; "
        "one that does may be a compression bomb.",
        hint=f"If the data really is that large, unpack it yourself (gunzip -k '{file.name}') "
        "and give the unpacked file; from Python, read_table(path, max_unpacked_ratio=N) "
        "raises the bound (None: no bound).",
    )


def _size(n: int) -> str:
    return f"{n / 1024**2:,.1f} MB" if n >= 1024**2 else f"{n:,} bytes"


def _open_bytes(
    file: Path, compressed: bool, ratio: float | None = MAX_UNPACKED_RATIO
) -> IO[bytes]:
    if compressed:
        limit = unpacked_bound(file, ratio)
        if limit is None or ratio is None:
            return gzip.open(file, "rb")  # type: ignore[return-value]
        return io.BufferedReader(_BoundedReader(file, limit, ratio), _CHUNK_BYTES)
    return open(file, "rb")


def open_data(file: Path, compressed: bool, ratio: float | None = MAX_UNPACKED_RATIO) -> IO[bytes]:
    """The file's bytes, unpacked when ``compressed`` (within the bound ``ratio`` sets)."""
    return _open_bytes(file, compressed, ratio)


def head_bytes(file: Path, compressed: bool, ratio: float | None = MAX_UNPACKED_RATIO) -> bytes:
    """The first ``SAMPLE_BYTES`` of the file (decompressed); ``DataError`` if unreadable."""
    try:
        with _open_bytes(file, compressed, ratio) as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"Cannot read '{file}': {first_line(exc)}.",
            hint="Check that the file was fully copied and that you may read it.",
        ) from exc


def choose_encoding(
    file: Path,
    head: bytes,
    compressed: bool,
    legacy: bool,
    notes: list[str],
    ratio: float | None = MAX_UNPACKED_RATIO,
) -> tuple[str, str]:
    """The encoding to read ``file`` with and its ``head`` decoded; ``legacy`` accepts cp1252
    and latin-1 (with a note) instead of refusing a file that is not UTF-8."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        notes.append(f"'{file.name}' is saved as UTF-16; it was read as such.")
        return "utf-16", head.decode("utf-16", errors="ignore")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
        return "utf-8-sig", text
    except UnicodeDecodeError:
        pass
    error = not_utf8(file, compressed, ratio)
    if not legacy:
        raise error
    encoding = "cp1252" if _decodes(file, compressed, "cp1252", ratio) else "latin-1"
    label = "cp1252 (Windows Western European)" if encoding == "cp1252" else "latin-1"
    notes.append(
        f"{error.message} It was read as {label}: check that accented letters look right, "
        "or re-save the file as UTF-8."
    )
    return encoding, head.decode(encoding, errors="replace")


def _decodes(file: Path, compressed: bool, encoding: str, ratio: float | None) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with _open_bytes(file, compressed, ratio) as fh:
            while chunk := fh.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def not_utf8(file: Path, compressed: bool, ratio: float | None = MAX_UNPACKED_RATIO) -> DataError:
    """Build the error for a non-UTF-8 file, naming the first bad byte, its offset and line."""
    offset = line = 0  # offset and line number where ``pending`` starts
    pending = b""
    with _open_bytes(file, compressed, ratio) as fh:
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
