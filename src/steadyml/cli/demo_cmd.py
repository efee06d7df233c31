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
from steadyml.cli.train_cmd import render_train

HELP = """\
Run the whole lifecycle on a sample churn project, step by step, in a few minutes.

It creates the project in DIR (default ./demo-project), shows the written plan, checks the
data (and catches the planted leak), fixes what it found, records a data version, trains a
model against a baseline with gates, promotes it to production with a recorded reason, and
writes its model card. Run it again at any time: it starts fresh, and the data is generated
from a seed, so the results are the same every time.
"""

MARKER = ".steadyml-demo"
TEMPLATE_HEADER = "# steadyml project file: the one-page plan for this model"
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

    _prepare_folder(directory)
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
    (init.root / MARKER).write_text("made by `steadyml demo`; safe to delete\n", encoding="utf-8")
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

    _step(
        3,
        "A repeatable training run",
        "Train the same way every time: one pipeline "
        "from the column roles, a do-nothing baseline to beat, gates from steadyml.yaml, and "
        "a record of the data, settings and code behind the result.",
    )
    project = steadyml.open(init.config_path)
    with project:
        trained = project.train(progress=progress())
        render_train(trained, project.config.project.success_metric.name)
        rerun = project.train()
        out.print(
            f"\nTraining again with nothing changed: "
            f"{'up to date, run ' + str(rerun.run.number) + ' reused, nothing trained' if rerun.up_to_date else 'trained again (unexpected)'}.",
            markup=False,
        )

        _step(
            4,
            "Approve and release",
            "A model reaches production only when someone "
            "approves it, with a reason, and the previous version stays one command away.",
        )
        mv = trained.model_version
        if mv is not None and mv.gates_passed:
            approver = project.config.owners.release_approver
            event = project.promote(
                mv.version,
                "production",
                by=approver,
                reason="beats the baseline and passed every gate in the demo",
            )
            out.print(
                f"Version {event.to_version} promoted to production by {event.by}: "
                f"{event.reason!r}. Undo with `steadyml models rollback --reason …`.",
                markup=False,
            )
        elif mv is not None:
            out.print(
                f"Version {mv.version} failed its gates, so the demo does not promote it.",
                markup=False,
            )
        if mv is not None:
            card_md = init.root / "model-card.md"
            card_html = init.root / "model-card.html"
            card_md.write_text(project.model_card(mv.version), encoding="utf-8")
            card_html.write_text(project.model_card(mv.version, fmt="html"), encoding="utf-8")
            out.print(
                f"Model card written: {card_html} (open it in a browser) and {card_md.name}.",
                markup=False,
            )

    out.print()
    out.print(Rule("What comes next", align="left"))
    bullet(
        [
            "Step 4 · serve the model behind an API; score batches (later)",
            "Step 5 · monitor drift, quality, performance and fairness; alert the owner (later)",
        ]
    )
    out.print(f"\nYour demo project is in {init.root}. Try:", markup=False)
    out.print(
        f"  cd {directory}\n  steadyml runs list\n  steadyml models list\n  steadyml models card 1",
        markup=False,
    )


def _prepare_folder(directory: Path) -> None:
    """Start every demo fresh, but never wipe a folder the demo did not make."""
    import shutil

    from steadyml.errors import SteadyMLError

    if not directory.exists():
        return
    if not directory.is_dir():
        raise SteadyMLError(
            f"{directory} exists and is not a folder.",
            hint="Pass another folder: `steadyml demo DIR`.",
        )
    plan = directory / "steadyml.yaml"
    made_by_demo = (directory / MARKER).exists() or (
        plan.exists() and plan.read_text(encoding="utf-8").startswith(TEMPLATE_HEADER)
    )
    if made_by_demo:
        for name in (".steadyml", "contract.yaml", "model-card.md", "model-card.html"):
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        return
    if any(directory.iterdir()):
        raise SteadyMLError(
            f"{directory} is not empty and was not made by `steadyml demo`; the demo will not "
            "touch it.",
            hint="Pass a new folder: `steadyml demo DIR`.",
        )
