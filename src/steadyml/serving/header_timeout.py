"""A time limit on a request's headers, at the connection: uvicorn sets none.

uvicorn times out an idle keep-alive connection, and the service times out a body that
trickles (``serving.limits``: 408), but a client that opens a connection and sends its
request line and headers a byte at a time, or never finishes them, held the connection (and
its file descriptor and memory) for as long as it liked: a handful of such clients can use up
a server's connections (slowloris). ``HeaderTimeoutProtocol`` is uvicorn's own h11 protocol
with one timer: started when the connection opens (and when a later request on a kept-alive
connection arrives in pieces), stopped as soon as the request's headers are complete. A
request that arrives whole needs no timer: one per connection, none per request. When it
fires the client gets ``408 Request Timeout`` and the connection is closed. ``steadyml serve
--header-timeout`` sets it (default 10 s), passed to the worker processes in
``STEADYML_HEADER_TIMEOUT``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from steadyml.serving.settings import ENV_HEADER_TIMEOUT, HEADER_TIMEOUT_S

__all__ = ["ENV_HEADER_TIMEOUT", "HEADER_TIMEOUT_S", "HeaderTimeoutProtocol"]

_REFUSAL = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 45\r\n\r\n"
    b"the request headers did not arrive in time.\r\n"
)


def _limit() -> float:
    try:
        value = float(os.environ.get(ENV_HEADER_TIMEOUT, HEADER_TIMEOUT_S))
    except ValueError:
        return HEADER_TIMEOUT_S
    return value if value > 0 else HEADER_TIMEOUT_S


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol with a limit on how long a request's line and headers may take:
    from the connection's opening for its first request, from the first bytes of a later one
    that does not arrive whole (uvicorn's keep-alive timer stops at any data)."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(_limit(), self._too_slow)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            if self._header_timer is not None:
                self._disarm()  # the request line and headers are in
        elif self._header_timer is None and self.conn.trailing_data[0]:
            # part of a later request on a kept-alive connection (uvicorn stops its keep-alive
            # timer on any data): timed from its first bytes. A request that arrives whole is
            # parsed at once and never gets here.
            self._header_timer = self.loop.call_later(_limit(), self._too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self, *_: Any) -> None:
        self._header_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if self.conn.our_state is h11.IDLE:
            self.transport.write(_REFUSAL)
        self.transport.close()
