"""A PostgreSQL cluster of a test's own (initdb + pg_ctl on a free loopback port, as
scripts/postgres.sh does), for tests that stop and restart the database under a server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from live_server import free_port


def _bindir() -> str:
    for d in [*sorted(glob.glob("/usr/lib/postgresql/*/bin")), "/usr/local/bin", "/usr/bin"]:
        if os.access(f"{d}/initdb", os.X_OK) and os.access(f"{d}/pg_ctl", os.X_OK):
            return d
    raise RuntimeError("PostgreSQL's initdb and pg_ctl were not found (see scripts/postgres.sh)")


@dataclass
class Cluster:
    folder: Path
    port: int
    bindir: str
    run: list[str] = field(default_factory=list)  # runuser -u postgres -- when root

    @property
    def url(self) -> str:
        return f"postgresql://steadyml@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*self.run, f"{self.bindir}/pg_ctl", "-D", str(self.folder / "data"),
                        *args], check=True, capture_output=True, timeout=120)  # fmt: skip

    def start(self) -> None:
        self._ctl("-l", str(self.folder / "server.log"), "-w", "-t", "60", "-o",
                  f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off", "start")  # fmt: skip

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")


@contextmanager
def own_cluster() -> Iterator[Cluster]:
    """A fresh cluster, started; stopped and removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="steadyml-pg-own."))
    run: list[str] = []
    if os.getuid() == 0:  # PostgreSQL refuses to run as root
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
        shutil.chown(folder, "postgres")
        run = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(folder, free_port(), _bindir(), run)
    subprocess.run([*run, f"{cluster.bindir}/initdb", "-D", str(folder / "data"), "-U",
                    "steadyml", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
