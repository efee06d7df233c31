"""``steadyml batch score``: score a file with the production model, in chunks."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from steadyml.cli._common import err, handle_errors, next_steps, open_project, out, print_json
from steadyml.cli._common import table as make_table
from steadyml.cli._next import after_scoring

if TYPE_CHECKING:
    from steadyml.batch.score import BatchResult

app = typer.Typer(
    help="Score whole files (CSV or Parquet) with the model in production.",
    no_args_is_help=True,
)

SCORE_HELP = """\
Score a CSV or Parquet file with the model in production and write the scores to --out.

The file is read in chunks (--chunk-rows), so memory does not grow with its size. Every row
is checked against the data contract (contract.yaml), for the columns the model reads and the
id column, at two levels:

\b
  a rule broken          the row is not scored and not dropped: it goes to the
                         rejects file (default: next to the output,
                         OUT.rejects.csv) with its line number, the reason and
                         its original values
  an expectation broken  the row is scored, and its _warnings column says which
                         field is outside what training showed and how

The rules are each column's presence and type, and the bounds you wrote under `rules:` in
contract.yaml; the expectations are what the training data happened to contain (its range,
its categories, no gaps). With batch.on_unexpected: refuse in steadyml.yaml, a row that breaks
an expectation is rejected too. Rows in = rows scored + rows rejected, always; the summary
shows the three numbers and how many scored rows carry warnings.

The output holds the id column, _row (the line number in a CSV, the row number in Parquet),
prediction, score, model_version, scored_at and _warnings ('' for a row without). It is
written under a temporary name and renamed at the end, so a run that fails or is stopped
never leaves a complete-looking file. Scored rows are logged (route: batch, keyed by the id
column so feedback labels can join them later) unless --no-log. In a CSV output, a text value
that a spreadsheet would run as a formula (starting with = + - @) gets a leading single quote;
numbers and Parquet outputs are written as they are. --out, --rejects and INPUT must be three
different files.

--engine dask runs the same steps on a Dask cluster: a local one by default, or the one at
--scheduler tcp://HOST:8786 (its workers must see the input path).

Exit status: 0 when the run finished (even with rejected rows or warnings), 1 on an error
(nothing is written under the output's name).
"""


@app.command("score", help=SCORE_HELP)
@handle_errors
def score(
    ctx: typer.Context,
    source: Path = typer.Argument(..., metavar="INPUT", help="The CSV or Parquet file to score."),
    out_path: Path = typer.Option(
        ..., "--out", "-o", help="Where to write the scores (.csv or .parquet)."
    ),
    rejects: Path | None = typer.Option(
        None, "--rejects", help="Where to write rejected rows (.csv). Default: OUT.rejects.csv."
    ),
    chunk_rows: int = typer.Option(
        50_000, "--chunk-rows", min=1, help="Rows per chunk (memory grows with this, not the file)."
    ),
    engine: str = typer.Option("pandas", "--engine", help="pandas (this machine) or dask."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."
    ),
    model: int | None = typer.Option(
        None, "--model", help="Score with this model version instead of production."
    ),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write the prediction log."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    if engine not in ("pandas", "dask"):
        raise typer.BadParameter(
            f"must be 'pandas' or 'dask'; got {engine!r}", param_hint="--engine"
        )
    if scheduler and engine != "dask":
        raise typer.BadParameter("needs --engine dask", param_hint="--scheduler")
    if rejects is not None and _absolute(rejects) == _absolute(out_path):
        raise typer.BadParameter(
            f"--out and --rejects both name '{out_path}'; the rejects would overwrite the "
            "scores. Give --rejects a path of its own, or leave it out (default: "
            "OUT.rejects.csv).",
            param_hint="--rejects",
        )
    options: dict[str, Any] = {
        "rejects": rejects, "chunk_rows": chunk_rows, "engine": engine,
        "scheduler": scheduler, "model_version": model, "log": not no_log,
    }  # fmt: skip
    project = open_project(ctx)
    with project, _stop_cleanly_on_sigterm():
        if as_json:
            result = project.score_batch(source, out_path, **options)
        else:
            with _progress_bar() as update:
                result = project.score_batch(source, out_path, progress=update, **options)
        watch = after_scoring(project.config)
    if as_json:
        print_json(result.to_dict())
        return
    render(result, watch)


def _absolute(path: Path) -> str:
    """The path made absolute without following links (which may loop): the library checks
    links itself."""
    return os.path.normpath(os.path.abspath(path.expanduser()))


@contextlib.contextmanager
def _stop_cleanly_on_sigterm() -> Iterator[None]:
    """SIGTERM (``kill``, a stopping container) unwinds like Ctrl-C, so the run removes its
    temporary files instead of leaving them (Python's default ends without cleaning up)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _progress_bar:
    """A rich progress bar on stderr: rows done, rows per second."""

    def __enter__(self) -> Any:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("Scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._bar.__enter__()
        self._task = self._bar.add_task("score", total=None, rate="—")

        def update(done: int, total: int | None) -> None:
            task = self._bar.tasks[0]
            elapsed = task.elapsed or 0.0
            rate = f"{done / elapsed:,.0f}" if elapsed > 0 else "—"
            self._bar.update(self._task, completed=done, total=max(total or 0, done) or None,
                             rate=rate)  # fmt: skip

        return update

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


def render(result: BatchResult, watch: list[str]) -> None:
    """The summary of a run; ``watch`` are the steps after scoring (feedback, monitor)."""
    flagged = result.rows_rejected or result.rows_with_warnings
    rejected = (
        f"{result.rows_rejected:,} rejected (written to {result.rejects} with the line and the "
        "reason)"
        if result.rows_rejected
        else "0 rejected"
    )
    warned = (
        f"; {result.rows_with_warnings:,} scored with warnings (see the _warnings column)"
        if result.rows_with_warnings
        else ""
    )
    out.print(
        f"Read {result.rows_in:,} rows: {result.rows_scored:,} scored, {rejected}{warned}.",
        style="bold yellow" if flagged else "bold green",
        markup=False,
    )
    out.print(
        f"  Scores: {result.output} (model version {result.model_version}, engine "
        f"{result.engine}, {result.seconds:.1f} s, {result.rows_per_second:,.0f} rows/s).",
        markup=False,
    )
    if result.reasons:
        _counts("rejected because", result.reasons)
        out.print(
            "  A row can break several rules, so these counts may add up to more than the "
            "rejected rows.",
            markup=False,
        )
    if result.warnings:
        _counts("scored with a warning", result.warnings)
        out.print(
            "  These rows are outside what the model saw in training (the contract's "
            "expectations): they are scored, and the monitor counts them. To reject such rows "
            "instead, set batch.on_unexpected: refuse in steadyml.yaml, or copy the bound under "
            "`rules:` in contract.yaml.",
            markup=False,
        )
    for line in result.notes:
        out.print(f"  Note: {line}", markup=False)
    steps = []
    if result.rows_rejected:
        steps.append(f"open {result.rejects}   # each bad row, its line and why")
        steps.append("fix the rows (or edit the rules in contract.yaml if the values are "
                     "legitimate), then score the fixed rows")  # fmt: skip
    next_steps(steps + watch)


def _counts(heading: str, counts: dict[str, int]) -> None:
    """A table of rows by reason (or by warning), most frequent first."""
    t = make_table(heading, "rows")
    for reason, count in counts.items():
        t.add_row(reason, f"{count:,}")
    out.print(t)
