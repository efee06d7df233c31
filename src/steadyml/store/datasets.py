"""Repository: dataset versions, data checks and artifact records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from steadyml.entities import ArtifactRecord, CheckRecord, DatasetVersion
from steadyml.errors import NotFoundError, StoreError
from steadyml.store._base import RepoBase, aware, who
from steadyml.store.models import ArtifactRow, DataCheckRow, DatasetVersionRow


class DatasetsRepo(RepoBase):
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
            created_at=aware(row.created_at),
            artifact_digest=row.artifact_digest,
            created_by=row.created_by,
            lineage=None if row.lineage is None else dict(row.lineage),
        )

    def find_dataset_version(self, content_hash: str) -> DatasetVersion | None:
        with self.reader() as s:
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
        lineage: dict[str, Any] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """Record a dataset version; return ``(version, created)``. Same content → same version.

        Two writers racing on the same content both end with the one row the database kept.
        ``lineage``: where a retrain's data came from (parent version, feedback window, rows
        added and refused); kept as the first writer recorded it.
        """
        existing = self.find_dataset_version(content_hash)
        if existing is not None:
            return existing, False

        def build(number: int) -> DatasetVersionRow:
            return DatasetVersionRow(
                project=self.project,
                version=number,
                content_hash=content_hash,
                rows=rows,
                columns=columns,
                schema_hash=schema_hash,
                source=source,
                artifact_digest=artifact_digest,
                created_by=who(),
                created_at=dt.datetime.now(dt.UTC),
                lineage=lineage,
            )

        try:
            row = self.add_numbered(DatasetVersionRow.version, build, what="dataset version")
        except StoreError:
            # a writer racing on the same content wins the content constraint every time
            existing = self.find_dataset_version(content_hash)
            if existing is None:
                raise
            return existing, False
        return self._dataset(row), True

    def list_dataset_versions(self) -> list[DatasetVersion]:
        with self.reader() as s:
            rows = s.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.project == self.project)
                .order_by(DatasetVersionRow.version)
            )
            return [self._dataset(r) for r in rows]

    def get_dataset_version(self, version: int) -> DatasetVersion:
        with self.reader() as s:
            row = s.scalar(
                select(DatasetVersionRow).where(
                    DatasetVersionRow.project == self.project, DatasetVersionRow.version == version
                )
            )
            if row is None:
                known = self.numbers(s, DatasetVersionRow.version)
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
                created_by=who(),
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
            created_at=aware(row.created_at),
            summary=dict(row.summary or {}),
        )

    def list_checks(self) -> list[CheckRecord]:
        with self.reader() as s:
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
                return ArtifactRecord(digest, size, kind, aware(row.created_at))
        except sa_exc.IntegrityError:
            found = self.find_artifact(digest)
            if found is None:  # pragma: no cover - the constraint said it exists
                raise
            return found

    def find_artifact(self, digest: str) -> ArtifactRecord | None:
        with self.reader() as s:
            row = s.scalar(
                select(ArtifactRow).where(
                    ArtifactRow.project == self.project, ArtifactRow.digest == digest
                )
            )
            if row is None:
                return None
            return ArtifactRecord(row.digest, row.size, row.kind, aware(row.created_at))
