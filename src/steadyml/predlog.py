"""The prediction log writer: one background thread that batches inserts.

The API and batch scoring hand it records and return at once; the thread writes them to the
metadata store in groups (every ``flush_ms`` or ``max_batch`` records), off the request path.
``close()`` drains the queue, so nothing logged is lost on a normal stop (SIGTERM included:
uvicorn runs the app's shutdown, which closes the writer).

Personal data never reaches the log raw: ``scrub`` removes the ``pii`` columns, or replaces
them with a keyed hash (HMAC-SHA256 with a per-project secret) so rows can still be joined
without revealing the value.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from steadyml.entities import PredictionRecord

__all__ = ["PredictionLogWriter", "scrub"]


def _json_value(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def scrub(
    inputs: Mapping[str, Any], pii: Iterable[str], *, mode: str = "remove", key: str = ""
) -> dict[str, Any]:
    """The inputs as the log may keep them: personal data removed or keyed-hashed."""
    pii_set = set(pii)
    out: dict[str, Any] = {}
    for col, value in inputs.items():
        if col in pii_set:
            if mode == "hash" and value is not None:
                digest = hmac.new(key.encode(), str(value).encode(), hashlib.sha256).hexdigest()
                out[col] = f"hmac:{digest[:32]}"
            continue
        out[col] = _json_value(value)
    return out


class PredictionLogWriter:
    """Batches prediction records into the store from one background thread."""

    def __init__(
        self,
        write: Callable[[Sequence[PredictionRecord]], Any],
        *,
        flush_ms: float = 200.0,
        max_batch: int = 2000,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._write = write
        self._flush_s = flush_ms / 1000
        self._max_batch = max_batch
        self._on_error = on_error
        self._queue: queue.Queue[PredictionRecord | Callable[[], Iterable[PredictionRecord]] | None]
        self._queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="steadyml-predlog", daemon=True)
            self._thread.start()

    def log(self, records: Iterable[PredictionRecord]) -> None:
        for r in records:
            self._queue.put(r)

    def log_later(self, build: Callable[[], Iterable[PredictionRecord]]) -> None:
        """Queue a function that builds the records; it runs on the writer thread, so the
        caller (the event loop) does not pay for scrubbing and serialising."""
        self._queue.put(build)

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def _run(self) -> None:
        batch: list[PredictionRecord] = []
        deadline = time.monotonic() + self._flush_s
        stopping = False
        while not stopping:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
                if item is None:
                    stopping = True
                else:
                    self._take(item, batch)
            except queue.Empty:
                pass
            if batch and (
                stopping or len(batch) >= self._max_batch or time.monotonic() >= deadline
            ):
                self._flush(batch)
                batch = []
            if time.monotonic() >= deadline:
                deadline = time.monotonic() + self._flush_s
        # drain anything that raced in after the stop marker
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self._take(item, batch)
        if batch:
            self._flush(batch)

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

    def _flush(self, batch: list[PredictionRecord]) -> None:
        for attempt in range(3):
            try:
                self._write(batch)
                self.written += len(batch)
                return
            except Exception as exc:  # keep serving; report and retry
                if attempt == 2:
                    self.failed += len(batch)
                    if self._on_error is not None:
                        self._on_error(exc)
                    return
                time.sleep(0.2 * (attempt + 1))
