"""``steadyml demo``: the guided lifecycle on the sample churn project.

Each step calls the same Project API a user would, and says what happened, what it means and
what comes next. Later stages add their step here as they are built.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.rule import Rule

from steadyml.cli._common import bullet, handle_errors, out, progress
from steadyml.cli.data_cmd import render_check

HELP = """\
Run the whole lifecycle on a sample churn project, step by step, in a few minutes.

It creates the project in DIR (default ./demo-project), shows the written plan, checks the
data (and catches the planted leak), fixes what it found, and records a data version.
Run it again at any time: the data is generated from a seed, so it is the same every time.
"""

LEAK_FIX = (
    "'known only after the customer has left (post-outcome leakage, caught by steadyml data check)'"
)


def _step(number: int, title: str, why: str) -> None:
    out.print()
    out.print(Rule(f"Step {number} · {title}", align="left"))
    out.print(why, markup=False, style="italic")


@handle_errors
def demo(
    directory: Path = typer.Argument(
        Path("demo-project"), help="Where to create the sample project."
    ),
    customers: int = typer.Option(
        20_000, "--customers", hidden=True, help="Customers to generate (smaller is faster)."
    ),
) -> None:
    import steadyml
    from steadyml import scaffold

    out.print("steadyml demo: keeping a churn model useful after the notebook", style="bold")
    out.print(
        "A model in a notebook is not a product. This demo walks the steps that make it "
        "one, on a sample project: plan, data, (then train, deploy, monitor).",
        markup=False,
    )

    _step(
        1,
        "The plan",
        "Write down the problem, who uses the prediction, how success is "
        "measured, and who owns what. It lives in steadyml.yaml.",
    )
    init = scaffold.init_from_template(
        directory, "churn", n_customers=customers, force=True, progress=progress()
    )
    project = steadyml.open(init.config_path)
    cfg = project.config
    out.print(f"Created {init.config_path} and {init.rows:,} rows of customer data.", markup=False)
    bullet(
        [
            f"Problem: {cfg.project.problem}",
            f"Users: {cfg.project.users}",
            f"Success: {cfg.project.success_metric.name} ≥ {cfg.project.success_metric.threshold}",
            f"Mode: {cfg.project.mode} — {cfg.project.mode_reason}",
            f"Owners: model {cfg.owners.model}; release approval {cfg.owners.release_approver}",
        ]
    )

    _step(
        2,
        "The data",
        "Check the data before any model sees it: write down what it should "
        "look like (the contract), measure its quality, and look for leakage — a column that "
        "is only known after the outcome.",
    )
    if project.contract_path.exists():
        project.contract_path.unlink()  # a fresh demo infers its contract anew
    with project:
        result = project.check_data(progress=progress())
    render_check(result)
    leak = [
        f
        for f in result.leakage
        if f.rule == "single_column_predictor" and f.column == "cancellation_reason"
    ]
    sentinel = [f for f in result.quality.findings if f.rule == "sentinel_code"]
    out.print()
    if leak:
        out.print(
            "✓ The planted leak was caught: 'cancellation_reason' is filled in only for "
            "customers who already left, so it gives the answer away. A model trained "
            "on it would look perfect in testing and be useless live.",
            style="bold green",
            markup=False,
        )
    else:  # pragma: no cover - the demo test fails if this happens
        out.print(
            "✗ The planted leak was NOT caught; this is a bug in steadyml.",
            style="bold red",
            markup=False,
        )

    out.print(
        "\nThe demo now fixes what the check found, as you would, in steadyml.yaml:", markup=False
    )
    text = init.config_path.read_text(encoding="utf-8")
    text = text.replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", f"drop:\n      cancellation_reason: {LEAK_FIX}")
    changes = ["moved cancellation_reason to drop, with the reason"]
    codes = {f.column: f.details.get("code") for f in sentinel if f.column}
    if codes:
        entries = ", ".join(f"{c}: [{v}]" for c, v in codes.items() if v is not None)
        text = text.replace(
            "  columns:\n",
            f"  missing_codes: {{{entries}}}   # codes that mean 'unknown'\n  columns:\n",
            1,
        )
        changes.append(f"declared missing codes: {entries}")
    init.config_path.write_text(text, encoding="utf-8")
    bullet(changes)

    project = steadyml.open(init.config_path)
    with project:
        project.infer_contract(overwrite=True)
        result = project.check_data(progress=progress())
        if result.passed:
            out.print(
                f"✓ Checked again: fit to train on ({result.warnings} warning(s) to read).",
                style="bold green",
                markup=False,
            )
        else:
            render_check(result)
        snap = project.snapshot()
        again = project.snapshot()
    v = snap.version
    out.print(
        f"Recorded dataset version {v.version} ({v.short}): {v.rows:,} rows. Every later "
        "step records which version it used.",
        markup=False,
    )
    out.print(
        f"Snapshotting the same data again gives version {again.version.version} and "
        f"records {'nothing new' if not again.created else 'a new version (unexpected)'}.",
        markup=False,
    )

    out.print()
    out.print(Rule("What comes next", align="left"))
    bullet(
        [
            "Step 3 · train a repeatable pipeline with a baseline and gates (coming next)",
            "Step 4 · register, approve and serve the model; score batches (later)",
            "Step 5 · monitor drift, quality, performance and fairness; alert the owner (later)",
        ]
    )
    out.print(f"\nYour demo project is in {init.root}. Try:", markup=False)
    out.print(f"  cd {directory}\n  steadyml data check\n  steadyml data versions", markup=False)
