"""Batch scoring: a CSV or Parquet file in, scored rows and rejected rows out.

``score_file`` streams the input in chunks (memory does not grow with the file), validates
every row against the data contract, scores the good rows with the model in production (or
a chosen version), and writes:

* the output (CSV or Parquet, by extension): the id column, ``_row`` (the CSV line number or
  the Parquet row number), ``prediction``, ``score``, ``model_version``, ``scored_at`` and
  ``_warnings`` (the contract's expectations the row breaks, '' when none: such a row is
  scored, since it is only outside what training showed);
* the rejects (CSV): ``_line``, ``_reason`` and the row's original values as text: the rows
  that break a rule of the contract (and, with ``on_unexpected="refuse"``, an expectation).

Rows in = rows scored + rows rejected, always. Both files are written under temporary names
and renamed only when the run has finished, so a failed or killed run never leaves a
complete-looking output. Scored and refused rows go to the prediction log (route ``batch``):
one Parquet file per run in the artifact store and one ``prediction_files`` row in the store
(``steadyml.predlog.BatchLogFile``), with the id column as the row key so feedback labels join
them later.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from steadyml.batch.chunks import (
    ChunkContext,
    ChunkResult,
    log_input_types,
    output_schema,
    prediction_type,
    process_chunk,
    rejects_schema,
)
from steadyml.batch.readers import (
    CsvPlan,
    iter_parquet,
    parquet_info,
    plan_csv,
    read_csv_block,
)
from steadyml.batch.validate import build_rules, missing_columns_error
from steadyml.batch.writers import AtomicTableWriter, output_kind, remove_stale_temp_files
from steadyml.data.loading import existing_file, file_kind
from steadyml.errors import DataError, SteadyMLError
from steadyml.predlog.keys import pii_key

if TYPE_CHECKING:
    from steadyml.artifacts import ArtifactStore
    from steadyml.config import DataSection
    from steadyml.data.contract import Contract, OnUnexpected
    from steadyml.predlog import BatchLogFile
    from steadyml.registry import ModelBundle
    from steadyml.store import Store

__all__ = ["BatchResult", "score_file", "default_rejects_path"]

Progress = Callable[[int, "int | None"], None]
_BLANK_SHOWN = 5


@dataclass(frozen=True)
class BatchResult:
    input: str
    output: str
    rejects: str | None
    rows_in: int
    rows_scored: int
    rows_rejected: int
    model_version: int
    engine: str
    seconds: float
    rows_per_second: float
    reasons: dict[str, int]
    notes: list[str] = field(default_factory=list)
    rows_with_warnings: int = 0  # scored rows outside what training showed (see _warnings)
    warnings: dict[str, int] = field(default_factory=dict)  # "column: what" -> rows
    on_unexpected: str = "answer"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["counts_add_up"] = self.rows_in == self.rows_scored + self.rows_rejected
        return d


def default_rejects_path(out: Path) -> Path:
    name = out.name
    for suffix in (".parquet", ".pq", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}.rejects.csv")


def score_file(
    input: str | Path,  # noqa: A002 - the public name
    out: str | Path,
    *,
    bundle: ModelBundle,
    contract: Contract | None,
    data: DataSection,
    store: Store,
    artifacts: ArtifactStore,
    root: Path,
    pii_mode: str = "drop",
    rejects: str | Path | None = None,
    chunk_rows: int = 50_000,
    engine: Literal["pandas", "dask"] = "pandas",
    scheduler: str | None = None,
    log: bool = True,
    progress: Progress | None = None,
    on_unexpected: OnUnexpected = "answer",
) -> BatchResult:
    """Score ``input`` into ``out`` with ``bundle``; rows that break ``contract`` go to
    ``rejects`` with their line and reason. ``data`` gives the column roles and missing
    codes; the run is logged to ``store`` and ``artifacts`` unless ``log`` is false; ``root``
    is the folder the result's paths are shown relative to. A row that breaks only the
    contract's expectations is scored with warnings, or rejected when ``on_unexpected`` is
    ``"refuse"``. The use case that picks the model
    and the contract is ``steadyml.flows.batch.score_batch``."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise SteadyMLError(f"chunk_rows must be a whole number ≥ 1. Got {chunk_rows!r} instead.")
    if engine not in ("pandas", "dask"):
        raise SteadyMLError(f"engine must be 'pandas' or 'dask'. Got {engine!r} instead.")
    if on_unexpected not in ("answer", "refuse"):
        raise SteadyMLError(
            f"on_unexpected must be 'answer' or 'refuse'. Got {on_unexpected!r} instead.",
            field="on_unexpected",
        )
    started = time.perf_counter()
    source = existing_file(Path(input), field="input").resolve()
    target = _resolved(out, "out")
    output_kind(target)  # refuse a wrong extension before any work
    rejects_path = _resolved(rejects, "rejects") if rejects else default_rejects_path(target)
    if rejects_path.suffix.lower() != ".csv":
        raise DataError(
            f"The rejects file must be CSV; got '{rejects_path.name}'.",
            hint="Give a path that ends in .csv, for example bad_rows.csv.",
            field="rejects",
        )
    if _same_file(target, rejects_path):
        raise DataError(
            f"The scores and the rejects would be written to the same file '{target}': "
            "one would overwrite the other.",
            hint="Give the rejects a path of their own (for example "
            f"'{default_rejects_path(target).name}'), or leave it out to use that default.",
            field="rejects",
        )
    for path, name in ((target, "out"), (rejects_path, "rejects")):
        if _same_file(source, path):
            raise DataError(
                f"The {'output' if name == 'out' else 'rejects file'} '{path}' is the input "
                "file: it would overwrite the input being scored.",
                hint="Choose another path for the output (and for the rejects).",
                field=name,
            )
    kind = file_kind(source, field="input")
    version = int(bundle.version or 0)
    roles = data.roles()
    id_column = roles.id
    rules = build_rules(
        contract, bundle.features, id_column, data.missing_codes, on_unexpected=on_unexpected
    )

    plan: CsvPlan | None = None
    source_types: dict[str, pa.DataType] | None = None
    if kind == "csv":
        plan = plan_csv(source, chunk_rows=chunk_rows)
        header, total = plan.header, plan.lines - 1
    else:
        info = parquet_info(source)
        header, total, source_types = info.columns, info.rows, info.types
    problem = missing_columns_error(source.name, header, rules)
    if problem is not None:
        raise problem
    log_columns = [
        c for c in (contract.columns if contract is not None else header)
        if c in header and c != roles.target
    ]  # fmt: skip
    for name in bundle.features:
        if name not in log_columns:
            log_columns.append(name)
    ctx = ChunkContext(
        bundle=bundle,
        rules=rules,
        id_column=id_column if id_column in header else None,
        header=header,
        log_columns=log_columns,
        pii=list(roles.pii),
        pii_mode=pii_mode,
        pii_key=pii_key(root, store) if log and pii_mode == "hash" else "",
        batch_id=f"batch-{uuid.uuid4().hex[:16]}",
        log=log,
        log_at=dt.datetime.now(dt.UTC),
        log_types=log_input_types(log_columns, list(roles.pii), pii_mode, rules, source_types),
        prediction_type=prediction_type(bundle),
    )
    if engine == "dask":
        from steadyml.batch.dask_engine import dask_chunks

        chunks = dask_chunks(ctx, source, plan, chunk_rows=chunk_rows, scheduler=scheduler)
    else:
        chunks = _pandas_chunks(ctx, source, plan, chunk_rows)
    log_file = None
    if log:
        from steadyml.predlog import BatchLogFile, log_schema

        log_file = BatchLogFile(
            store,
            artifacts,
            batch_id=ctx.batch_id,
            at=ctx.log_at,
            model_version=version,
            schema=log_schema(ctx.prediction_type or pa.string(), ctx.log_types),
            expected_rows=total or 0,
        )
    stale = remove_stale_temp_files(target) + remove_stale_temp_files(rejects_path)
    counts = _write_all(chunks, ctx, target, rejects_path, log_file, total, progress)
    seconds = time.perf_counter() - started
    rows_in, scored, rejected, kinds, blank, warned, warning_kinds = counts
    if rows_in != scored + rejected:  # pragma: no cover - a bug, never bad data
        raise SteadyMLError(f"Row counts do not add up: {rows_in} ≠ {scored} + {rejected}.")
    notes = []
    if stale:
        notes.append(
            f"Removed {len(stale)} temporary file(s) left by an earlier run of the same output "
            f"that stopped before it finished: {', '.join(stale)}."
        )
    if blank:
        shown = ", ".join(map(str, blank[:_BLANK_SHOWN])) + (" …" if len(blank) > 5 else "")
        notes.append(f"{len(blank)} blank line(s) held no row and were skipped (line {shown}).")
    if warned:
        notes.append(
            f"{warned:,} scored row(s) are outside what the model saw in training (the "
            "contract's expectations); each says which field and why in the _warnings column."
        )
    if log:
        notes.append(
            f"{scored:,} prediction(s) logged (route batch, request ids '{ctx.batch_id}:LINE'"
            + (f", row key = {ctx.id_column}" if ctx.id_column else "")
            + f"; {rejected:,} refused row(s) too), in one Parquet file in the artifact store."
        )
    return BatchResult(
        input=_relative(root, source),
        output=_relative(root, target),
        rejects=_relative(root, rejects_path),
        rows_in=rows_in,
        rows_scored=scored,
        rows_rejected=rejected,
        model_version=version,
        engine=engine,
        seconds=round(seconds, 3),
        rows_per_second=round(rows_in / seconds, 1) if seconds > 0 else 0.0,
        reasons=dict(kinds.most_common()),
        notes=notes,
        rows_with_warnings=warned,
        warnings=dict(warning_kinds.most_common()),
        on_unexpected=on_unexpected,
    )


def _resolved(path: str | Path, field: str) -> Path:
    """``path`` made absolute with its links followed; ``DataError`` naming ``field`` when a
    link in it loops or cannot be followed."""
    given = Path(path).expanduser()
    try:
        return given.resolve()
    except (OSError, RuntimeError) as exc:
        raise DataError(
            f"Cannot write to '{given}': a symbolic link in this path loops or cannot be "
            f"followed ({exc}).",
            hint="Choose a path in a real folder, or fix the link (ls -l shows where it points).",
            field=field,
        ) from exc


def _same_file(a: Path, b: Path) -> bool:
    """One file under two names: the same path, or a link (hard or symbolic) to it."""
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def _relative(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _pandas_chunks(
    ctx: ChunkContext, source: Path, plan: CsvPlan | None, chunk_rows: int
) -> Iterator[ChunkResult]:
    if plan is not None:
        for block in plan.blocks:
            yield process_chunk(read_csv_block(plan, block), ctx)
    else:
        for raw in iter_parquet(source, chunk_rows=chunk_rows):
            yield process_chunk(raw, ctx)


def _write_all(
    chunks: Iterator[ChunkResult],
    ctx: ChunkContext,
    target: Path,
    rejects_path: Path,
    log_file: BatchLogFile | None,
    total: int | None,
    progress: Progress | None,
) -> tuple[int, int, int, Counter[str], list[int], int, Counter[str]]:
    """Write every chunk; the log file is written on a second thread (one chunk in flight).

    The output and the rejects are renamed into place and the log file recorded only when
    every chunk is written: a failed run leaves no output and logs nothing.
    """
    output = AtomicTableWriter(target)
    bad = AtomicTableWriter(rejects_path, kind="csv", field="rejects")
    logger = ThreadPoolExecutor(max_workers=1, thread_name_prefix="steadyml-batch-log")
    pending: Future[Any] | None = None
    rows_in = scored = rejected = 0
    kinds: Counter[str] = Counter()
    warning_kinds: Counter[str] = Counter()
    warned = 0
    blank: list[int] = []
    prediction_type = None
    try:
        for result in chunks:
            output.write(result.scored)
            if prediction_type is None and result.scored.num_rows:
                prediction_type = result.scored.schema.field("prediction").type
            bad.write(result.rejects)
            if log_file is not None and result.log is not None and result.log.num_rows:
                if pending is not None:
                    pending.result()  # one chunk in flight: memory stays flat
                pending = logger.submit(log_file.write, result.log)
            rows_in += result.rows_in
            scored += result.scored.num_rows
            rejected += result.rejects.num_rows
            kinds.update(result.kinds)
            warned += result.warned
            warning_kinds.update(result.warning_kinds)
            blank += result.blank_lines
            if progress is not None:
                progress(rows_in, total)
        if pending is not None:
            pending.result()
        if log_file is not None:
            log_file.upload()
        bad.commit(rejects_schema(ctx.header))
        output.commit(output_schema(ctx, prediction_type))
    except BaseException:
        output.abort()
        bad.abort()
        # the log thread may still be writing a chunk: closing its file under it crashed
        # the process (a segmentation fault in pyarrow), so wait for it first
        logger.shutdown(wait=True)
        if log_file is not None:
            log_file.abort()
        raise
    finally:
        logger.shutdown(wait=True)
    if log_file is not None:
        try:
            log_file.record()
        except SteadyMLError as exc:
            raise SteadyMLError(
                f"The scores were written to '{target.name}', but recording the run's "
                f"prediction log failed: {exc.message}",
                hint="The predictions of this run are not in the log; score the file again "
                "when the store is reachable, or score it again without logging.",
            ) from exc
    return rows_in, scored, rejected, kinds, blank, warned, warning_kinds
