"""The ``steadyml`` command: the root, its global options, and the command groups."""

from __future__ import annotations

import typer

from steadyml.cli import (
    batch_cmd,
    checklist_cmd,
    data_cmd,
    demo_cmd,
    init_cmd,
    models_cmd,
    monitor_cmd,
    package_cmd,
    retrain_cmd,
    rollout_cmd,
    runs_cmd,
    serve_cmd,
    train_cmd,
    ui_cmd,
    worker_cmd,
)
from steadyml.cli._common import VERBOSE, state

HELP = """\
steadyml keeps a machine-learning model useful after the notebook.

It walks the lifecycle good teams run, one command per step:

\b
  1. plan      steadyml init            write the project file (problem, owners, metric, columns)
  2. data      steadyml data check      check the data: contract, quality, leakage
               steadyml data snapshot   record an exact, versioned copy of the data
  3. train     steadyml train           a repeatable pipeline, a baseline, gates, a tracked run
               steadyml runs compare    what changed between two runs, what improved
  4. release   steadyml models promote  approve a version for production (and rollback)
               steadyml models card     what the model does, how well, and its limits
  5. score     steadyml batch score     score a whole file; bad rows kept with the reason
               steadyml serve           the production model behind a validated HTTP API
               steadyml keys create     API keys with scopes;  steadyml traffic  canary/shadow
  6. watch     steadyml feedback        true outcomes for earlier predictions (labels come late)
               steadyml monitor         drift, data quality, performance, fairness; alerts
               steadyml alerts list     incidents to acknowledge and resolve
               steadyml worker          run the scheduled jobs (monitor, batch, retention)
  7. update    steadyml retrain         a challenger on fresh labels, judged against production
  8. launch    steadyml checklist       the launch checklist and its ML Test Score, from evidence

New here? Run `steadyml demo` to see the whole loop on a sample churn project.
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from steadyml import __version__

        typer.echo(f"steadyml {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    project: str = typer.Option(
        None,
        "--project",
        "-p",
        envvar="STEADYML_PROJECT",
        metavar="PATH",
        help="The project folder or its steadyml.yaml (default: the current folder).",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show the full traceback when something fails."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """steadyml: the whole model lifecycle in one tool."""
    st = state(ctx)
    st["project"] = project
    st["verbose"] = verbose
    VERBOSE.set(verbose)


app.command("init", help=init_cmd.HELP, no_args_is_help=True)(init_cmd.init)
app.add_typer(data_cmd.app, name="data")
app.command("train", help=train_cmd.HELP)(train_cmd.train)
app.command("retrain", help=retrain_cmd.HELP)(retrain_cmd.retrain)
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(models_cmd.app, name="models")
app.add_typer(batch_cmd.app, name="batch")
app.command("serve", help=serve_cmd.SERVE_HELP)(serve_cmd.serve)
app.add_typer(serve_cmd.keys_app, name="keys")
app.add_typer(serve_cmd.traffic_app, name="traffic")
app.add_typer(rollout_cmd.app, name="rollout")
app.command("feedback", help=monitor_cmd.FEEDBACK_HELP, no_args_is_help=True)(monitor_cmd.feedback)
app.command("monitor", help=monitor_cmd.MONITOR_HELP)(monitor_cmd.monitor)
app.add_typer(monitor_cmd.alerts_app, name="alerts")
app.command("worker", help=worker_cmd.HELP)(worker_cmd.worker)
app.command("package", help=package_cmd.HELP)(package_cmd.package)
app.command("verify-package", help=package_cmd.VERIFY_HELP)(package_cmd.verify_package)
app.command("ui", help=ui_cmd.HELP)(ui_cmd.ui)
app.add_typer(checklist_cmd.app, name="checklist")
app.command("demo", help=demo_cmd.HELP)(demo_cmd.demo)


def main() -> None:
    app()
