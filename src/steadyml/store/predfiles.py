"""Repository: batch prediction logs kept as Parquet files, one row per batch run.

A batch run of millions of rows writes its prediction log to one Parquet file in the artifact
store and records ONE row here: the batch id, the file's digest, how many rows it holds (and
how many of them the contract refused), when and with which model version. Counting,
retention and the monitor read these rows; the rows themselves live in the file.

Feedback labels name predictions by row key. So that ``add_feedback`` can still report keys
that match no logged prediction without reading every file, each row keeps a Bloom filter of
the file's row keys (about 1.8 bytes per key; a key never logged is taken for a logged one
with a chance of about 1 in 1,000, never the other way round).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from steadyml.store._base import RepoBase, aware
from steadyml.store.models import PredictionFileRow

__all__ = ["KeyFilter", "PredictionFile", "PredictionFilesRepo"]

_MAGIC = b"SMBF1"
_HEADER = struct.Struct("<5sQB")
_KEY_A = "steadyml-bloom-a"  # 16 bytes each: pandas' siphash keys
_KEY_B = "steadyml-bloom-b"


class KeyFilter:
    """A Bloom filter over strings, built and queried a whole array at a time (numpy)."""

    BITS_PER_KEY = 14.4  # with 10 hashes: about 0.1% false positives
    HASHES = 10

    def __init__(self, expected: int, *, bits: Any = None, hashes: int | None = None) -> None:
        import numpy as np

        m = max(64, int(max(expected, 1) * self.BITS_PER_KEY) // 8 * 8 + 8)
        self.bits = np.zeros(m // 8, dtype=np.uint8) if bits is None else bits
        self.m = len(self.bits) * 8
        self.k = hashes or self.HASHES

    def _positions(self, keys: Sequence[str] | Any) -> Any:
        import numpy as np
        import pandas as pd

        values = np.asarray(keys, dtype=object)
        h1 = pd.util.hash_array(values, hash_key=_KEY_A, categorize=False)
        h2 = pd.util.hash_array(values, hash_key=_KEY_B, categorize=False) | np.uint64(1)
        steps = np.arange(self.k, dtype=np.uint64)[:, None]
        with np.errstate(over="ignore"):
            return (h1[None, :] + steps * h2[None, :]) % np.uint64(self.m)

    def add(self, keys: Sequence[str] | Any) -> None:
        import numpy as np

        if len(keys) == 0:
            return
        pos = self._positions(keys).ravel()
        np.bitwise_or.at(self.bits, (pos >> np.uint64(3)).astype(np.intp),
                         (np.uint8(1) << (pos & np.uint64(7)).astype(np.uint8)))  # fmt: skip

    def contains(self, keys: Sequence[str]) -> list[bool]:
        import numpy as np

        if not len(keys):
            return []
        pos = self._positions(keys)
        byte = self.bits[(pos >> np.uint64(3)).astype(np.intp)]
        hit = (byte >> (pos & np.uint64(7)).astype(np.uint8)) & np.uint8(1)
        return [bool(x) for x in hit.all(axis=0)]

    def to_bytes(self) -> bytes:
        return _HEADER.pack(_MAGIC, self.m, self.k) + self.bits.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> KeyFilter | None:
        """The filter, or None for bytes this version does not understand."""
        import numpy as np

        if len(data) < _HEADER.size:
            return None
        magic, m, k = _HEADER.unpack_from(data)
        if magic != _MAGIC or m != (len(data) - _HEADER.size) * 8:
            return None
        bits = np.frombuffer(data, dtype=np.uint8, offset=_HEADER.size)
        return cls(0, bits=bits, hashes=k)


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
    ) -> PredictionFile:
        """Record a batch run's prediction log (its file is already in the artifact store)."""
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
    ) -> list[PredictionFile]:
        """Files whose rows were logged in [since, until), oldest first."""
        with self.reader() as s:
            q = select(PredictionFileRow).where(PredictionFileRow.project == self.project)
            if since is not None:
                q = q.where(PredictionFileRow.at >= since)
            if until is not None:
                q = q.where(PredictionFileRow.at < until)
            if model_version is not None:
                q = q.where(PredictionFileRow.model_version == model_version)
            if route is not None:
                q = q.where(PredictionFileRow.route == route)
            rows = s.scalars(q.order_by(PredictionFileRow.at, PredictionFileRow.id))
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


def keys_in_files(s: Session, project: str, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` some batch file logged: a row key in its Bloom filter, or a request
    id ``<batch id>:<line>`` of a recorded batch run."""
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
    blobs = s.scalars(
        select(PredictionFileRow.key_filter).where(
            PredictionFileRow.project == project, PredictionFileRow.key_filter.is_not(None)
        )
    )
    for blob in blobs:
        bloom = KeyFilter.from_bytes(blob) if blob else None
        if bloom is None:
            continue
        hits = bloom.contains(left)
        known |= {k for k, hit in zip(left, hits, strict=True) if hit}
        left = [k for k, hit in zip(left, hits, strict=True) if not hit]
        if not left:
            break
    return known
