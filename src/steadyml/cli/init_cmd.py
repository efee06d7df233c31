"""``steadyml init``: write the project plan (steadyml.yaml), from a template or your data."""

from __future__ import annotations

from pathlib import Path

import typer

from steadyml.cli._common import (
    bullet,
    handle_errors,
    next_steps,
    out,
    print_json,
    progress,
    split_list,
)

HELP = """\
Create a project: the one-page plan (steadyml.yaml) that every other command reads.

Two ways to start:

\b
  steadyml init churn-demo --template churn
      A complete sample project: a written problem statement, owners, a success metric,
      column roles, and 12 months of generated customer data (deterministic from a seed).

\b
  steadyml init my-project --data customers.csv --target churned [--id customer_id]
      A project around your own CSV or Parquet file. steadyml guesses each column's role
      (numeric, categorical, text, id, timestamp, or dropped) and writes a comment saying
      why, for you to review. Mark fairness attributes with --sensitive and personal data
      with --pii: personal data is never used as a feature or stored raw.

Then: cd into the folder and run `steadyml data check`.
"""


@handle_errors
def init(
    directory: Path = typer.Argument(
        ..., metavar="DIR", help="Folder for the project (created if missing)."
    ),
    template: str = typer.Option(
        None, "--template", "-t", help="Start from a sample project: churn."
    ),
    data: Path = typer.Option(
        None, "--data", "-d", metavar="FILE", help="Your CSV or Parquet file."
    ),
    target: str = typer.Option(
        None, "--target", metavar="COL", help="The column to predict (with --data)."
    ),
    id_column: str = typer.Option(None, "--id", metavar="COL", help="The row/customer id column."),
    timestamp: str = typer.Option(
        None, "--timestamp", metavar="COL", help="The column that says when a row happened."
    ),
    sensitive: str = typer.Option(
        None, "--sensitive", metavar="A,B", help="Fairness attributes (e.g. gender,age_band)."
    ),
    pii: str = typer.Option(
        None, "--pii", metavar="A,B", help="Personal data columns (e.g. email,phone)."
    ),
    seed: int = typer.Option(7, "--seed", help="Seed for the template's generated data."),
    force: bool = typer.Option(False, "--force", help="Replace an existing steadyml.yaml."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    from steadyml.flows import plan as scaffold

    if (template is None) == (data is None):
        raise typer.BadParameter(
            "give either --template NAME (e.g. --template churn) or --data FILE --target COL",
            param_hint="--template / --data",
        )
    if data is not None and not target:
        raise typer.BadParameter(
            "--data needs --target COL: the column to predict", param_hint="--target"
        )
    if template is not None and (target or id_column or timestamp or sensitive or pii):
        raise typer.BadParameter(
            "--target/--id/--timestamp/--sensitive/--pii go with --data, not --template",
            param_hint="--template",
        )
    say = progress(not as_json)
    if template is not None:
        result = scaffold.init_from_template(
            directory, template, seed=seed, force=force, progress=say
        )
    else:
        result = scaffold.init_from_data(
            directory,
            data,
            target=target,
            id=id_column,
            timestamp=timestamp,
            sensitive=split_list(sensitive),
            pii=split_list(pii),
            force=force,
            progress=say,
        )
    if as_json:
        print_json(result.to_dict())
        return
    out.print(f"Created {result.config_path}", style="bold green", markup=False)
    out.print(
        f"  data: {result.data_path} ({result.rows:,} rows × {result.columns} columns)",
        markup=False,
    )
    for role, cols in result.roles.items():
        out.print(f"  {role}: {', '.join(cols)}", markup=False)
    if result.warnings:
        out.print("\nTo review:", style="bold yellow")
        bullet(result.warnings)
    rel = directory
    steps = [f"cd {rel}"]
    if data is not None:
        steps.append("open steadyml.yaml: check each role, and write the problem, users and owners")
    steps.append("steadyml data check      # contract, quality and leakage")
    next_steps(steps)
