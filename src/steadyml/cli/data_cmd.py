"""``steadyml data …``: check the data (contract, quality, leakage) and version it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from steadyml.cli._common import (
    handle_errors,
    next_steps,
    note,
    open_project,
    out,
    print_json,
    progress,
    table,
)
from steadyml.cli._lists import show_list

if TYPE_CHECKING:
    from rich.table import Table

    from steadyml.data.check import DataCheckResult
    from steadyml.data.contract import Violation
    from steadyml.entities import Finding

app = typer.Typer(
    help="Step 2 of the lifecycle: check the data and record versions of it.\n\n\b\n"
    "  steadyml data check       contract, quality and leakage checks\n"
    "  steadyml data snapshot    record an exact, versioned copy of the data\n"
    "  steadyml data versions    list recorded dataset versions",
    no_args_is_help=True,
    rich_markup_mode=None,
)

CHECK_HELP = """\
Check a data file: the data contract, data quality, and leakage.

The first run infers the data contract from the training data (types, missing values,
allowed categories, numeric ranges) and saves it as contract.yaml for you to review.
Later runs check FILE (default: data.source in steadyml.yaml) against it and list every
violation by column and check, with example rows, at its level:

\b
  rules          the column is present, the value parses as its type, and the
                 bounds you wrote under `rules:`. A row that breaks one is
                 refused by batch scoring and the API: an error here.
  expectations   the range, the categories and the gaps the training data
                 showed. A row outside them is scored, with a warning: a
                 warning here. Copy a bound under `rules:` to refuse instead.

It also reports data quality (missing values, duplicates, constant columns, class balance,
outliers, codes such as -1 or 999999 that stand for "unknown") and leakage (a column that
predicts the target almost perfectly, ids used as features, rows shared by train and test).

A file without the target column (other than the training source) is checked as new rows to
score: the target is not required and the leakage check is skipped.

Exit status: 0 when the data is fit to train on (or to score; warnings allowed), 1 when
something must be fixed first, so it can guard a scheduled job.
"""


@app.command("check", help=CHECK_HELP)
@handle_errors
def check(
    ctx: typer.Context,
    file: Path = typer.Argument(None, metavar="FILE", help="Data to check (default: data.source)."),
    new_contract: bool = typer.Option(
        False,
        "--new-contract",
        help="Infer the contract again from the training data (after you changed roles).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the full result as JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        if new_contract:
            project.infer_contract(overwrite=True)
            if not as_json:
                note(f"Inferred a new contract from {project.config.data.source}.")
        result = project.check_data(file, progress=progress(not as_json))
    if as_json:
        print_json(result.to_dict())
    else:
        render_check(result)
    if not result.passed:
        raise typer.Exit(1)


def _finding_block(f: Finding, *, detail: bool) -> None:
    mark = {"error": "✗", "warning": "!", "info": "·"}[f.severity]
    style = {"error": "bold red", "warning": "yellow", "info": "dim"}[f.severity]
    out.print(f"  {mark} [{f.check}] {f.message}", style=style, markup=False)
    if detail and f.why:
        out.print(f"      Why it matters: {f.why}", markup=False)
    if detail and f.fix:
        out.print(f"      What to do: {f.fix}", markup=False)


def _violation_table(violations: list[Violation]) -> Table:
    """One line per column and check: the rows that break it and the first example."""
    t = table("column", "check", "rows", "example")
    for v in violations:
        ex = v.examples[0] if v.examples else {}
        shown = f"row {ex['row']}: {ex['value']!r}" if ex else ""
        t.add_row(v.column, v.rule, f"{v.count:,}", shown)
    return t


def render_check(result: DataCheckResult) -> None:
    out.print(
        f"Data check: {result.source} — {result.rows:,} rows × {result.columns} columns",
        style="bold",
        markup=False,
    )
    for n in result.notes:
        note(n)
    if result.purpose == "scoring":
        note(
            "This file has no target column, so it was checked as new rows to score: the "
            "target is not required, and the leakage check (which needs it) is skipped."
        )
    if result.contract_created:
        src = result.contract_source or "the training data"
        out.print(
            f"\nContract: created {result.contract_path} from {src} — open it and "
            "review the types, ranges and categories.",
            markup=False,
        )
    else:
        src = result.contract_source or "the training data"
        out.print(f"\nContract: {result.contract_path} (inferred from {src})", markup=False)
    rep = result.contract_report
    if not rep.violations:
        out.print(f"  ✓ all {rep.rows:,} rows meet the contract", style="green", markup=False)
    if rep.broken_rules:
        out.print("  Rules broken (rows refused)", style="bold red", markup=False)
        out.print(_violation_table(rep.broken_rules))
        out.print(
            f"  {rep.bad_rows:,} of {rep.rows:,} rows break a rule: batch scoring rejects them "
            "and the API refuses them.",
            markup=False,
        )
        for v in rep.broken_rules:
            out.print(f"  ✗ {v.message}", style="red", markup=False)
    if rep.unexpected:
        out.print("  Expectations (rows scored, with a warning)", style="bold yellow", markup=False)
        out.print(_violation_table(rep.unexpected))
        out.print(
            f"  {rep.flagged_rows:,} of {rep.rows:,} rows break only expectations: they are "
            "outside what the training data showed, so they are scored and carry a warning."
            if rep.flagged_rows
            else "  Each of these rows also breaks a rule above, so it is refused as it stands.",
            markup=False,
        )
        for v in rep.unexpected:
            out.print(f"  ! {v.message}", style="yellow", markup=False)
        out.print(
            "  To refuse such rows instead, turn the expectation into a rule: copy the bound "
            "under `rules:` in contract.yaml, e.g. `rules: [min, max]` (docs/contract.md).",
            markup=False,
        )
    if rep.extra_columns:
        out.print(
            f"  Columns not in the contract (ignored): {', '.join(rep.extra_columns)}", markup=False
        )

    q = result.quality
    out.print("\nQuality", style="bold")
    missing = {c: r for c, r in q.missing.items() if r > 0}
    if missing:
        t = table("column", "missing")
        for c, r in sorted(missing.items(), key=lambda kv: -kv[1]):
            t.add_row(c, f"{r:.1%}")
        out.print(t)
    if q.class_balance:
        parts = ", ".join(f"{k}: {v:.1%}" for k, v in q.class_balance.items())
        out.print(f"  Target balance: {parts}", markup=False)
    quality_findings = [f for f in q.findings if f.rule != "missing_values" or f.severity != "info"]
    for f in quality_findings:
        _finding_block(f, detail=f.severity != "info")
    if not quality_findings:
        out.print("  ✓ no quality problems found", style="green", markup=False)

    for f in result.roles:
        _finding_block(f, detail=f.severity == "error")

    out.print("\nLeakage", style="bold")
    if result.task is None:
        why = "a file to score" if result.purpose == "scoring" else "no target values"
        out.print(f"  (skipped: {why}; leakage is checked on training data)", markup=False)
    elif not [f for f in result.leakage if f.severity != "info"]:
        out.print("  ✓ no column gives the answer away", style="green", markup=False)
    for f in result.leakage:
        _finding_block(f, detail=f.severity != "info")

    out.print()
    if result.passed and result.purpose == "scoring":
        out.print(
            f"Result: fit to score ({result.warnings} warning(s) to read).",
            style="bold green",
            markup=False,
        )
        next_steps(
            [
                f"steadyml batch score {result.source} --out scored.csv   # score these rows",
            ]
        )
    elif result.passed:
        out.print(
            f"Result: fit to train on ({result.warnings} warning(s) to read).",
            style="bold green",
            markup=False,
        )
        next_steps(
            [
                "steadyml data snapshot    # record this exact data as a version",
                "steadyml train            # trains on the latest snapshot",
            ]
        )
    else:
        out.print(
            f"Result: {result.errors} problem(s) to fix before training, "
            f"{result.warnings} warning(s).",
            style="bold red",
            markup=False,
        )
        next_steps(
            [
                "Fix each ✗ above (steadyml.yaml or the data), then run "
                "`steadyml data check` again.",
                "Changed column roles? Add --new-contract to infer the contract anew.",
            ]
        )


SNAPSHOT_HELP = """\
Record an exact, versioned copy of a data file (default: data.source).

The version is identified by a hash of the content, so snapshotting the same data again
gives the same version and records nothing new. A copy of the data is kept in the artifact
store, so training can always go back to exactly this data. Personal-data columns
(data.columns.pii) are left out of the copy: they are never features.
"""


@app.command("snapshot", help=SNAPSHOT_HELP)
@handle_errors
def snapshot(
    ctx: typer.Context,
    file: Path = typer.Argument(
        None, metavar="FILE", help="Data to snapshot (default: data.source)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        result = project.snapshot(file)
    if as_json:
        print_json(result.to_dict())
        return
    v = result.version
    if result.created:
        out.print(
            f"Recorded dataset version {v.version} ({v.short}): {v.rows:,} rows × "
            f"{v.columns} columns from {v.source}.",
            style="bold green",
            markup=False,
        )
    else:
        out.print(
            f"Unchanged: this data is already dataset version {v.version} ({v.short}), "
            f"recorded {v.created_at:%Y-%m-%d %H:%M} UTC. Nothing new was recorded.",
            style="bold",
            markup=False,
        )
    if result.left_out_note:
        out.print(result.left_out_note, markup=False)
    next_steps(
        [
            "steadyml train            # a tracked training run on the latest version",
            "steadyml data versions    # list every version",
        ]
    )


@app.command("versions", help="List the recorded dataset versions, newest last.")
@handle_errors
def versions(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    with open_project(ctx) as project:
        items = project.dataset_versions()
    show_list(
        items,
        as_json=as_json,
        columns=("version", "hash", "rows", "columns", "source", "recorded (UTC)", "by"),
        row=lambda v: (
            str(v.version),
            v.short,
            f"{v.rows:,}",
            str(v.columns),
            v.source,
            f"{v.created_at:%Y-%m-%d %H:%M}",
            v.created_by,
        ),
        empty="No dataset versions yet.",
        first_steps=["steadyml data snapshot    # record the first one"],
    )
