"""Scheduled jobs: the monitor every N minutes, nightly batch scoring, log retention (which
also merges the API log's one-second chunks older than an hour), and the retrain triggers
(``retraining.triggers``: checked at the monitor's interval; ``flows.triggers`` says when a
trigger fires, and the job's summary says why).

``steadyml worker`` runs them with APScheduler (in-process, no broker, no cluster) from the
``schedule`` section of steadyml.yaml, and records every run (start, end, outcome, summary)
in the metadata store, so ``steadyml worker --history`` shows what ran and what failed. Each
job can also run once (``steadyml worker --once monitor``), which is what a cron line calls
when you would rather use cron: ``cron_lines`` prints the equivalent crontab.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steadyml.config import parse_duration, parse_time_of_day
from steadyml.entities import JobRun
from steadyml.errors import SteadyMLError
from steadyml.project import Project

__all__ = [
    "JOBS",
    "Job",
    "batch_outputs",
    "cron_lines",
    "job_history",
    "planned_jobs",
    "run_job",
    "run_worker",
]

log = logging.getLogger("steadyml.worker")

JOBS = ("monitor", "batch", "retention", "retrain", "rollout")
SCORABLE = (".csv", ".parquet", ".pq")
UNSUPPORTED = (".gz", ".tsv")  # seen in the input folder and skipped, with the reason


@dataclass(frozen=True)
class Job:
    name: str
    every_minutes: int | None = None  # interval jobs
    at: tuple[int, int] | None = None  # daily jobs: (hour, minute), local time

    def describe(self) -> str:
        if self.every_minutes:
            return f"{self.name}: every {self.every_minutes} min"
        assert self.at is not None
        return f"{self.name}: daily at {self.at[0]:02d}:{self.at[1]:02d}"


def planned_jobs(project: Project) -> list[Job]:
    sched = project.config.schedule
    jobs = []
    if sched.monitor_every_minutes:
        jobs.append(Job("monitor", every_minutes=sched.monitor_every_minutes))
    if sched.batch is not None:
        jobs.append(Job("batch", at=parse_time_of_day(sched.batch.at)))
    if sched.retention_at:
        jobs.append(Job("retention", at=parse_time_of_day(sched.retention_at)))
    if project.config.retraining.triggers.configured:
        # checked as often as the monitor runs, so an alert it opens is answered on the next
        # check; a check that fires nothing costs a few queries
        jobs.append(Job("retrain", every_minutes=sched.monitor_every_minutes or 60))
    return jobs


def cron_lines(project: Project) -> list[str]:
    """The crontab lines that run the same jobs without a long-running worker."""
    lines = []
    for job in planned_jobs(project):
        if job.every_minutes:
            minutes = job.every_minutes
            when = f"*/{minutes} * * * *" if minutes < 60 else f"0 */{max(minutes // 60, 1)} * * *"
        else:
            assert job.at is not None
            when = f"{job.at[1]} {job.at[0]} * * *"
        lines.append(f"{when}  cd {project.root} && steadyml worker --once {job.name}")
    return lines


def _monitor(project: Project) -> dict[str, Any]:
    from steadyml.flows.windows import aligned_start

    window = project.config.monitoring.window
    # logged time: the last two calendar windows (the previous one, complete, and the current
    # one so far; on their boundaries, so each run replaces the same stored windows); event
    # time: the data's own dates may be far from now, so the monitor picks the latest windows
    # of the log itself
    event = project.config.monitoring.time == "event"
    since = None
    if not event:
        since = aligned_start(dt.datetime.now(dt.UTC), window) - parse_duration(window)
    run = project.monitor(since=since)
    windows = run.result["windows"]
    return {
        "windows": len(windows),
        "rows": run.result["rows"],
        "new_alerts": [a.id for a in run.new_alerts],
        "open_alerts": sum(1 for a in run.result["alerts"] if a["status"] != "resolved"),
        "drifted": windows[-1]["drift"]["drifted"] if windows else [],
        "stored_windows": run.result["stored_windows"]["stored"],
    }


def _batch(project: Project) -> dict[str, Any]:
    cfg = project.config.schedule.batch
    if cfg is None:
        raise SteadyMLError(
            "No batch job is set up.",
            hint="Add schedule.batch (input_folder, output_folder, at) to steadyml.yaml.",
        )
    source = project.root / cfg.input_folder
    target = project.root / cfg.output_folder
    if not source.is_dir():
        raise SteadyMLError(
            f"The batch input folder {source} does not exist.",
            hint="Create it and drop files to score there, or fix schedule.batch.input_folder.",
        )
    target.mkdir(parents=True, exist_ok=True)
    done: list[dict[str, Any]] = []
    already: list[str] = []
    skipped: list[dict[str, str]] = []
    failed: list[str] = []
    same_folder = source.resolve() == target.resolve()
    for file in sorted(source.iterdir()):
        name = file.name
        if not name.lower().endswith(SCORABLE + UNSUPPORTED):
            continue
        if same_folder and name.endswith((".scored.parquet", ".rejects.csv")):
            continue  # this job's own outputs
        reason = _not_scorable(file, source)
        if reason is not None:
            skipped.append({"file": name, "reason": reason})
            continue
        out, rejects = batch_outputs(target, name)
        if out.exists() or _legacy_output(target, name).exists():
            already.append(name)  # scored on an earlier night
            continue
        try:
            result = project.score_batch(file, out, rejects=rejects)
        except SteadyMLError as exc:  # one bad file does not stop the others
            failed.append(f"{name}: {exc.message}")
            continue
        done.append(
            {
                "file": name,
                "output": out.name,
                "rows_in": result.rows_in,
                "scored": result.rows_scored,
                "rejected": result.rows_rejected,
            }
        )
    if failed:
        scored = ", ".join(d["file"] for d in done) or "none"
        raise SteadyMLError(
            f"{len(failed)} file(s) in {source} could not be scored: " + "; ".join(failed)
            + f" (scored this run: {scored}).",
            hint="Fix or remove those files; the next run scores them (files already scored "
            "are skipped).",
        )  # fmt: skip
    return {"scored_files": done, "already_scored": already, "skipped": skipped}


def batch_outputs(folder: Path, name: str) -> tuple[Path, Path]:
    """The nightly job's output and rejects for the input file ``name``: named after the
    whole file name, so ``jan.csv`` and ``jan.v2.csv`` never share an output."""
    return folder / f"{name}.scored.parquet", folder / f"{name}.rejects.csv"


def _legacy_output(folder: Path, name: str) -> Path:
    """The output name of earlier versions (the name up to its first dot), recognised only
    for a file whose name has no other dot (``jan.csv``), the one file it can belong to."""
    base = name
    for suffix in SCORABLE:
        if name.lower().endswith(suffix):
            base = name[: -len(suffix)]
            break
    if "." in base:
        return folder / f"{name}.scored.parquet"  # no legacy name: the new one
    return folder / f"{base}.scored.parquet"


def _not_scorable(file: Path, folder: Path) -> str | None:
    """Why the nightly job leaves ``file`` alone, or None when it may score it."""
    if file.is_symlink():
        try:
            where = str(file.resolve(strict=True))
        except (OSError, RuntimeError):
            where = "a missing or looping target"
        return (
            f"a symbolic link (to {where}): the nightly job scores only regular files inside "
            f"{folder}; copy the file there instead of linking to it."
        )
    if not file.is_file():
        return "not a regular file (a folder, a device or a pipe)."
    if file.name.lower().endswith(".gz"):
        return (
            "compressed: batch scoring reads plain CSV or Parquet; unpack it in the input "
            f"folder (gunzip {file.name}) or convert it to Parquet."
        )
    if file.name.lower().endswith(UNSUPPORTED):
        return (
            "tab-separated: batch scoring reads comma-separated CSV or Parquet; convert it "
            "(pandas: pd.read_csv(path, sep='\\t').to_csv(new_path, index=False))."
        )
    return None


def _retention(project: Project) -> dict[str, Any]:
    deleted = project.apply_retention()
    compacted = project.compact_log()
    return {
        "deleted_predictions": deleted,
        "retention_days": project.config.monitoring.retention_days,
        "log_chunks_merged": compacted.merged,
        "log_chunks_made": compacted.made,
    }


def _rollout(project: Project) -> dict[str, Any]:
    """The rollout under way evaluated once (``flows.rollout.evaluate_rollout``)."""
    result = project.evaluate_rollout(force=True)
    rollout = result.rollout
    return {"action": result.action, "message": result.message,
            "rollout": None if rollout is None else rollout.id,
            "status": None if rollout is None else rollout.status}  # fmt: skip


def _watch_rollout(project: Project) -> None:
    """The worker's rollout evaluation at the plan's interval, beside the servers'; recorded
    in the job history only when it changed the rollout's state (not every 30 s)."""
    try:
        result = project.evaluate_rollout()
    except Exception as exc:  # the next interval tries again
        log.warning("the rollout could not be evaluated: %s", exc)
        return
    if result.action in ("advanced", "promoted", "rolled_back", "aborted"):
        run_id = project.store.start_job("rollout")
        project.store.finish_job(run_id, ok=True, summary={
            "action": result.action, "message": result.message,
            "rollout": None if result.rollout is None else result.rollout.id,
        })  # fmt: skip


_RUNNERS: dict[str, Callable[[Project], dict[str, Any]]] = {
    "monitor": _monitor,
    "batch": _batch,
    "retention": _retention,
    "rollout": _rollout,
}


def _retrain(project: Project, run_id: int, now: dt.datetime | None) -> dict[str, Any]:
    """The retrain triggers: retrain when one fired, saying why (``flows.triggers``)."""
    check = project.check_triggers(job_id=run_id, now=now)
    if check.busy or not check.fired:
        return {**check.to_dict(), "retrained": False}
    try:
        return project.retrain_on_triggers(job_id=run_id, now=now)
    except SteadyMLError as exc:  # the history says which triggers fired and what failed
        why = "; ".join(f.reason for f in check.fired)
        raise SteadyMLError(f"Retrain (fired by {why}) failed: {exc.message}",
                            hint=exc.hint) from exc  # fmt: skip


def run_job(project: Project, name: str, *, now: dt.datetime | None = None) -> JobRun:
    """Run one job now and record it; a failure is recorded, not raised.

    ``now``: the retrain job's clock (its schedule trigger), injectable for tests and demos.
    """
    if name not in _RUNNERS and name != "retrain":
        raise SteadyMLError(f"There is no job called {name!r}.", hint=f"Jobs: {', '.join(JOBS)}.")
    run_id = project.store.start_job(name)
    try:
        summary = _retrain(project, run_id, now) if name == "retrain" else _RUNNERS[name](project)
    except Exception as exc:  # the worker keeps running; the failure is in the history
        message = exc.message if isinstance(exc, SteadyMLError) else f"{type(exc).__name__}: {exc}"
        log.error("job %s failed: %s", name, message)
        log.debug("%s", traceback.format_exc())
        return project.store.finish_job(run_id, ok=False, summary={}, error=message)
    log.info("job %s finished: %s", name, summary)
    return project.store.finish_job(run_id, ok=True, summary=summary)


def job_history(project: Project, *, limit: int = 30) -> list[JobRun]:
    """The latest recorded job runs, newest first: what ran, when, and how it ended."""
    return project.store.list_job_runs(limit=limit)


def run_worker(project: Project, *, on_start: Callable[[list[Job]], None] | None = None) -> None:
    """Run the planned jobs until interrupted (Ctrl-C or SIGTERM)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    jobs = planned_jobs(project)
    if not jobs:
        raise SteadyMLError(
            "The schedule has no jobs.",
            hint="Set schedule.monitor_every_minutes, schedule.batch, schedule.retention_at or "
            "retraining.triggers in steadyml.yaml.",
        )
    scheduler = BlockingScheduler()
    for job in jobs:
        trigger: Any
        if job.every_minutes:
            trigger = IntervalTrigger(minutes=job.every_minutes)
        else:
            assert job.at is not None
            trigger = CronTrigger(hour=job.at[0], minute=job.at[1])
        scheduler.add_job(run_job, trigger, args=[project, job.name], id=job.name,
                          max_instances=1, coalesce=True, misfire_grace_time=300)  # fmt: skip
    every = project.config.retraining.rollout_plan.evaluate_every_seconds
    scheduler.add_job(_watch_rollout, IntervalTrigger(seconds=every), args=[project],
                      id="rollout", max_instances=1, coalesce=True)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        _install_sigterm(scheduler)  # before saying "started": a quick SIGTERM stops it cleanly
        if on_start is not None:
            on_start(jobs)
        scheduler.start()


def _install_sigterm(scheduler: Any) -> None:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        else:  # not started yet: leave before it does
            raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
