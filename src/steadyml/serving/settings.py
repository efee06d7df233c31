"""Settings of one server process (from the CLI; the project file supplies the rest)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

ENV = "STEADYML_SERVE_SETTINGS"
ENV_HEADER_TIMEOUT = "STEADYML_HEADER_TIMEOUT"  # serving.header_timeout reads it
HEADER_TIMEOUT_S = 10.0  # a request's line and headers must arrive within this (default)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
INFO_AUTH = ("auto", "api_key", "none")


@dataclass(frozen=True)
class ServeSettings:
    require_auth: bool = True
    host: str = "127.0.0.1"  # where the server listens: decides info_auth "auto"
    # who may read /v1/model, its card, /openapi.json, /docs and /ready's details (guard.py):
    # "api_key" a caller with a valid key, "none" anyone, "auto" a key off loopback;
    # None: the project file's serving.info_auth
    info_auth: str | None = None
    body_timeout_s: float = 30.0  # a request body not all arrived by then: 408 (limits.py)
    max_body_bytes: int = 2_000_000
    max_wait_ms: float = 2.0
    max_batch_rows: int = 256
    # a group of at most inline_rows rows whose model's last call took at most inline_ms is
    # scored on the event loop: no thread hand-off for a fast serving form (batcher.py)
    inline_ms: float = 2.0
    inline_rows: int = 64
    poll_seconds: float = 1.0
    log_predictions: bool = True
    log_flush_ms: float = 200.0  # refused records and the writer's wake-ups
    log_chunk_ms: float = 1000.0  # answered records: gathered this long, then written
    log_chunk_min_rows: int = 100  # at least this many gathered: a chunk (Arrow IPC), else rows
    log_backlog_rows: int = 60_000  # above this many unwritten log rows, answers wait
    # the metadata store unreachable: keys checked before answer this long; at most this many
    # log rows wait in memory, then new predictions get 503 (nothing answered is lost)
    key_grace_seconds: float = 300.0
    log_buffer_rows: int = 200_000
    ui: bool = False  # the dashboard's pages at /ui (steadyml serve --ui)

    def info_needs_key(self, configured: str = "auto") -> bool:
        """Whether the routes that describe the service need a key (``configured``: the
        project file's ``serving.info_auth``, used when ``info_auth`` is None)."""
        mode = self.info_auth or configured
        if not self.require_auth or mode == "none":
            return False  # no keys to ask for
        return mode == "api_key" or self.host not in LOOPBACK

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeSettings:
        raw = os.environ.get(ENV)
        return cls(**json.loads(raw)) if raw else cls()
