"""Start and stop real servers: `python -m steadyml.serving` under uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    root: Path
    keys: dict[str, str]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:  # pragma: no cover - only if shutdown hangs
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to this server (the same calls as ``inprocess.AppServer``)."""
        kwargs.setdefault("timeout", 30)
        return httpx.request(method, f"{self.url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


def start_server(root: Path, keys: dict[str, str], *extra: str) -> Server:
    port = free_port()
    log = root / f"server-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "steadyml.serving", "--project", str(root), "--host",
             "127.0.0.1", "--port", str(port), "--log-level", "warning", *extra],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return Server(url, proc, root, keys, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become ready:\n{log.read_text()}")


def store_dump(root: Path) -> dict[str, str]:
    """Every table of a project's SQLite store as text, the log's chunks decoded: what a
    person with the database file could read."""
    import json

    from sqlalchemy import create_engine, inspect, text

    from steadyml.store.predfiles import read_table

    def show(value: object) -> str:
        if isinstance(value, (bytes, memoryview)):
            data = bytes(value)
            if data[:6] == b"ARROW1" or data[:4] == b"PAR1":
                return json.dumps(read_table(data).to_pylist(), default=str)
        return str(value)

    engine = create_engine(f"sqlite:///{root / '.steadyml' / 'store.db'}")
    try:
        with engine.connect() as conn:
            return {
                table: json.dumps(
                    [[show(v) for v in row] for row in conn.execute(text(f"select * from {table}"))]
                )
                for table in inspect(engine).get_table_names()
            }
    finally:
        engine.dispose()
