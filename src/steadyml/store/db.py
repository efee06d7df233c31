"""Opening the metadata store: engine, SQLite settings, migrations, and the repositories.

The default is a SQLite file in the project (WAL mode, so readers never block the writer);
a PostgreSQL URL works the same. Migrations run on first use. A database written by a newer
steadyml (a schema revision this code does not know) is refused with a clear error instead of
being read wrongly.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from steadyml.errors import MissingExtraError, StoreError, StoreVersionError
from steadyml.store.datasets import DatasetsRepo
from steadyml.store.monitoring import MonitoringRepo
from steadyml.store.predfiles import PredictionFilesRepo
from steadyml.store.runs import RunsRepo
from steadyml.store.serving import ServingRepo
from steadyml.store.versions import RegistryRepo

MIGRATIONS = Path(__file__).parent / "migrations"


def _normalise_url(url: str) -> str:
    """Plain paths become SQLite URLs; ``postgresql://`` uses psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # pragma: no cover - a URL we cannot parse is shown as given
        return url


def _make_engine(url: str) -> Engine:
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise MissingExtraError(
                "The metadata store URL points at PostgreSQL, but the PostgreSQL driver is "
                "not installed.",
                hint="Install it with: pip install 'steadyml[postgres]'",
            ) from None
    if sa_url.get_backend_name() == "sqlite":
        db = sa_url.database or ""
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy control transactions, and start each with BEGIN IMMEDIATE (below):
            # a writer takes the write lock up front, so two promotions queue on the busy
            # timeout instead of failing when a read lock cannot be upgraded.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            readonly = conn.get_execution_options().get("steadyml_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=_postgres_timeouts(url))


#: libpq settings so a database host that stops answering (not one that refuses) is noticed in
#: seconds, not after the operating system's TCP timeout (minutes): the log writer and the key
#: cache then treat it as an outage (store/outage.py). A value in the URL's query wins.
POSTGRES_TIMEOUTS = {
    "connect_timeout": 5,  # seconds to open a connection
    "keepalives": 1,
    "keepalives_idle": 5,  # seconds of silence before the first probe
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,  # ms a sent request may go unacknowledged
}


def _postgres_timeouts(url: str) -> dict[str, Any]:
    given = make_url(url).query
    return {k: v for k, v in POSTGRES_TIMEOUTS.items() if k not in given}


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError("steadyml ships no database migrations; the install is broken.")
    return head


_REVISION = re.compile(r"""^(down_)?revision\s*=\s*["']?([^"'\s]+)["']?""", re.MULTILINE)


@functools.cache
def _shipped_head() -> str | None:
    """The head revision of the shipped migrations, read from their files without importing
    Alembic (about 0.15 s at every start; it is only needed when the schema must change).
    None when the files do not say plainly (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (parents if down else revisions).add(value)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the database already has the shipped head revision (a plain read)."""
    head = _shipped_head()
    if head is None:
        return False
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            current = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except sa_exc.SQLAlchemyError:
        return False  # Alembic looks again, and reports what is wrong
    return [tuple(row) for row in current] == [(head,)]


def migrate(engine: Engine) -> str:
    """Bring the schema to this code's head revision; refuse a newer database."""
    if _at_head(engine):
        return _shipped_head() or ""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    with engine.begin() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        cfg = _alembic_config(conn)
        script = ScriptDirectory.from_config(cfg)
        head = script.get_current_head()
        if current == head:
            return current or ""
        known = {rev.revision for rev in script.walk_revisions()}
        if current is not None and current not in known:
            raise StoreVersionError(
                f"The metadata store at {_redact(str(engine.url))} has schema revision "
                f"'{current}', which this steadyml does not know (it knows up to '{head}'). "
                "It was written by a newer steadyml.",
                hint="Upgrade steadyml (pip install -U steadyml) rather than using an older "
                "version on this store; nothing was changed.",
            )
        try:
            command.upgrade(cfg, "head")
        except CommandError as exc:  # pragma: no cover - defensive
            raise StoreError(f"Could not migrate the metadata store: {exc}") from exc
    return head or ""


def open_store(url: str, *, project: str) -> Store:
    """Open (and if needed create and migrate) the metadata store at ``url``."""
    full = _normalise_url(url)
    engine = _make_engine(full)
    try:
        migrate(engine)
    except StoreError:
        engine.dispose()
        raise
    except sa_exc.OperationalError as exc:
        engine.dispose()
        raise StoreError(
            f"Could not open the metadata store at {_redact(full)}: {exc.orig}",
            hint="Check STEADYML_STORE_URL (or storage.store_url in steadyml.yaml): the "
            "server must be running and the user allowed to connect.",
        ) from None
    return Store(engine, project=project)


class Store(DatasetsRepo, RunsRepo, RegistryRepo, ServingRepo, MonitoringRepo, PredictionFilesRepo):
    """Every repository over one project's records, on one engine."""
