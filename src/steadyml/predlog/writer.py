"""The API's log writer: requests hand it what they answered and return at once.

One background thread writes to the metadata store off the request path. What it gathers
goes out at least every ``chunk_after_ms`` (or as soon as ``chunk_rows`` rows wait): as one
chunk (a compressed Arrow table) per route and model version when at least
``chunk_min_rows`` rows gathered (busy traffic; see ``predlog.chunks``), else as rows of the
SQL log (quiet traffic, and the
records the contract refused, which arrive as ``PredictionRecord``s and are written within
``flush_ms``). ``close()`` writes everything queued, so nothing logged is lost on a normal stop
(SIGTERM included: uvicorn runs the app's shutdown, which closes the writer).

Nothing answered is dropped for a reason the writer can handle:

- a write the store refuses for its content (a lone surrogate SQLite cannot encode, a NUL
  byte PostgreSQL text cannot hold) is split in halves until the rows that fail stand alone;
  each of those is written again with its text escaped (``escaped``: ``\\udc80``, ``\\x00``)
  and counted in ``escaped``. Only a row that fails even so is counted in ``failed``.
- a write that fails because the store cannot be reached (``store.outage``) is held in memory,
  in order, and tried again every ``retry_s``; ``buffered_rows()`` and ``unreachable_since``
  say so (the service reports them in ``/ready`` and refuses new predictions once
  ``pending()`` reaches its bound, so nothing answered is lost). When a write goes through
  again, everything held is written before anything new.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from steadyml.entities import PredictionRecord
from steadyml.predlog.chunks import Chunk, LogLayout, LogPiece
from steadyml.store.outage import store_unreachable

if TYPE_CHECKING:
    import pyarrow as pa

    from steadyml.store import Store

__all__ = ["PredictionLogWriter", "escaped", "unwritten_in"]

logger = logging.getLogger("steadyml.predlog")

Item = PredictionRecord | Callable[[], Iterable[PredictionRecord]] | LogPiece
#: one write to the store: SQL log rows, or one chunk
Job = list[PredictionRecord] | Chunk


def _escape_text(text: str) -> str:
    """``text`` with what a store cannot hold written out: lone surrogates as ``\\udc80``
    (Python's backslash escape), NUL as ``\\x00``; other text unchanged."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _cause(exc: BaseException) -> str:
    """The driver's own error, without the statement and parameters SQLAlchemy adds."""
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {orig}"


def _escape_value(value: Any) -> Any:
    if isinstance(value, str):
        return _escape_text(value)
    if isinstance(value, dict):
        return {_escape_value(k): _escape_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escape_value(v) for v in value]
    return value


def escaped(record: PredictionRecord) -> PredictionRecord:
    """``record`` with every text escaped (``_escape_text``), for a store that refused it."""
    return dataclasses.replace(
        record,
        request_id=_escape_text(record.request_id),
        route=_escape_text(record.route),
        inputs=_escape_value(record.inputs),
        prediction=_escape_value(record.prediction),
        error=None if record.error is None else _escape_text(record.error),
        row_key=None if record.row_key is None else _escape_text(record.row_key),
    )


class PredictionLogWriter:
    """Writes prediction records and request pieces to the store from one background thread.

    Callers append to a deque (no lock, no wake-up); the thread wakes every ``flush_ms``, or
    at once when ``max_batch`` items wait. Waking the thread for every request (a
    ``queue.Queue`` with a blocking ``get``) made it fight the event loop for the GIL
    thousands of times a second: measured, that cost a third of the service's throughput,
    far more than the writing itself.

    ``unreachable`` tells an outage (hold the write, try again) from a refusal of the rows
    (split, escape); ``unwritten`` (``unwritten_in(store)``) says what of a write that failed
    after it was sent is not in the store, so a write whose answer was lost (the connection
    dropped during its commit) is not written twice; ``retry_s``: how often a held write is
    tried again; ``stop_wait_s``: how long ``close()`` keeps trying to write what is held
    before it gives up (and counts it).
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
        unreachable: Callable[[BaseException], bool] = store_unreachable,
        unwritten: Callable[[Job], Job | None] | None = None,
        retry_s: float = 1.0,
        stop_wait_s: float = 20.0,
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
        self._unreachable = unreachable
        self._unwritten = unwritten
        self._retry_s = retry_s
        self._stop_wait_s = stop_wait_s
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
        # writes held while the store cannot be reached, oldest first (writer thread only)
        self._held: collections.deque[tuple[Job, int]] = collections.deque()
        self._held_rows = 0
        self._tried: set[int] = set()  # ids of held jobs that failed after being sent
        self._next_try = 0.0
        #: when the store stopped answering (Unix seconds), None while writes go through
        self.unreachable_since: float | None = None
        self.written = 0
        self.failed = 0  # rows that could not be written at all (reported through on_error)
        self.escaped = 0  # rows written with their text escaped (the store refused them)
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
        """Rows queued and not yet written (an estimate while the writer works), those held
        through an outage included."""
        return max(self._queued_rows - self._done_rows, 0) + self._held_rows

    def buffered_rows(self) -> int:
        """Rows held in memory because the store could not be reached."""
        return self._held_rows

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
            if self._held and time.monotonic() >= self._next_try:
                self._write_held()
            self._drain(stopping)
            if stopping:
                self._drain(True)  # anything that raced in with the stop
                self._finish_held()
                return

    def _finish_held(self) -> None:
        """At a stop: keep trying what is held for ``stop_wait_s``, then count it as lost."""
        deadline = time.monotonic() + self._stop_wait_s
        while self._held and time.monotonic() < deadline:
            time.sleep(max(0.0, min(self._next_try - time.monotonic(), 0.5)))
            if time.monotonic() >= self._next_try:
                self._write_held()
        if self._held:
            rows = self._held_rows
            self._held.clear()
            self._held_rows = 0
            self._give_up(
                rows,
                RuntimeError(
                    f"the metadata store was still unreachable when the server stopped; "
                    f"{rows} logged prediction(s) held in memory could not be written"
                ),
            )

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
        except Exception:  # e.g. text Arrow cannot encode: one piece at a time, the bad ones
            rows = 0  # go out as rows of the SQL log (escaped there if they must be)
            for piece in arrived:
                try:
                    self._parts.append(self.layout.table([piece]))
                except Exception:
                    self._unlaid.append(piece)
                else:
                    rows += len(piece)
            arrived = [p for p in arrived if p not in self._unlaid]
            if not rows:
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
            self._submit(chunk, chunk.rows)
        self._done_rows += laid

    def _write_rows(self, layout: LogLayout, pieces: list[LogPiece]) -> None:
        rows = sum(len(p) for p in pieces)
        try:
            records = layout.records(pieces)
        except Exception:  # one piece spoils the lot: lay them out one by one
            records = []
            for piece in pieces:
                try:
                    records.extend(layout.records([piece]))
                except Exception as exc:  # pragma: no cover - a bug; reported, serving goes on
                    self._lost(len(piece), exc)
                    rows -= len(piece)
        self._flush(records, rows)

    def _lost(self, rows: int, exc: BaseException) -> None:
        """Rows that could not even be laid out: counted as failed, and no longer pending."""
        self._give_up(rows, exc)
        self._done_rows += rows

    def _flush(self, batch: list[PredictionRecord], rows: int) -> None:
        """Write ``batch`` (which stands for ``rows`` queued rows) to the SQL log."""
        if batch:
            self._submit(batch, len(batch))
        self._done_rows += rows

    # --- writing, through refusals and outages -----------------------------------------------

    def _submit(self, job: Job, rows: int) -> None:
        """Write ``job`` now, or hold it behind the writes already held (an outage)."""
        if self._held:
            self._hold(job, rows)
            return
        self._attempt(job, rows)

    def _attempt(self, job: Job, rows: int, *, held: bool = False) -> bool:
        """One try; False when the store could not be reached: the job (or what is left of
        it) is then held, or, with ``held`` (it is the first held job), stays held."""
        try:
            self._write_job(job)
        except Exception as exc:
            if self._unreachable(exc):
                self._down(exc)
                self._tried.add(id(job))  # it may have gone through (an answer lost)
                if not held:
                    self._hold(job, rows)
                return False
            if isinstance(job, Chunk):
                self._chunk_refused(job, exc)
                return True
            rest = self._salvage(job, exc)
            if not rest:
                return True
            self._tried.add(id(rest))
            if held:
                self._held[0] = (rest, len(rest))
                self._held_rows += len(rest) - rows
            else:
                self._hold(rest, len(rest))
            return False
        self._wrote(job, rows)
        return True

    def _down(self, exc: BaseException) -> None:
        """The store could not be reached: say so once, try again in ``retry_s``."""
        if self.unreachable_since is None:
            self.unreachable_since = time.time()
            logger.warning(
                "The metadata store cannot be reached (%s: %s): the prediction log is held in "
                "memory and written when it is back.",
                type(exc).__name__, str(exc)[:300],
            )  # fmt: skip
        self._next_try = time.monotonic() + self._retry_s

    def _write_job(self, job: Job) -> None:
        if isinstance(job, Chunk):
            if self._write_chunk is None:  # pragma: no cover - chunks need write_chunk
                raise RuntimeError("PredictionLogWriter needs write_chunk to write chunks")
            self._write_chunk(job)
        else:
            self._write(job)

    def _wrote(self, job: Job, rows: int) -> None:
        self.written += rows
        if isinstance(job, Chunk):
            self.chunks += 1

    def _hold(self, job: Job, rows: int) -> None:
        self._held.append((job, rows))
        self._held_rows += rows

    def _write_held(self) -> None:
        """Try the held writes in order; stop at the first the store still cannot take."""
        while self._held:
            job, rows = self._held[0]
            if id(job) in self._tried and self._unwritten is not None:
                try:
                    left = self._unwritten(job)
                except Exception as exc:
                    if self._unreachable(exc):
                        self._down(exc)
                        return
                    left = job  # cannot tell: write it
                if left is not job:  # (part of) it went through before its answer was lost
                    self._tried.discard(id(job))
                    left_rows = len(left) if isinstance(left, list) else 0  # a chunk: None
                    self.written += rows - left_rows
                    self._held_rows -= rows - left_rows
                    if left is None or not left_rows:
                        self._held.popleft()
                        continue
                    job, rows = left, left_rows
                    self._held[0] = (job, rows)
            if not self._attempt(job, rows, held=True):
                return
            self._held.popleft()
            self._tried.discard(id(job))
            self._held_rows -= rows
        if self.unreachable_since is not None:
            logger.warning(
                "The metadata store is back: the prediction log held since %s is written.",
                time.strftime("%H:%M:%S", time.localtime(self.unreachable_since)),
            )
            self.unreachable_since = None

    def _chunk_refused(self, chunk: Chunk, exc: BaseException) -> None:
        """A chunk refused for its content: tried twice more, then counted and reported."""
        for attempt in range(2):
            time.sleep(0.2 * (attempt + 1))
            try:
                self._write_job(chunk)
            except Exception as again:
                exc = again
                continue
            self._wrote(chunk, chunk.rows)
            return
        self._give_up(chunk.rows, exc)

    def _salvage(self, batch: list[PredictionRecord], exc: BaseException) -> list[PredictionRecord]:
        """Rows the store refused as a batch: halves written alone until the refused rows
        stand alone; those are written with their text escaped. An outage met on the way
        returns what is left of the batch, to be held (else nothing)."""
        todo: collections.deque[list[PredictionRecord]] = collections.deque()
        if len(batch) > 1:
            half = len(batch) // 2
            todo.extend([batch[:half], batch[half:]])
        else:
            todo.append(batch)
        single = len(batch) == 1
        while todo:
            part = todo.popleft()
            if not single:
                try:
                    self._write(part)
                except Exception as again:
                    if self._unreachable(again):
                        self._down(again)
                        return [r for p in (part, *todo) for r in p]
                    if len(part) > 1:
                        half = len(part) // 2
                        todo.extendleft([part[half:], part[:half]])
                        continue
                else:
                    self.written += len(part)
                    continue
            single = False
            record = part[0]
            clean = escaped(record)
            try:
                self._write([clean])
            except Exception as again:
                if self._unreachable(again):
                    self._down(again)
                    return [r for p in (part, *todo) for r in p]
                if clean == record and _cause(again) == _cause(exc):
                    # a row with nothing to escape fails as the whole batch did (a missing
                    # table, say): every row would, so the rest is not tried one by one
                    self._give_up(1 + sum(len(p) for p in todo), again)
                    return []
                self._give_up(1, again)
                continue
            self.written += 1
            self.escaped += 1
            logger.warning(
                "Prediction %s was logged with its text escaped: the store refused it as it "
                "was (%s: %s).",
                _escape_text(record.request_id), type(exc).__name__, str(exc)[:200],
            )  # fmt: skip
        return []

    def _give_up(self, rows: int, exc: BaseException) -> None:
        self.failed += rows
        if self._on_error is not None:
            self._on_error(exc)


def unwritten_in(store: Store) -> Callable[[Job], Job | None]:
    """For ``PredictionLogWriter(unwritten=…)``: what of a write is not in ``store`` yet (a
    chunk: itself or None; rows: those whose request id the SQL log does not hold)."""
    import hashlib

    def unwritten(job: Job) -> Job | None:
        if isinstance(job, Chunk):
            found = store.has_log_chunk(hashlib.sha256(job.data).hexdigest(), job.first)
            return None if found else job
        logged = store.logged_request_ids([r.request_id for r in job])
        return [r for r in job if r.request_id not in logged] or None

    return unwritten
