"""Opening the metadata store: engine, SQLite settings, migrations, and the repositories.

The default is a SQLite file in the project (WAL mode, so readers never block the writer);
a PostgreSQL URL works the same. Migrations run on first use. A database written by a newer
steadyml (a schema revision this code does not know) is refused with a clear error instead of
being read wrongly.
"""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from steadyml.entities import ArtifactRecord, CheckRecord, DatasetVersion
from steadyml.errors import MissingExtraError, NotFoundError, StoreError, StoreVersionError
from steadyml.store.models import ArtifactRow, DataCheckRow, DatasetVersionRow

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
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


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


def migrate(engine: Engine) -> str:
    """Bring the schema to this code's head revision; refuse a newer database."""
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


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in some containers
        return "unknown"


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Store:
    """Repositories over one project's records. Methods return entities, not ORM rows."""

    def __init__(self, engine: Engine, *, project: str) -> None:
        self.engine = engine
        self.project = project
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        return _redact(str(self.engine.url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # --- dataset versions -------------------------------------------------------------

    @staticmethod
    def _dataset(row: DatasetVersionRow) -> DatasetVersion:
        return DatasetVersion(
            version=row.version,
            content_hash=row.content_hash,
            rows=row.rows,
            columns=row.columns,
            schema_hash=row.schema_hash,
            source=row.source,
            created_at=_aware(row.created_at),
            artifact_digest=row.artifact_digest,
            created_by=row.created_by,
        )

    def find_dataset_version(self, content_hash: str) -> DatasetVersion | None:
        with self.session() as s:
            row = s.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.project == self.project,
                    DatasetVersionRow.content_hash == content_hash,
                )
            )
            return None if row is None else self._dataset(row)

    def add_dataset_version(
        self,
        *,
        content_hash: str,
        rows: int,
        columns: int,
        schema_hash: str,
        source: str,
        artifact_digest: str | None,
    ) -> tuple[DatasetVersion, bool]:
        """Record a dataset version; return ``(version, created)``. Same content → same version.

        Two writers racing on the same content both end with the one row the database kept.
        """
        for _attempt in range(5):
            existing = self.find_dataset_version(content_hash)
            if existing is not None:
                return existing, False
            try:
                with self.session() as s:
                    latest = (
                        s.scalar(
                            select(func.max(DatasetVersionRow.version)).where(
                                DatasetVersionRow.project == self.project
                            )
                        )
                        or 0
                    )
                    row = DatasetVersionRow(
                        project=self.project,
                        version=latest + 1,
                        content_hash=content_hash,
                        rows=rows,
                        columns=columns,
                        schema_hash=schema_hash,
                        source=source,
                        artifact_digest=artifact_digest,
                        created_by=_who(),
                        created_at=dt.datetime.now(dt.UTC),
                    )
                    s.add(row)
                    s.flush()
                    return self._dataset(row), True
            except sa_exc.IntegrityError:
                continue  # another writer took this number or this content; look again
        raise StoreError(
            "Could not record the dataset version after 5 tries (busy store).",
            hint="Try again; if it keeps happening, check for a stuck writer.",
        )

    def list_dataset_versions(self) -> list[DatasetVersion]:
        with self.session() as s:
            rows = s.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.project == self.project)
                .order_by(DatasetVersionRow.version)
            )
            return [self._dataset(r) for r in rows]

    def get_dataset_version(self, version: int) -> DatasetVersion:
        with self.session() as s:
            row = s.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.project == self.project, DatasetVersionRow.version == version
                )
            )
            if row is None:
                known = [v.version for v in self.list_dataset_versions()]
                have = f"Versions: {known[0]}–{known[-1]}." if known else "There are none yet."
                raise NotFoundError(
                    f"Project '{self.project}' has no dataset version {version}. {have}",
                    hint="Record one with `steadyml data snapshot`.",
                )
            return self._dataset(row)

    def latest_dataset_version(self) -> DatasetVersion | None:
        versions = self.list_dataset_versions()
        return versions[-1] if versions else None

    # --- data checks ------------------------------------------------------------------

    def add_check(
        self,
        *,
        kind: str,
        source: str,
        content_hash: str,
        passed: bool,
        errors: int,
        warnings: int,
        summary: dict[str, Any],
    ) -> CheckRecord:
        with self.session() as s:
            row = DataCheckRow(
                project=self.project,
                kind=kind,
                source=source,
                content_hash=content_hash,
                passed=passed,
                errors=errors,
                warnings=warnings,
                summary=summary,
                created_by=_who(),
                created_at=dt.datetime.now(dt.UTC),
            )
            s.add(row)
            s.flush()
            return self._check(row)

    @staticmethod
    def _check(row: DataCheckRow) -> CheckRecord:
        return CheckRecord(
            id=row.id,
            kind=row.kind,
            source=row.source,
            content_hash=row.content_hash,
            passed=row.passed,
            errors=row.errors,
            warnings=row.warnings,
            created_at=_aware(row.created_at),
            summary=dict(row.summary or {}),
        )

    def list_checks(self) -> list[CheckRecord]:
        with self.session() as s:
            rows = s.scalars(
                select(DataCheckRow)
                .where(DataCheckRow.project == self.project)
                .order_by(DataCheckRow.id)
            )
            return [self._check(r) for r in rows]

    # --- artifacts --------------------------------------------------------------------

    def add_artifact(self, *, digest: str, size: int, kind: str) -> ArtifactRecord:
        try:
            with self.session() as s:
                row = ArtifactRow(
                    project=self.project,
                    digest=digest,
                    size=size,
                    kind=kind,
                    created_at=dt.datetime.now(dt.UTC),
                )
                s.add(row)
                s.flush()
                return ArtifactRecord(digest, size, kind, _aware(row.created_at))
        except sa_exc.IntegrityError:
            found = self.find_artifact(digest)
            if found is None:  # pragma: no cover - the constraint said it exists
                raise
            return found

    def find_artifact(self, digest: str) -> ArtifactRecord | None:
        with self.session() as s:
            row = s.scalar(
                select(ArtifactRow).where(
                    ArtifactRow.project == self.project, ArtifactRow.digest == digest
                )
            )
            if row is None:
                return None
            return ArtifactRecord(row.digest, row.size, row.kind, _aware(row.created_at))
