"""Real servers for the service tests: `python -m steadyml.serving` under uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import steadyml


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


@pytest.fixture(scope="session")
def _serving_template(_trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained project with two versions (v1 in production) and API keys."""
    root = tmp_path_factory.mktemp("serving") / "churn"
    shutil.copytree(_trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.train(force=True)
        project.promote(1, "production", reason="tests", by="tests")
        keys = {
            "predict": project.create_key("app", ["predict"])[0],
            "feedback": project.create_key("labels", ["feedback"])[0],
            "admin": project.create_key("ops", ["admin"])[0],
        }
    (root / "keys.txt").write_text("\n".join(f"{k}={v}" for k, v in keys.items()))
    return root


def _keys(root: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
    return dict(pairs)


@pytest.fixture(scope="module")
def server(_serving_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, on its own copy of the project."""
    root = tmp_path_factory.mktemp("srv") / "churn"
    shutil.copytree(_serving_template, root)
    srv = start_server(root, _keys(root))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(_serving_template: Path, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that change or stop it."""
    root = tmp_path / "churn"
    shutil.copytree(_serving_template, root)
    srv = start_server(root, _keys(root))
    yield srv
    srv.stop()
