"""Settings of one server process (from the CLI; the project file supplies the rest)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

ENV = "STEADYML_SERVE_SETTINGS"


@dataclass(frozen=True)
class ServeSettings:
    require_auth: bool = True
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

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServeSettings:
        raw = os.environ.get(ENV)
        return cls(**json.loads(raw)) if raw else cls()
