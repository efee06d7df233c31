"""Repository: the prediction log, feedback labels, API keys, the traffic policy, secrets."""

from __future__ import annotations

import datetime as dt
import json
import secrets as pysecrets
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, update

from steadyml.entities import ApiKey, PredictionRecord, TrafficPolicy
from steadyml.errors import NotFoundError
from steadyml.store._base import RepoBase, aware
from steadyml.store.models import (
    ApiKeyRow,
    FeedbackRow,
    PredictionRow,
    SecretRow,
    TrafficRow,
)
from steadyml.store.predfiles import chunk_predictions, count_file_rows, keys_in_files


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes or []),
        created_by=row.created_by,
        created_at=aware(row.created_at),
        revoked_at=None if row.revoked_at is None else aware(row.revoked_at),
    )


_ENCODE = json.JSONEncoder(default=str, check_circular=False).encode
_INF = float("inf")


class ServingRepo(RepoBase):
    # --- the prediction log ------------------------------------------------------------

    def add_predictions(self, records: Sequence[PredictionRecord]) -> int:
        """Insert many predictions at once (the log writer and batch scoring batch them).

        A plain parameterised INSERT run with the driver's executemany, JSON serialised here:
        about twice as fast as SQLAlchemy's typed bulk insert, which matters when a batch run
        logs millions of rows.
        """
        if not records:
            return 0
        postgres = self.dialect == "postgresql"
        mark, as_json = ("%s", "%s::json") if postgres else ("?", "?")
        sql = (
            "INSERT INTO predictions (project, request_id, row_key, at, model_version, route, "
            "inputs, prediction, score, latency_ms, fallback, error) VALUES ("
            + ", ".join([mark] * 6 + [as_json, as_json] + [mark] * 4)
            + ")"
        )

        stamps: dict[dt.datetime, Any] = {}  # a request's records share one time

        def stamp(at: dt.datetime) -> Any:
            if postgres:
                return at
            found = stamps.get(at)
            if found is None:
                utc = at.astimezone(dt.UTC) if at.tzinfo else at
                found = stamps[at] = utc.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's format
            return found

        encode = _ENCODE

        def value(v: Any) -> str:
            kind = type(v)
            if kind is int or (kind is float and v == v and v not in (_INF, -_INF)):
                return repr(v)  # the same text json writes, without its call overhead
            return encode(v)

        rows = [
            (
                self.project,
                r.request_id,
                r.row_key,
                stamp(r.at),
                r.model_version,
                r.route,
                encode(r.inputs),
                value(r.prediction),
                r.score,
                r.latency_ms,
                bool(r.fallback),
                r.error,
            )
            for r in records
        ]
        with self.session() as s:
            s.connection().exec_driver_sql(sql, rows)
        return len(rows)

    def logged_request_ids(self, request_ids: Sequence[str]) -> set[str]:
        """Which of ``request_ids`` the SQL log holds (the log writer asks before it writes
        again rows whose answer was lost)."""
        found: set[str] = set()
        wanted = list(dict.fromkeys(request_ids))
        with self.reader() as s:
            for start in range(0, len(wanted), 500):
                found.update(
                    s.scalars(
                        select(PredictionRow.request_id).where(
                            PredictionRow.project == self.project,
                            PredictionRow.request_id.in_(wanted[start : start + 500]),
                        )
                    )
                )
        return found

    def count_predictions(self, *, route: str | None = None, answered: bool | None = None) -> int:
        """How many rows the log holds (the SQL log and batch runs' files); ``answered=True``
        counts only rows that got an answer (the model's or the fallback's), ``False`` only
        rows refused (e.g. by the contract)."""
        with self.reader() as s:
            q = (
                select(func.count())
                .select_from(PredictionRow)
                .where(PredictionRow.project == self.project)
            )
            if route is not None:
                q = q.where(PredictionRow.route == route)
            if answered is not None:
                refused = PredictionRow.error.is_not(None) & PredictionRow.fallback.is_(False)
                q = q.where(~refused if answered else refused)
            in_sql = int(s.scalar(q) or 0)
            # batch runs log to Parquet files: one store row per run holds their counts
            return in_sql + count_file_rows(s, self.project, route=route, answered=answered)

    def list_predictions(
        self, *, limit: int = 1000, request_ids: Iterable[str] | None = None
    ) -> list[PredictionRecord]:
        """Logged predictions, newest first: rows of the SQL log, then the API's log chunks
        (batch runs' files are read by ``predlog.read_log``)."""
        wanted = None if request_ids is None else list(request_ids)
        with self.reader() as s:
            q = select(PredictionRow).where(PredictionRow.project == self.project)
            if wanted is not None:
                q = q.where(PredictionRow.request_id.in_(wanted))
            rows = s.scalars(q.order_by(PredictionRow.id.desc()).limit(limit))
            found = [
                PredictionRecord(
                    request_id=r.request_id,
                    at=aware(r.at),
                    model_version=r.model_version,
                    route=r.route,
                    inputs=dict(r.inputs or {}),
                    prediction=r.prediction,
                    score=r.score,
                    latency_ms=r.latency_ms,
                    fallback=r.fallback,
                    error=r.error,
                    row_key=r.row_key,
                )
                for r in rows
            ]
            if len(found) < limit:
                if wanted is not None:
                    seen = {r.request_id for r in found}
                    wanted = [k for k in wanted if k not in seen]
                found += chunk_predictions(
                    s, self.project, limit=limit - len(found), request_ids=wanted
                )
            return found

    # --- feedback ------------------------------------------------------------------------

    def add_feedback(self, labels: Sequence[tuple[str, Any]]) -> tuple[int, list[str]]:
        """Store labels by request id (or row key); the last label wins, repeats are counted.

        Returns (stored, unknown keys): a label whose key matches no logged prediction is
        still kept (it may arrive before a batch is logged) and reported back.
        """
        keys = [k for k, _ in labels]
        now = dt.datetime.now(dt.UTC)
        with self.session() as s:
            known: set[str] = set()
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                known |= set(
                    s.scalars(
                        select(PredictionRow.request_id).where(
                            PredictionRow.project == self.project,
                            PredictionRow.request_id.in_(chunk),
                        )
                    )
                )
                known |= {
                    k
                    for k in s.scalars(
                        select(PredictionRow.row_key).where(
                            PredictionRow.project == self.project,
                            PredictionRow.row_key.in_(chunk),
                        )
                    )
                    if k is not None
                }
            unseen = [k for k in dict.fromkeys(keys) if k not in known]
            known |= keys_in_files(s, self.project, unseen)  # batch runs: their log files
            latest: dict[str, tuple[Any, int]] = {}
            for key, label in labels:  # within one call too, the last label wins
                _, seen = latest.get(key, (None, 0))
                latest[key] = (label, seen + 1)
            unique = list(latest)
            existing: dict[str, FeedbackRow] = {}
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                for row in s.scalars(
                    select(FeedbackRow).where(
                        FeedbackRow.project == self.project, FeedbackRow.key.in_(chunk)
                    )
                ):
                    existing[row.key] = row
            for key, (label, seen) in latest.items():
                found = existing.get(key)
                if found is None:
                    s.add(
                        FeedbackRow(
                            project=self.project, key=key, label=label, received=seen, at=now
                        )
                    )
                else:
                    found.label = label
                    found.received += seen
                    found.at = now
        return len(labels), [k for k in dict.fromkeys(keys) if k not in known]

    def get_feedback(self, key: str) -> tuple[Any, int] | None:
        with self.reader() as s:
            row = s.scalar(
                select(FeedbackRow).where(
                    FeedbackRow.project == self.project, FeedbackRow.key == key
                )
            )
            return None if row is None else (row.label, row.received)

    # --- API keys ------------------------------------------------------------------------

    def add_api_key(
        self, *, name: str, prefix: str, key_hash: str, scopes: list[str], created_by: str
    ) -> ApiKey:
        with self.session() as s:
            row = ApiKeyRow(
                project=self.project,
                name=name,
                prefix=prefix,
                key_hash=key_hash,
                scopes=scopes,
                created_by=created_by,
                created_at=dt.datetime.now(dt.UTC),
            )
            s.add(row)
            s.flush()
            return _key(row)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        with self.reader() as s:
            row = s.scalar(
                select(ApiKeyRow).where(
                    ApiKeyRow.project == self.project, ApiKeyRow.key_hash == key_hash
                )
            )
            return None if row is None else _key(row)

    def list_api_keys(self) -> list[ApiKey]:
        with self.reader() as s:
            rows = s.scalars(
                select(ApiKeyRow).where(ApiKeyRow.project == self.project).order_by(ApiKeyRow.id)
            )
            return [_key(r) for r in rows]

    def revoke_api_key(self, key_id: int) -> ApiKey:
        with self.session() as s:
            row = s.scalar(
                select(ApiKeyRow).where(ApiKeyRow.project == self.project, ApiKeyRow.id == key_id)
            )
            if row is None:
                raise NotFoundError(
                    f"There is no API key {key_id}.",
                    hint="List them with `steadyml keys list`.",
                )
            if row.revoked_at is None:
                s.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.id == row.id)
                    .values(revoked_at=dt.datetime.now(dt.UTC))
                )
                s.refresh(row)
            return _key(row)

    # --- traffic policy --------------------------------------------------------------------

    def get_traffic(self) -> TrafficPolicy:
        with self.reader() as s:
            row = s.get(TrafficRow, self.project)
            if row is None:
                return TrafficPolicy()
            return TrafficPolicy(
                mode=row.mode,  # type: ignore[arg-type]
                challenger_version=row.challenger_version,
                percent=row.percent,
                sticky_by=row.sticky_by,
                updated_by=row.updated_by,
                reason=row.reason,
                updated_at=aware(row.updated_at),
            )

    def set_traffic(self, policy: TrafficPolicy) -> TrafficPolicy:
        now = dt.datetime.now(dt.UTC)
        with self.session() as s:
            row = s.get(TrafficRow, self.project)
            values = {
                "mode": policy.mode,
                "challenger_version": policy.challenger_version,
                "percent": policy.percent,
                "sticky_by": policy.sticky_by,
                "updated_by": policy.updated_by,
                "reason": policy.reason,
                "updated_at": now,
            }
            if row is None:
                s.add(TrafficRow(project=self.project, **values))
            else:
                for k, v in values.items():
                    setattr(row, k, v)
        return self.get_traffic()

    # --- secrets ------------------------------------------------------------------------

    def secret(self, name: str) -> str:
        """A per-project random secret, created on first use and the same ever after."""
        with self.reader() as s:
            row = s.get(SecretRow, (self.project, name))
            if row is not None:
                return row.value
        try:
            with self.session() as s:
                s.add(SecretRow(project=self.project, name=name, value=pysecrets.token_hex(32)))
        except sa_exc.IntegrityError:
            pass  # another process created it first: use theirs
        with self.reader() as s:
            row = s.get(SecretRow, (self.project, name))
            if row is None:  # pragma: no cover - just written
                raise NotFoundError(f"Secret {name!r} could not be created.")
            return row.value
