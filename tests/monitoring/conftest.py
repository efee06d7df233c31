"""Shared fixtures of the monitoring tests: a real webhook receiver (``receiver``) and a maker
of prediction-log frames shaped like ``steadyml.monitoring.windows.load_log``'s (``make_log``).

Tests annotate them loosely (``Receiver = Any``): conftest modules are not imported by name."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pandas as pd
import pytest

T0 = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday


@dataclass
class Receiver:
    """A webhook receiver that answers with the next status in ``statuses`` (last one repeats)."""

    statuses: list[int]
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def bodies(self) -> list[Any]:
        """The JSON bodies received, in order."""
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that records every POST."""
    state = Receiver(statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            index = min(len(state.requests) - 1, len(state.statuses) - 1)
            status = state.statuses[index]
            reply = b"ok" if status < 400 else f"nope {status}: invalid_payload".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # a short poll interval: shutdown() waits for the next poll (0.5 s by default)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def make_log() -> Callable[..., pd.DataFrame]:
    """A maker of prediction-log frames (see ``_log``)."""
    return _log


def _log(n: int, *, start: dt.datetime = T0, step: dt.timedelta = dt.timedelta(minutes=1),
         **columns: Any) -> pd.DataFrame:  # fmt: skip
    """``n`` prediction-log rows one ``step`` apart from ``start``: live, answered, 5 ms each.

    Keyword arguments set or add columns (a scalar or one value per row), e.g.
    ``make_log(4, route=["live", "live", "shadow", "batch"], tenure=[1, 2, 3, 4])``.
    """
    times = [start + i * step for i in range(n)]
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "at": times,
            "route": "live",
            "latency_ms": 5.0,
            "error": pd.Series([None] * n, dtype=object),
            "fallback": False,
            "prediction": 0,
            "score": 0.2,
            "row_key": pd.Series([None] * n, dtype=object),
            "time": pd.to_datetime(times, utc=True),
        }
    )
    for name, value in columns.items():
        frame[name] = value
    return frame
