"""The HTTP edge on a real uvicorn server (issue 12): a client that sends headers and then
trickles its body is answered 408 and let go; a chunked body over the limit gets 413; the
server's options reach the app (``--info-auth``)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from factories import copy_project, read_keys
from live_server import Server, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def edge_server(
    serving_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    root = copy_project(serving_template, tmp_path_factory.mktemp("edge"))
    srv = start_server(root, read_keys(root), "--body-timeout", "1", "--info-auth", "api_key",
                       "--header-timeout", "1")  # fmt: skip
    yield srv
    srv.stop()


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_client_that_trickles_its_body_gets_408_and_the_connection_closed(
    edge_server: Server,
) -> None:
    url = urlsplit(edge_server.url)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + edge_server.keys["predict"].encode() + b"\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"records": ['
        )
        answer = _read_all(sock)  # the server closes: without the fix this waits forever
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert "did not arrive within 1 s" in json.loads(body)["error"]


def test_a_client_that_never_finishes_its_headers_gets_408_and_the_connection_closed(
    edge_server: Server,
) -> None:
    """Slowloris: the request line and some headers, a byte at a time, never the blank line
    that ends them. uvicorn sets no limit; the server answers 408 after --header-timeout and
    closes, and a well-behaved client on the same server is still served."""
    import time

    url = urlsplit(edge_server.url)
    started = time.monotonic()
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n")
        try:
            for byte in b"X-Slow: yes":
                sock.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass  # closed under us: what the limit is for
        answer = _read_all(sock)  # without the limit this waits until the socket times out
    assert time.monotonic() - started < 10
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"headers did not arrive in time" in answer
    assert edge_server.get("/ready").status_code == 200
    # a kept-alive connection that starts a second request and stalls is let go too
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b"}" not in first:  # the whole first answer: headers, then its JSON body
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first[:200]
        sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n")
        rest = _read_all(sock)  # returns once the server closes (the socket's 30 s else)
        assert rest == b"" or rest.startswith(b"HTTP/1.1 408"), rest[:200]
    assert time.monotonic() - started < 30


def test_a_chunked_body_over_the_limit_gets_413(edge_server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"records": ['
        for _ in range(2_100):
            yield b'{"tenure_months": 1, "contract": "' + b"x" * 990 + b'"},'
        yield b"{}]}"

    answer = httpx.post(f"{edge_server.url}/v1/predict", content=chunks(), timeout=30,
                        headers={"content-type": "application/json",
                                 "X-API-Key": edge_server.keys["predict"]})  # fmt: skip
    assert answer.status_code == 413, answer.text
    assert "larger than the limit" in answer.json()["error"]


def test_info_auth_reaches_the_server(edge_server: Server) -> None:
    assert edge_server.get("/v1/model").status_code == 401
    keyed = edge_server.get("/v1/model", headers={"X-API-Key": edge_server.keys["feedback"]})
    assert keyed.status_code == 200
    assert edge_server.get("/ready").json() == {"ok": True, "status": "ready"}
