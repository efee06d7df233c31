"""The demo's real server: started in the background on a free port, stopped with SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from steadyml.errors import SteadyMLError


@contextmanager
def running_server(root: Path, *, log_name: str = "demo-server.log") -> Iterator[str]:
    """Yield the URL of ``python -m steadyml.serving`` for ``root``; stop it cleanly after."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = root / ".steadyml" / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "steadyml.serving", "--project", str(root), "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise SteadyMLError(f"The demo server stopped early; see {log}.")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SteadyMLError(f"The demo server did not get ready in 90 s; see {log}.")
            time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
