"""Compaction of the API log: many one-second chunks merged into few large ones.

Busy traffic writes one chunk a second (``predlog.chunks``): up to 86,400 store rows a day.
Once chunks are older than an hour nobody appends to their period any more, so this merges
consecutive chunks of the same route and model version into chunks of about ``target_rows``
rows, each swap done in one store transaction (``replace_prediction_chunks``: readers see the
old chunks or the new one, and the row counts must match or nothing changes). Chunks that are
already at least half the target are left alone, so a nightly run does not rewrite the same
data again. The retention job runs it (``Project.apply_retention``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from steadyml.errors import StateError
from steadyml.predlog.chunks import chunks_of

if TYPE_CHECKING:
    from steadyml.store import Store
    from steadyml.store.predfiles import PredictionFile

__all__ = ["CompactResult", "compact_log"]


@dataclass(frozen=True)
class CompactResult:
    merged: int  # chunks that were merged away
    made: int  # chunks that replaced them
    rows: int  # rows they hold


def compact_log(
    store: Store, *, older_than: dt.datetime, target_rows: int = 100_000
) -> CompactResult:
    """Merge the API log chunks whose last row is older than ``older_than``."""
    files = store.list_prediction_files(inline=True, ended_before=older_than)
    groups: dict[tuple[str, int | None], list[PredictionFile]] = {}
    for f in files:  # oldest first
        groups.setdefault((f.route, f.model_version), []).append(f)
    merged = made = rows = 0
    for group in groups.values():
        for run in _runs(group, target_rows):
            done = _merge(store, run)
            if done:
                merged += len(run)
                made += done
                rows += sum(f.rows for f in run)
    return CompactResult(merged=merged, made=made, rows=rows)


def _runs(files: Sequence[PredictionFile], target_rows: int) -> list[list[PredictionFile]]:
    """Consecutive small chunks, cut at about ``target_rows`` rows; single chunks dropped."""
    runs: list[list[PredictionFile]] = []
    current: list[PredictionFile] = []
    held = 0
    for f in files:
        if f.rows >= target_rows // 2:  # already large: a boundary
            if len(current) > 1:
                runs.append(current)
            current, held = [], 0
            continue
        if current and held + f.rows > target_rows:
            if len(current) > 1:
                runs.append(current)
            current, held = [], 0
        current.append(f)
        held += f.rows
    if len(current) > 1:
        runs.append(current)
    return runs


def _merge(store: Store, run: Sequence[PredictionFile]) -> int:
    """Replace ``run`` by its merged chunk(s); 0 when it could not be done (nothing changed)."""
    import pyarrow as pa

    from steadyml.store.predfiles import read_table

    found = store.prediction_chunks_data([f.id for f in run])
    if len(found) != len(run):
        return 0  # some went meanwhile (retention): leave the rest for the next run
    tables = [read_table(found[f.id]) for f in run]
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return 0  # their columns cannot be joined (the contract changed): keep them apart
    new = [chunk.row_fields() for chunk in chunks_of(table)]
    try:
        store.replace_prediction_chunks([f.id for f in run], new)
    except StateError:
        return 0
    return len(new)
