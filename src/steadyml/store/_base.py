"""The base of the repositories: sessions over one project's records."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from steadyml.errors import StoreError

RowT = TypeVar("RowT")


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

    def add_numbered(
        self, column: InstrumentedAttribute[int], build: Callable[[int], RowT], *, what: str
    ) -> RowT:
        """Insert a row numbered 1, 2, 3… within the project (runs, versions).

        The next number is read and used in one transaction; when a concurrent writer took it
        first, the unique constraint refuses the insert and the next attempt reads again.
        """
        table: Any = column.class_
        for _attempt in range(5):
            try:
                with self.session() as s:
                    latest = s.scalar(select(func.max(column)).where(table.project == self.project))
                    row = build((latest or 0) + 1)
                    s.add(row)
                    s.flush()
                    return row
            except sa_exc.IntegrityError:
                continue
        raise StoreError(
            f"Could not record the {what} after 5 tries (busy store).",
            hint="Try again; if it keeps happening, check for a stuck writer.",
        )

    def numbers(self, s: Session, column: InstrumentedAttribute[int]) -> list[int]:
        """Every number used so far in the project (for "no version 9; versions 1–8")."""
        table: Any = column.class_
        return list(s.scalars(select(column).where(table.project == self.project).order_by(column)))
