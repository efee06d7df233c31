"""The Dask engine: the same per-chunk step, run by Dask workers.

The driver plans the input exactly as the pandas engine does (CSV blocks cut on record
boundaries with their first line number; Parquet row groups with their first row number),
then submits one task per block: ``process_chunk(read(block), ctx)``. The model and the
rules travel to each worker once (``scatter``). Results come back in input order, at most a
few in flight, and the driver writes them with the same temporary-then-rename writers, so
the output is identical to the pandas engine's and memory stays bounded.

Line numbers stay exact because blocks are cut by the driver's own scan (newlines inside
quotes are counted), not by ``dask.dataframe.read_csv``'s byte ranges.

Without ``scheduler`` a ``LocalCluster`` is started for the run (threads, so no process
start-up cost) and closed at the end; with ``scheduler="tcp://host:8786"`` the run uses that
cluster. Workers of a remote cluster must see the input at the same path (a shared disk) and
have steadyml installed.

The key for hashing personal data travels to the workers only when they need it (the run is
logged and ``serving.pii_handling`` is ``hash``): each worker hashes its own blocks' personal
data (docs/privacy.md).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from steadyml.batch.chunks import ChunkContext, ChunkResult, process_chunk
from steadyml.batch.readers import Block, CsvPlan, RawChunk, read_csv_block
from steadyml.data.cluster import dask_client

__all__ = ["dask_chunks"]


def _csv_task(plan: CsvPlan, block: Block, ctx: ChunkContext) -> ChunkResult:
    return process_chunk(read_csv_block(plan, block), ctx)


def _parquet_task(path: str, group: int, first_row: int, ctx: ChunkContext) -> ChunkResult:
    import pyarrow.parquet as pq

    frame = pq.ParquetFile(path).read_row_group(group).to_pandas()
    lines = np.arange(first_row, first_row + len(frame), dtype=np.int64)
    return process_chunk(RawChunk(frame=frame, lines=lines, text=False), ctx)


def dask_chunks(
    ctx: ChunkContext,
    source: Path,
    plan: CsvPlan | None,
    *,
    chunk_rows: int,
    scheduler: str | None,
) -> Iterator[ChunkResult]:
    with dask_client(scheduler) as client:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        ahead = 2 * workers
        if ctx.pii_key and not (ctx.log and ctx.pii_mode == "hash"):
            ctx = dataclasses.replace(ctx, pii_key="")  # the workers need no key: none sent
        shared = client.scatter(ctx, broadcast=True)
        tasks: list[tuple[Any, ...]] = []
        if plan is not None:
            tasks = [(_csv_task, plan, block, shared) for block in plan.blocks]
        else:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(source).metadata
            row = 1
            for group in range(meta.num_row_groups):
                tasks.append((_parquet_task, str(source), group, row, shared))
                row += meta.row_group(group).num_rows
        queue: deque[Any] = deque()
        it = iter(tasks)
        for task in it:
            queue.append(client.submit(*task, pure=False))
            if len(queue) >= ahead:
                break
        while queue:
            result = queue.popleft().result()
            for task in it:
                queue.append(client.submit(*task, pure=False))
                break
            yield result
