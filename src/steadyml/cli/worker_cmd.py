"""``steadyml worker``: run the scheduled jobs of the project file."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer

from steadyml.cli._common import handle_errors, next_steps, open_project, out, print_json
from steadyml.cli._lists import show_list

if TYPE_CHECKING:
    from steadyml.entities import JobRun

HELP = """\
Run the scheduled jobs from the `schedule` section of steadyml.yaml until stopped (Ctrl-C):

\b
  monitor     every schedule.monitor_every_minutes: measure the latest
              windows, check the alert rules
  batch       daily at schedule.batch.at: score each new file in
              schedule.batch.input_folder into schedule.batch.output_folder
              (files already scored are left alone)
  retention   daily at schedule.retention_at: delete logged predictions
              older than monitoring.retention_days

Every run is recorded with its outcome; see them with --history. Prefer cron? --cron prints
the equivalent crontab lines, each calling `steadyml worker --once JOB`.

\b
Examples:
  steadyml worker                  # run until stopped
  steadyml worker --once monitor   # one job, now, then exit (exit 1 if it failed)
  steadyml worker --cron           # the crontab equivalent
"""


def _job_row(r: JobRun) -> tuple[str, ...]:
    secs = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
    outcome = "running" if r.ok is None else ("ok" if r.ok else f"failed: {r.error}")
    if r.ok and r.job == "retrain":  # the retrain triggers: why it retrained, or that none fired
        fired = "; ".join(str(f.get("reason")) for f in r.summary.get("fired") or [])
        outcome = f"ok: retrained ({fired})" if r.summary.get("retrained") else "ok: none fired"
    return (str(r.id), r.job, f"{r.started_at:%Y-%m-%d %H:%M:%S}",
            "—" if secs is None else f"{secs:.1f}", outcome)  # fmt: skip


@handle_errors
def worker(
    ctx: typer.Context,
    once: str | None = typer.Option(
        None,
        "--once",
        metavar="JOB",
        help="Run one job (monitor, batch, retention, retrain, rollout) and exit.",
    ),
    cron: bool = typer.Option(False, "--cron", help="Print the equivalent crontab and exit."),
    history: bool = typer.Option(False, "--history", help="Show recent job runs and exit."),
    as_json: bool = typer.Option(False, "--json", help="With --once or --history: JSON output."),
) -> None:
    from steadyml.worker import JOBS, cron_lines, job_history, planned_jobs, run_job, run_worker

    if once is not None and once not in JOBS:
        raise typer.BadParameter(f"must be one of {', '.join(JOBS)}; got {once!r}",
                                 param_hint="--once")  # fmt: skip
    with open_project(ctx) as project:
        if cron:
            for line in cron_lines(project):
                out.print(line, markup=False)
            return
        if history:
            runs = job_history(project)
            show_list(runs, as_json=as_json, columns=("id", "job", "started", "seconds", "outcome"),
                      row=_job_row)  # fmt: skip
            return
        if once is not None:
            result = run_job(project, once)
            if as_json:
                print_json(result.to_dict())
            elif result.ok:
                out.print(f"Job {once} finished: {result.summary}", markup=False, style="green")
            else:
                out.print(f"Job {once} failed: {result.error}", markup=False, style="bold red")
            if not result.ok:
                raise typer.Exit(1)
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

        def started(jobs: list) -> None:  # type: ignore[type-arg]
            out.print(f"Worker for '{project.name}' started with {len(jobs)} job(s):",
                      style="bold", markup=False)  # fmt: skip
            for job in jobs:
                out.print(f"  {job.describe()}", markup=False)
            out.print("Stop it with Ctrl-C. Job runs: steadyml worker --history", markup=False)

        if not planned_jobs(project):
            next_steps(["add a schedule section to steadyml.yaml (see docs/project-file.md)"])
        run_worker(project, on_start=started)
