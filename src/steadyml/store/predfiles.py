"""Repository: prediction logs kept in columns, one row per batch run or per API log chunk.

A batch run of millions of rows writes its prediction log to one Parquet file in the artifact
store and records ONE row here: the batch id, the file's digest, how many rows it holds (and
how many of them the contract refused), when and with which model version. Counting,
retention and the monitor read these rows; the rows themselves live in the file.

The API's log writer does the same for busy traffic: every second or so it writes what it
gathered as one chunk (a zstd Arrow IPC file) whose bytes are kept in this row itself
(``inline``, no artifact-store round trip), with ``at`` and ``at_last`` the times of its first
and last row; ``replace_prediction_chunks`` swaps many for merged ones (``predlog.compact``).

Feedback labels name predictions by row key. So that ``add_feedback`` can still report keys
that match no logged prediction without reading every file, each row keeps a Bloom filter of
the file's row keys (``store.keyfilter``). An API chunk's filter holds its
request ids and row keys; request ids carry their time (``entities.new_request_id``), so a
label for one is checked only against the chunks logged around that time.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from steadyml.entities import PredictionRecord, request_id_time
from steadyml.errors import NotFoundError, StateError
from steadyml.store._base import RepoBase, aware
from steadyml.store.keyfilter import KeyFilter, KeyHashes
from steadyml.store.models import PredictionFileRow

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["KeyFilter", "PredictionFile", "PredictionFilesRepo", "read_table"]

# a request id is made when its request arrives and logged when it is answered: look for it
# in the chunks logged this long around its time
_CHUNK_SLACK = dt.timedelta(minutes=5)


def read_table(data: bytes) -> pa.Table:
    """A logged table from its bytes: a batch run's Parquet file or an API chunk (Arrow IPC)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if data[:6] == b"ARROW1":
        return pa.ipc.open_file(pa.BufferReader(data)).read_all()
    return pq.read_table(pa.BufferReader(data))


@dataclass(frozen=True)
class PredictionFile:
    id: int
    batch_id: str
    digest: str
    artifacts_url: str
    rows: int
    rows_refused: int
    at: dt.datetime
    model_version: int | None
    route: str
    created: dt.datetime
    inline: bool = False  # an API log chunk: the bytes are in the store row
    at_last: dt.datetime | None = None  # the time of the last row (API chunks)

    @property
    def ends(self) -> dt.datetime:
        return self.at_last or self.at


def _file(row: PredictionFileRow) -> PredictionFile:
    return PredictionFile(
        id=row.id,
        batch_id=row.batch_id,
        digest=row.digest,
        artifacts_url=row.artifacts_url,
        rows=int(row.rows),
        rows_refused=int(row.rows_refused),
        at=aware(row.at),
        model_version=row.model_version,
        route=row.route,
        created=aware(row.created),
        inline=bool(row.inline),
        at_last=None if row.at_last is None else aware(row.at_last),
    )


class PredictionFilesRepo(RepoBase):
    def add_prediction_file(
        self,
        *,
        batch_id: str,
        digest: str,
        artifacts_url: str,
        rows: int,
        rows_refused: int,
        at: dt.datetime,
        model_version: int | None,
        route: str = "batch",
        key_filter: bytes | None = None,
        data: bytes | None = None,
        at_last: dt.datetime | None = None,
    ) -> PredictionFile:
        """Record a batch run's prediction log (its file is already in the artifact store),
        or, with ``data``, an API log chunk whose bytes are kept in the row."""
        with self.session() as s:
            row = PredictionFileRow(
                project=self.project,
                batch_id=batch_id,
                digest=digest.removeprefix("sha256:"),
                artifacts_url=artifacts_url,
                rows=rows,
                rows_refused=rows_refused,
                at=at,
                model_version=model_version,
                route=route,
                key_filter=key_filter,
                created=dt.datetime.now(dt.UTC),
                inline=data is not None,
                data=data,
                at_last=at_last,
            )
            s.add(row)
            s.flush()
            return _file(row)

    def list_prediction_files(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        model_version: int | None = None,
        route: str | None = None,
        ended_before: dt.datetime | None = None,
        inline: bool | None = None,
    ) -> list[PredictionFile]:
        """Files (and API chunks) holding rows logged in [since, until), oldest first; a chunk
        that straddles ``since`` or ``until`` is included (its reader filters the rows).
        ``ended_before``: only those whose last row is older than that time."""
        last = func.coalesce(PredictionFileRow.at_last, PredictionFileRow.at)
        with self.reader() as s:
            q = select(PredictionFileRow).where(PredictionFileRow.project == self.project)
            if since is not None:
                q = q.where(last >= since)
            if until is not None:
                q = q.where(PredictionFileRow.at < until)
            if ended_before is not None:
                q = q.where(last < ended_before)
            if model_version is not None:
                q = q.where(PredictionFileRow.model_version == model_version)
            if route is not None:
                q = q.where(PredictionFileRow.route == route)
            if inline is not None:
                q = q.where(PredictionFileRow.inline.is_(inline))
            rows = s.scalars(q.order_by(PredictionFileRow.at, PredictionFileRow.id))
            return [_file(r) for r in rows]

    def has_log_chunk(self, digest: str, at: dt.datetime) -> bool:
        """Whether the API log chunk with these bytes (sha256) and first row time is stored
        (the log writer asks before it writes again a chunk whose answer was lost)."""
        with self.reader() as s:
            found = s.scalar(
                select(PredictionFileRow.id)
                .where(
                    PredictionFileRow.project == self.project,
                    PredictionFileRow.at == at,
                    PredictionFileRow.digest == digest.removeprefix("sha256:"),
                    PredictionFileRow.inline.is_(True),
                )
                .limit(1)
            )
            return found is not None

    def prediction_chunk_data(self, file_id: int) -> bytes:
        """The bytes of an API log chunk (``PredictionFile.inline``)."""
        found = self.prediction_chunks_data([file_id])
        if file_id not in found:
            raise NotFoundError(
                f"Prediction log chunk {file_id} holds no data here.",
                hint="It may have been removed by retention while it was being read.",
            )
        return found[file_id]

    def prediction_chunks_data(self, file_ids: Sequence[int]) -> dict[int, bytes]:
        """The bytes of many API log chunks at once, by id (those that still exist)."""
        out: dict[int, bytes] = {}
        wanted = list(file_ids)
        with self.reader() as s:
            for start in range(0, len(wanted), 500):
                rows = s.execute(
                    select(PredictionFileRow.id, PredictionFileRow.data).where(
                        PredictionFileRow.project == self.project,
                        PredictionFileRow.id.in_(wanted[start : start + 500]),
                    )
                )
                out.update({i: bytes(d) for i, d in rows if d is not None})
        return out

    def replace_prediction_chunks(
        self, old_ids: Sequence[int], new: Sequence[dict[str, Any]]
    ) -> list[PredictionFile]:
        """Swap API log chunks for merged ones in one transaction: readers see either the old
        chunks or the new ones, never both or neither. Refused (StateError) when any old
        chunk is already gone (retention or another compaction got there first)."""
        wanted = sorted(set(old_ids))
        with self.session() as s:
            where = (PredictionFileRow.project == self.project) & PredictionFileRow.id.in_(wanted)
            # the old chunks locked (PostgreSQL; SQLite's write transaction holds the file):
            # a second compaction of the same chunks waits here, then finds them gone, instead
            # of counting them before the first commits and adding its merged copy beside
            locked = s.execute(
                select(PredictionFileRow.id, PredictionFileRow.rows)
                .where(where & PredictionFileRow.inline.is_(True))
                .with_for_update()
            ).all()
            held = (len(locked), sum(int(r) for _, r in locked))
            if int(held[0]) != len(wanted):
                raise StateError(
                    "Some of these log chunks are gone; nothing was replaced.",
                    hint="Run the compaction again: it starts from the chunks that exist.",
                )
            if int(held[1]) != sum(int(f["rows"]) for f in new):
                raise StateError(
                    f"The merged chunks hold {sum(int(f['rows']) for f in new)} rows, the old "
                    f"ones {int(held[1])}; nothing was replaced.",
                    hint="This is a bug in the compaction; the log is unchanged.",
                )
            gone = s.execute(delete(PredictionFileRow).where(where)).rowcount  # type: ignore[attr-defined]
            if gone != len(wanted):  # pragma: no cover - the lock above makes this impossible
                raise StateError(
                    "Some of these log chunks went while they were replaced; nothing was replaced.",
                    hint="Run the compaction again: it starts from the chunks that exist.",
                )
            rows = [
                PredictionFileRow(
                    project=self.project, inline=True, created=dt.datetime.now(dt.UTC), **fields
                )
                for fields in new
            ]
            s.add_all(rows)
            s.flush()
            return [_file(r) for r in rows]

    def delete_prediction_files(self, ids: Iterable[int]) -> int:
        """Forget these files' rows; returns how many predictions they held. The bytes stay
        in the artifact store (the caller removes them when nothing else points at them)."""
        wanted = list(ids)
        if not wanted:
            return 0
        with self.session() as s:
            where = (PredictionFileRow.project == self.project) & PredictionFileRow.id.in_(wanted)
            held = s.scalar(select(func.coalesce(func.sum(PredictionFileRow.rows), 0)).where(where))
            s.execute(delete(PredictionFileRow).where(where))
            return int(held or 0)

    def prediction_file_digest_used(self, digest: str) -> bool:
        with self.reader() as s:
            found = s.scalar(
                select(func.count())
                .select_from(PredictionFileRow)
                .where(PredictionFileRow.digest == digest.removeprefix("sha256:"))
            )
            return bool(found)

    def count_file_predictions(
        self, *, route: str | None = None, answered: bool | None = None
    ) -> int:
        """Rows held by batch prediction files (``answered`` as in ``count_predictions``)."""
        with self.reader() as s:
            return count_file_rows(s, self.project, route=route, answered=answered)


def count_file_rows(
    s: Session, project: str, *, route: str | None = None, answered: bool | None = None
) -> int:
    """Rows held by a project's batch prediction files; ``answered=True`` only the rows that
    got an answer, ``False`` only the rows the contract refused."""
    if answered is None:
        held: Any = PredictionFileRow.rows
    elif answered:
        held = PredictionFileRow.rows - PredictionFileRow.rows_refused
    else:
        held = PredictionFileRow.rows_refused
    q = select(func.coalesce(func.sum(held), 0)).where(PredictionFileRow.project == project)
    if route is not None:
        q = q.where(PredictionFileRow.route == route)
    return int(s.scalar(q) or 0)


_CHUNK_META = ("request_id", "row_key", "at", "model_version", "route", "prediction", "score",
               "latency_ms", "fallback", "error")  # fmt: skip


def chunk_predictions(
    s: Session, project: str, *, limit: int, request_ids: Sequence[str] | None = None
) -> list[PredictionRecord]:
    """Predictions held by API log chunks, newest chunk first (up to ``limit``); with
    ``request_ids``, only those (a chunk is opened only when its key filter may hold one)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = None if request_ids is None else list(dict.fromkeys(request_ids))
    out: list[PredictionRecord] = []
    q = (
        select(PredictionFileRow.id, PredictionFileRow.key_filter)
        .where(PredictionFileRow.project == project, PredictionFileRow.inline.is_(True))
        .order_by(PredictionFileRow.at.desc(), PredictionFileRow.id.desc())
    )
    for file_id, blob in s.execute(q).all():
        if len(out) >= limit or wanted == []:
            break
        if wanted is not None:
            bloom = KeyFilter.from_bytes(blob) if blob else None
            if bloom is not None and not any(bloom.contains(wanted)):
                continue
        data = s.scalar(select(PredictionFileRow.data).where(PredictionFileRow.id == file_id))
        if data is None:
            continue
        table = read_table(bytes(data))
        if wanted is not None:
            table = table.filter(pc.is_in(table["request_id"], pa.array(wanted, pa.string())))
        inputs = [c for c in table.column_names if c not in _CHUNK_META]
        for row in reversed(table.to_pylist()):
            out.append(
                PredictionRecord(
                    request_id=row["request_id"],
                    at=aware(row["at"]),
                    model_version=row["model_version"],
                    route=row["route"],
                    inputs={c: row[c] for c in inputs},
                    prediction=row["prediction"],
                    score=row["score"],
                    latency_ms=row["latency_ms"],
                    fallback=bool(row["fallback"]),
                    error=row["error"],
                    row_key=row["row_key"],
                )
            )
            if len(out) >= limit:
                break
        if wanted is not None:
            found = {r.request_id for r in out}
            wanted = [k for k in wanted if k not in found]
    return out


def keys_in_files(s: Session, project: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` some batch file logged: a row key in its Bloom filter, or a request
    id ``<batch id>:<line>`` of a recorded batch run."""
    import numpy as np

    if not keys:
        return set()
    known: set[str] = set()
    batch_ids = {k.split(":", 1)[0] for k in keys if k.startswith("batch-") and ":" in k}
    if batch_ids:
        found = set(
            s.scalars(
                select(PredictionFileRow.batch_id).where(
                    PredictionFileRow.project == project,
                    PredictionFileRow.batch_id.in_(sorted(batch_ids)),
                )
            )
        )
        known |= {k for k in keys if k.split(":", 1)[0] in found}
    left = [k for k in keys if k not in known]
    if not left:
        return known
    # which keys each filter must answer for: a request id that carries its time only the API
    # chunks logged around that time (and every batch file); any other key every filter
    stamps = {k: request_id_time(k) for k in left}
    timed = sorted((t, k) for k, t in stamps.items() if t is not None)
    times = [t for t, _ in timed]
    untimed = [k for k, t in stamps.items() if t is None]
    every = [k for _, k in timed] + untimed
    slack = _CHUNK_SLACK
    asked: dict[int, list[str]] = {}
    for file_id, inline, at, at_last in s.execute(
        select(PredictionFileRow.id, PredictionFileRow.inline, PredictionFileRow.at,
               PredictionFileRow.at_last)
        .where(PredictionFileRow.project == project, PredictionFileRow.key_filter.is_not(None))
    ):  # fmt: skip
        if not inline:
            asked[file_id] = every
            continue
        lo = bisect.bisect_left(times, aware(at) - slack)
        hi = bisect.bisect_right(times, aware(at_last or at) + slack)
        near = [k for _, k in timed[lo:hi]] + untimed
        if near:
            asked[file_id] = near
    ids = list(asked)
    if not ids:
        return known  # no filter to ask: nothing to hash
    hashed = KeyHashes(left)  # once, for every filter
    position = {k: i for i, k in enumerate(left)}
    for start in range(0, len(ids), 200):
        part = ids[start : start + 200]
        for file_id, blob in s.execute(
            select(PredictionFileRow.id, PredictionFileRow.key_filter).where(
                PredictionFileRow.id.in_(part)
            )
        ):
            bloom = KeyFilter.from_bytes(blob) if blob else None
            if bloom is None:
                continue
            wanted = [k for k in asked[file_id] if k not in known]
            if not wanted:
                continue
            hits = bloom.contains_hashed(hashed, np.asarray([position[k] for k in wanted]))
            known |= {k for k, hit in zip(wanted, hits, strict=True) if hit}
        if len(known) >= len(keys):
            break
    return known
