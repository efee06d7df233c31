"""The prediction log: what the API and batch scoring answered, kept for the monitor.

- ``writer``: the API's log writer, a background thread that never holds up an answer.
- ``chunks``: busy API traffic logged as compressed Arrow chunks, one column per input.
- ``batchfile``: a batch run's log as one Parquet file in the artifact store.
- ``compact``: the API's one-second chunks merged into large ones once they are an hour old.
- ``reader``: the log read back (SQL rows, batch files, API chunks), and retention of files.
- ``scrub``: personal data removed or keyed-hashed before anything is logged.
"""

from steadyml.predlog.batchfile import BatchLogFile, log_schema
from steadyml.predlog.chunks import Chunk, LogLayout, LogPiece, chunks_of, row_key, store_chunk
from steadyml.predlog.compact import CompactResult, compact_log
from steadyml.predlog.reader import delete_batch_logs_before, read_log
from steadyml.predlog.scrub import hmac_values, json_value, scrub
from steadyml.predlog.writer import PredictionLogWriter

__all__ = [
    "BatchLogFile",
    "Chunk",
    "CompactResult",
    "LogLayout",
    "LogPiece",
    "PredictionLogWriter",
    "chunks_of",
    "compact_log",
    "delete_batch_logs_before",
    "hmac_values",
    "json_value",
    "log_schema",
    "read_log",
    "row_key",
    "scrub",
    "store_chunk",
]
