"""The Dask engine of the monitor: the parts of the log read and counted by Dask workers.

The driver lists the log's parts (``steadyml.predlog.reader.log_parts``): the SQL log, which
it reads itself (quiet API traffic: small), each batch run's file, whose hash it checks once
and which then goes out as one task per row group, and the API's chunks, 200 per task. Each
task reads its part and counts it into the windows it touches (``monitor.measure``), exactly
as the pandas engine counts its pieces; the counts come back in the log's order, a few in
flight, and the driver adds them up. So the numbers are the pandas engine's, and the driver
holds counts, never rows.

Without ``scheduler`` a ``LocalCluster`` (threads) is started for the run and closed at the
end; with ``scheduler="tcp://host:8786"`` the run uses that cluster, whose workers must reach
the metadata store (its URL, password included, travels with each task) and the artifact
store, and have steadyml installed.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from steadyml.data.cluster import dask_client
from steadyml.monitoring.counting import LogReader, Measure, Partial, measure
from steadyml.predlog.reader import LogPart, log_parts, read_part, split_file

if TYPE_CHECKING:
    from steadyml.store import Store

__all__ = ["dask_partials"]

_STORES: dict[tuple[str, str], Store] = {}
_STORES_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Where:
    """How a worker reaches the log and reads it for the run's period."""

    store_url: str
    project: str
    artifacts_url: str | None
    since: Any
    until: Any
    time_column: str | None
    model_version: int | None
    piece_rows: int
    columns: tuple[str, ...]


def dask_partials(
    read: LogReader, columns: Sequence[str], how: Measure, scheduler: str | None
) -> Iterator[Partial]:
    """The log's parts counted on a Dask cluster, in the log's order."""
    period = read.read_args()
    parts = log_parts(read.store, since=period["since"], until=period["until"],
                      model_version=read.model_version)  # fmt: skip
    tasks: list[LogPart] = []
    for part in parts[1:]:
        tasks += split_file(part, read.artifacts) if part.kind == "file" else [part]
    where = _Where(
        store_url=read.store.engine.url.render_as_string(hide_password=False),
        project=read.store.project,
        artifacts_url=read.artifacts.url if read.artifacts is not None else None,
        since=read.since,
        until=read.until,
        time_column=read.time_column,
        model_version=read.model_version,
        piece_rows=read.piece_rows,
        columns=tuple(read.wanted(columns)),
    )
    sql = read_part(parts[0], read.store, read.artifacts, **read.read_args(),
                    columns=where.columns)  # fmt: skip
    yield measure(read.timed(sql, read.columns), how)  # the SQL log: read here
    if not tasks:
        return
    with dask_client(scheduler) as client:
        ahead = 2 * max(len(client.scheduler_info().get("workers", {})), 1)
        shared_how, shared_where = client.scatter([how, where], broadcast=True)
        queue: deque[Any] = deque()
        pending = iter(tasks)
        for part in pending:
            queue.append(client.submit(_count, part, shared_where, shared_how, pure=False))
            if len(queue) >= ahead:
                break
        while queue:
            result = queue.popleft().result()
            for part in pending:
                queue.append(client.submit(_count, part, shared_where, shared_how, pure=False))
                break
            yield result


def _count(part: LogPart, where: _Where, how: Measure) -> Partial:
    """A worker's task: read one part of the log and count it into its windows."""
    from steadyml.artifacts import ArtifactStore

    store = _store(where.store_url, where.project)
    artifacts = ArtifactStore(where.artifacts_url) if where.artifacts_url else None
    read = LogReader(store, artifacts, since=where.since, until=where.until,
                     time_column=where.time_column, model_version=where.model_version,
                     piece_rows=where.piece_rows)  # fmt: skip
    frames = read_part(part, store, artifacts, **read.read_args(), columns=where.columns)
    seen: set[str] = set()
    partial = measure(read.timed(frames, seen), how)
    partial.columns |= seen
    return partial


def _store(url: str, project: str) -> Store:
    """The metadata store, opened once per worker process."""
    from steadyml.store import open_store

    with _STORES_LOCK:
        store = _STORES.get((url, project))
        if store is None:
            store = _STORES[(url, project)] = open_store(url, project=project)
        return store
