"""The base of the repositories: sessions over one project's records."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in some containers
        return "unknown"


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class RepoBase:
    """Sessions over one project's records. Repositories return entities, not ORM rows."""

    def __init__(self, engine: Engine, *, project: str) -> None:
        self.engine = engine
        self.project = project
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(steadyml_readonly=True), expire_on_commit=False
        )

    @property
    def url(self) -> str:
        return make_url(str(self.engine.url)).render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction (on SQLite it takes the write lock at once)."""
        with self._sessions.begin() as s:
            yield s

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only transaction; never blocks other readers."""
        with self._read_sessions.begin() as s:
            yield s
