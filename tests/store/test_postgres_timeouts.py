"""The PostgreSQL connection gives up on a silent host in seconds (connect and TCP timeouts)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from steadyml.errors import StoreError
from steadyml.store import open_store
from steadyml.store.db import POSTGRES_TIMEOUTS, _postgres_timeouts


def test_the_url_wins_over_the_defaults() -> None:
    url = "postgresql+psycopg://u@h/db?connect_timeout=20"
    chosen = _postgres_timeouts(url)
    assert "connect_timeout" not in chosen
    assert chosen["tcp_user_timeout"] == POSTGRES_TIMEOUTS["tcp_user_timeout"]


@pytest.mark.slow  # waits for the connect timeout (5 s)
def test_a_host_that_accepts_and_never_answers_is_an_error_in_seconds() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)  # accepts TCP connections, never speaks PostgreSQL
    port = server.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with pytest.raises(StoreError):
            open_store(f"postgresql://steadyml@127.0.0.1:{port}/postgres", project="p")
        assert time.monotonic() - started < 60  # not the OS's minutes-long TCP timeout
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        server.close()
