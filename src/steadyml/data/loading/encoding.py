"""Text encodings of delimited files: UTF-8 (a byte-order mark is fine) and UTF-16 are read as
they are; a file that is not UTF-8 is refused with the first bad byte, its offset and its line,
unless the caller accepts Windows (cp1252) or latin-1 files, which are read with a note.
"""

from __future__ import annotations

import codecs
import gzip
from pathlib import Path
from typing import IO

from steadyml.data.loading.messages import first_line
from steadyml.errors import DataError

__all__ = ["SAMPLE_BYTES", "choose_encoding", "head_bytes", "not_utf8"]

SAMPLE_BYTES = 64 * 1024  # what is read to choose the encoding and the delimiter
_CHUNK_BYTES = 1024 * 1024
_SAVE_AS_UTF8 = (
    "Open it in a spreadsheet or text editor and save it again as 'CSV UTF-8', "
    "then run the command again."
)


def _open_bytes(file: Path, compressed: bool) -> IO[bytes]:
    if compressed:
        return gzip.open(file, "rb")  # type: ignore[return-value]
    return open(file, "rb")


def head_bytes(file: Path, compressed: bool) -> bytes:
    """The first ``SAMPLE_BYTES`` of the file (decompressed); ``DataError`` if unreadable."""
    try:
        with _open_bytes(file, compressed) as fh:
            return fh.read(SAMPLE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"Cannot read '{file}': {first_line(exc)}.",
            hint="Check that the file was fully copied and that you may read it.",
        ) from exc


def choose_encoding(
    file: Path, head: bytes, compressed: bool, legacy: bool, notes: list[str]
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
    error = not_utf8(file, compressed)
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


def not_utf8(file: Path, compressed: bool) -> DataError:
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
