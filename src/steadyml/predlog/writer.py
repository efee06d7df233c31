"""The API's log writer: requests hand it what they answered and return at once.

One background thread writes to the metadata store off the request path. What it gathers
goes out at least every ``chunk_after_ms`` (or as soon as ``chunk_rows`` rows wait): as one
chunk (a compressed Arrow table) per route and model version when at least
``chunk_min_rows`` rows gathered (busy traffic; see ``predlog.chunks``), else as rows of the
SQL log (quiet traffic, and the
records the contract refused, which arrive as ``PredictionRecord``s and are written within
``flush_ms``). ``close()`` writes everything queued, so nothing logged is lost on a normal stop
(SIGTERM included: uvicorn runs the app's shutdown, which closes the writer).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from steadyml.entities import PredictionRecord
from steadyml.predlog.chunks import Chunk, LogLayout, LogPiece

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["PredictionLogWriter"]

Item = PredictionRecord | Callable[[], Iterable[PredictionRecord]] | LogPiece


class PredictionLogWriter:
    """Writes prediction records and request pieces to the store from one background thread.

    Callers append to a deque (no lock, no wake-up); the thread wakes every ``flush_ms``, or
    at once when ``max_batch`` items wait. Waking the thread for every request (a
    ``queue.Queue`` with a blocking ``get``) made it fight the event loop for the GIL
    thousands of times a second: measured, that cost a third of the service's throughput,
    far more than the writing itself.
    """

    def __init__(
        self,
        write: Callable[[Sequence[PredictionRecord]], Any],
        *,
        write_chunk: Callable[[Chunk], Any] | None = None,
        layout: LogLayout | None = None,
        flush_ms: float = 200.0,
        chunk_after_ms: float = 1000.0,
        chunk_min_rows: int = 100,
        chunk_rows: int = 20_000,
        max_batch: int = 2000,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._write = write
        self._write_chunk = write_chunk
        self.layout = layout
        self._flush_s = flush_ms / 1000
        self._chunk_after_s = chunk_after_ms / 1000
        self._chunk_min_rows = chunk_min_rows
        self._chunk_rows = chunk_rows
        self._max_batch = max_batch
        self._on_error = on_error
        self._items: collections.deque[tuple[Item, int]] = collections.deque()
        self._wake = threading.Event()
        self._stopping = False
        # rows queued (written only by callers) and rows done with (only by the writer
        # thread): each counter has one writer, so their difference is safe to read anywhere
        self._queued_rows = 0
        self._done_rows = 0
        # gathered for the next flush (writer thread only): the pieces laid out as tables,
        # and the pieces themselves while they may still go to the SQL log as rows
        self._parts: list[pa.Table] = []
        self._pieces: list[LogPiece] = []
        self._unlaid: list[LogPiece] = []  # pieces that could not be laid out: rows
        self._piece_rows = 0  # rows gathered
        self._laid_rows = 0  # of which in ``_parts``
        self._pieces_since = 0.0
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0
        self.chunks = 0

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="steadyml-predlog", daemon=True)
            self._thread.start()

    def log(self, records: Iterable[PredictionRecord]) -> None:
        records = list(records)
        self._items.extend((r, 1) for r in records)
        self._queued_rows += len(records)
        if len(self._items) >= self._max_batch:
            self._wake.set()

    def log_later(self, build: Callable[[], Iterable[PredictionRecord]], rows: int = 1) -> None:
        """Queue a function that builds ``rows`` records; it runs on the writer thread, so the
        caller (the event loop) does not pay for scrubbing and serialising."""
        self._items.append((build, rows))
        self._queued_rows += rows
        if len(self._items) >= self._max_batch:
            self._wake.set()

    def log_piece(self, piece: LogPiece) -> None:
        """Queue one request's answers (needs a ``layout``); the writer thread lays them out."""
        if self.layout is None:
            raise RuntimeError("PredictionLogWriter needs a layout to log request pieces")
        rows = len(piece)
        self._items.append((piece, rows))
        self._queued_rows += rows
        if self._queued_rows - self._done_rows >= self._chunk_rows:
            self._wake.set()

    def pending(self) -> int:
        """Rows queued and not yet written (an estimate while the writer works)."""
        return max(self._queued_rows - self._done_rows, 0)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_s)
            self._wake.clear()
            stopping = self._stopping
            self._drain(stopping)
            if stopping:
                self._drain(True)  # anything that raced in with the stop
                return

    def _drain(self, everything: bool) -> None:
        batch: list[PredictionRecord] = []
        arrived: list[LogPiece] = []
        rows_in_batch = 0
        items = self._items
        while items:
            try:
                item, rows = items.popleft()
            except IndexError:  # pragma: no cover - emptied between the check and the pop
                break
            if isinstance(item, LogPiece):
                arrived.append(item)
                continue
            self._take(item, batch)
            rows_in_batch += rows
            if len(batch) >= self._max_batch:
                self._flush(batch, rows_in_batch)
                batch, rows_in_batch = [], 0
        if batch or rows_in_batch:
            self._flush(batch, rows_in_batch)
        if arrived:
            self._gather(arrived)
        if self._piece_rows and (
            everything
            or self._piece_rows >= self._chunk_rows
            or time.monotonic() - self._pieces_since >= self._chunk_after_s
        ):
            self._flush_pieces()

    def _gather(self, arrived: list[LogPiece]) -> None:
        """Keep what arrived for the next flush, already laid out as a table: a little work
        at every wake-up, not one long hold of the GIL per chunk (which showed in p99). Once
        enough rows are laid out for a chunk the pieces are let go: fewer objects live on
        for the garbage collector to walk."""
        rows = sum(len(p) for p in arrived)
        if not self._piece_rows:
            self._pieces_since = time.monotonic()
        self._piece_rows += rows
        if self._write_chunk is None or self.layout is None:
            self._pieces.extend(arrived)
            return
        try:
            self._parts.append(self.layout.table(arrived))
        except Exception as exc:  # e.g. a value no column type holds: these go out as rows
            if self._on_error is not None:
                self._on_error(exc)
            self._unlaid.extend(arrived)
            return
        self._laid_rows += rows
        if self._laid_rows < self._chunk_min_rows:
            self._pieces.extend(arrived)
        else:
            self._pieces = []  # a chunk for sure: the tables say it all

    def _take(
        self,
        item: PredictionRecord | Callable[[], Iterable[PredictionRecord]],
        batch: list[PredictionRecord],
    ) -> None:
        if isinstance(item, PredictionRecord):
            batch.append(item)
            return
        try:
            batch.extend(item())
        except Exception as exc:  # a record that cannot be built is reported, not fatal
            self.failed += 1
            if self._on_error is not None:
                self._on_error(exc)

    def _flush_pieces(self) -> None:
        layout = self.layout
        if layout is None:
            raise RuntimeError("PredictionLogWriter needs a layout to log request pieces")
        parts, pieces, unlaid = self._parts, self._pieces, self._unlaid
        laid = self._laid_rows
        self._parts, self._pieces, self._unlaid = [], [], []
        self._piece_rows = self._laid_rows = 0
        if unlaid:
            self._write_rows(layout, unlaid)
        if self._write_chunk is None or laid < self._chunk_min_rows:
            self._write_rows(layout, pieces)  # quiet traffic (all its pieces were kept)
            return
        try:
            chunks = layout.chunks(parts)
        except Exception as exc:  # pragma: no cover - a bug; reported, serving goes on
            self._lost(laid, exc)
            return
        for chunk in chunks:
            if self._retry(lambda c=chunk: self._write_chunk(c), chunk.rows):  # type: ignore[misc]
                self.chunks += 1
        self._done_rows += laid

    def _write_rows(self, layout: LogLayout, pieces: list[LogPiece]) -> None:
        rows = sum(len(p) for p in pieces)
        try:
            records = layout.records(pieces)
        except Exception as exc:  # pragma: no cover - a bug; reported, serving goes on
            self._lost(rows, exc)
            return
        self._flush(records, rows)

    def _lost(self, rows: int, exc: BaseException) -> None:
        """Rows that could not even be laid out: counted as failed, and no longer pending."""
        self._give_up(rows, exc)
        self._done_rows += rows

    def _flush(self, batch: list[PredictionRecord], rows: int) -> None:
        """Write ``batch`` (which stands for ``rows`` queued rows) to the SQL log."""
        if batch:
            self._retry(lambda: self._write(batch), len(batch))
        self._done_rows += rows

    def _retry(self, write: Callable[[], Any], rows: int) -> bool:
        for attempt in range(3):
            try:
                write()
                self.written += rows
                return True
            except Exception as exc:  # keep serving; report and retry
                if attempt == 2:
                    self._give_up(rows, exc)
                    return False
                time.sleep(0.2 * (attempt + 1))
        return False  # pragma: no cover

    def _give_up(self, rows: int, exc: BaseException) -> None:
        self.failed += rows
        if self._on_error is not None:
            self._on_error(exc)
