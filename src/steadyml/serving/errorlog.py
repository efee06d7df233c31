"""One log line per repeated error, not a traceback per request.

A failure that hits every request (the database down, a bug on the predict path) used to
write its ~180-line traceback once per 500: hundreds of thousands of lines in a short outage,
the first and only useful one buried. ``RepeatedErrors`` logs the first occurrence of an
error (its type and the place it was raised) with its traceback, counts the repeats
silently, and writes one line per window with the count::

    Unhandled RuntimeError at service.py:123 (database is locked) repeated 1,234 times in
    the last 60 s (last: POST /v1/predict, request id ...); its traceback was logged first.

The count of a window is written when the same error comes back after the window, and for
every error still counted when the app stops (``flush``), so no repeat goes unreported.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["WINDOW_S", "RepeatedErrors"]

WINDOW_S = 60.0
MAX_KINDS = 1000  # distinct (type, place) pairs remembered; past this, counts are written out


@dataclass
class _Seen:
    since: float  # the start of the current window
    repeats: int  # occurrences in the window not yet written
    last: str  # the request of the last one


def _kind(exc: BaseException) -> tuple[str, str]:
    """(the error's type, where it was raised: the innermost frame's file and line)."""
    tb = exc.__traceback__
    place = "unknown place"
    while tb is not None:
        place = f"{os.path.basename(tb.tb_frame.f_code.co_filename)}:{tb.tb_lineno}"
        tb = tb.tb_next
    return type(exc).__qualname__, place


class RepeatedErrors:
    """Logs each kind of error with its traceback once, then a count per window."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        window_s: float = WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, str], _Seen] = {}

    def report(self, exc: BaseException, *, request: str) -> None:
        """Log ``exc``, raised while answering ``request`` ("GET /v1/x, request id …")."""
        kind = _kind(exc)
        now = self.clock()
        seen = self._seen.get(kind)
        if seen is None:
            if len(self._seen) >= MAX_KINDS:
                self.flush()
                self._seen.clear()
            self._seen[kind] = _Seen(since=now, repeats=0, last=request)
            self.logger.error(
                "Unhandled %s at %s answering %s; repeats of it are counted, not logged "
                "one by one.",
                kind[0],
                kind[1],
                request,
                exc_info=exc,
            )
            return
        seen.repeats += 1
        seen.last = request
        if now - seen.since >= self.window_s:
            self._write(kind, seen, now, exc)
            seen.since, seen.repeats = now, 0

    def flush(self) -> None:
        """Write the count of every error repeated since its last line (at shutdown)."""
        now = self.clock()
        for kind, seen in self._seen.items():
            if seen.repeats:
                self._write(kind, seen, now, None)
                seen.since, seen.repeats = now, 0

    def _write(
        self, kind: tuple[str, str], seen: _Seen, now: float, exc: BaseException | None
    ) -> None:
        what = f" ({str(exc)[:200]})" if exc is not None and str(exc) else ""
        self.logger.error(
            "Unhandled %s at %s%s repeated %s times in the last %.0f s (last: %s); its "
            "traceback was logged at its first occurrence.",
            kind[0],
            kind[1],
            what,
            f"{seen.repeats:,}",
            max(now - seen.since, 0.0),
            seen.last,
        )
