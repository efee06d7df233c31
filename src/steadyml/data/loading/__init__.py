"""Read a data file (CSV, TSV, delimited text or Parquet) into a DataFrame, with clear errors.

``read_table`` is strict: a file that is not UTF-8 is refused with the byte and line where the
trouble starts. ``read_table_with_notes`` also reads Windows (cp1252) and latin-1 files, and
returns plain-words notes for everything it had to guess, so the caller can show them.

Types: numbers become numbers, ``true``/``false`` become booleans, everything else stays text.
A column whose raw text has leading zeros (``"007"``, ``"02134"``) stays text, so ids and postal
codes keep their zeros. Nothing is parsed as a date here: ``steadyml.data.roles`` decides that.

The modules, one job each: ``reader`` (the entry points, Parquet), ``files`` (supported kinds,
finding the file), ``encoding`` (UTF-8 and the legacy encodings), ``delimited`` (delimiter,
header and broken lines), ``conversion`` (text to numbers and booleans), ``messages`` (how
names are shown). ``existing_file``, ``file_kind``, ``not_utf8`` and ``quote_names`` are public
because batch scoring reads files its own way and must fail the same way.

A gzipped file unpacks to at most ``MAX_UNPACKED_RATIO`` times its size on disk (at least
64 MB): ``read_table(path, max_unpacked_ratio=...)`` raises the bound, None removes it.
"""

from steadyml.data.loading.encoding import MAX_UNPACKED_RATIO, not_utf8
from steadyml.data.loading.files import SUPPORTED_SUFFIXES, FileKind, existing_file, file_kind
from steadyml.data.loading.messages import quote_names
from steadyml.data.loading.reader import read_table, read_table_with_notes

__all__ = [
    "MAX_UNPACKED_RATIO",
    "SUPPORTED_SUFFIXES",
    "FileKind",
    "existing_file",
    "file_kind",
    "not_utf8",
    "quote_names",
    "read_table",
    "read_table_with_notes",
]
