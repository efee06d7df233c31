"""Monitor: labels in, windows measured, alerts raised and handled, the log kept tidy.

The use cases of the course's fifth step:

* ``record_feedback_file`` / ``record_labels``: true labels from a file or an API body,
  keyed by request id or row id;
* ``monitor``: the prediction log measured in windows (``steadyml.monitoring.run_monitor``),
  each calendar window of each length stored for the dashboard (``flows/windows.py``), then
  every alert rule checked on windows of its own length (a rule on ``1d`` is checked even
  when this run's report uses ``7d`` windows: every length is measured in one pass);
* ``acknowledge_alert`` / ``resolve_alert``: an incident's owner answers it;
* ``apply_retention`` / ``compact_log``: old predictions deleted, the API's one-second log
  chunks merged (the worker's nightly job).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.entities import Alert, ModelVersion
from steadyml.errors import NotFoundError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.monitoring.alerts import AlertOutcome
    from steadyml.monitoring.feedback import FeedbackResult
    from steadyml.predlog.compact import CompactResult
    from steadyml.store import Store

__all__ = [
    "MonitorRun",
    "acknowledge_alert",
    "apply_retention",
    "compact_log",
    "monitor",
    "monitor_report",
    "monitored_version",
    "record_feedback_file",
    "record_labels",
    "resolve_alert",
]


@dataclass(frozen=True)
class MonitorRun:
    """A monitor run: the measurements (``result``, the report's input) and what fired."""

    result: dict[str, Any]
    fired: list[AlertOutcome]

    @property
    def new_alerts(self) -> list[Alert]:
        return [o.alert for o in self.fired if o.is_new]


def record_labels(store: Store, labels: list[tuple[str, Any]]) -> FeedbackResult:
    """Store true labels sent as (key, label) pairs (``POST /v1/feedback``); the last label
    for a key wins, and keys that match no logged prediction are reported, and kept."""
    from steadyml.monitoring.feedback import record_feedback

    return record_feedback(store, labels, [], len(labels))


def record_feedback_file(
    store: Store, file: Path, *, id_column: str, label_column: str
) -> FeedbackResult:
    """Store true labels from a CSV/Parquet file, keyed by request id or row id."""
    from steadyml.monitoring.feedback import load_feedback_file, record_feedback

    labels, skipped, rows = load_feedback_file(file, id_column=id_column, label_column=label_column)
    return record_feedback(store, labels, skipped, rows)


def monitored_version(store: Store, version: int | None, *, project: str) -> ModelVersion:
    """The version to monitor: ``version``, the one in production, or the latest."""
    if version is not None:
        return store.get_model_version(version)
    mv = store.production_version()
    if mv is not None:
        return mv
    versions = store.list_model_versions()
    if not versions:
        raise NotFoundError(
            f"Project '{project}' has no model yet, so there is nothing to monitor.",
            hint="Train one first: steadyml train",
        )
    return max(versions, key=lambda v: v.version)


def monitor(
    config: ProjectConfig,
    store: Store,
    artifacts: ArtifactStore,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    window: str | None = None,
    model_version: int | None = None,
    alerts: bool = True,
    notify: bool = True,
    env: Mapping[str, str] | None = None,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> MonitorRun:
    """Measure the prediction log in windows; then check the alert rules.

    The model version defaults to the one in production (or the latest registered).
    ``engine="dask"`` reads and counts the log on a Dask cluster (a local one, or the one at
    ``scheduler``), with the same numbers.
    """
    if engine not in ("pandas", "dask"):
        raise SteadyMLError(
            f"The engine must be 'pandas' or 'dask'; got {engine!r}.",
            hint="Use 'dask' to read the log on a Dask cluster, 'pandas' (the default) here.",
            field="engine",
        )
    if scheduler and engine != "dask":
        raise SteadyMLError(
            f"A scheduler ({scheduler}) is only used by the Dask engine.",
            hint="Add engine='dask' (--engine dask), or leave the scheduler out.",
            field="scheduler",
        )
    from steadyml.flows.windows import store_windows
    from steadyml.monitoring.alerts import evaluate_rules
    from steadyml.monitoring.monitor import run_monitor

    mv = monitored_version(store, model_version, project=config.project.name)
    run = store.get_run(mv.run_number)
    labels = store.all_feedback()
    rules = list(config.monitoring.alerts) if alerts else []
    # every rule's window length is measured in the same pass over the log
    also = sorted({r.window for r in rules} - {window or config.monitoring.window})
    result = run_monitor(store, config, mv, run, since=since, until=until, window=window,
                         labels=labels, artifacts=artifacts, also=also, engine=engine,
                         scheduler=scheduler)  # fmt: skip
    # kept for the dashboard: every calendar window of every length (flows/windows.py)
    result.data["stored_windows"] = store_windows(store, result)
    outcomes = []
    if alerts:
        outcomes += evaluate_rules(store, config, result.data, rules=rules,
                                   notify=notify, env=env)  # fmt: skip
        for other in also:
            outcomes += evaluate_rules(store, config, result.others[other].data, rules=rules,
                                       notify=notify, env=env)  # fmt: skip
    from steadyml.monitoring.estimate_backtest import record_backtest

    # the back-test: each window's estimate beside its realised value, once labels arrive
    result.data["backtest"] = record_backtest(store, result.data)
    result.data["alerts"] = [a.to_dict() for a in store.list_alerts(limit=200)]
    return MonitorRun(result=result.data, fired=outcomes)


def monitor_report(result: Mapping[str, Any]) -> str:
    """The self-contained HTML page of a monitor run."""
    from steadyml.reports.monitor import render_monitor_report

    return render_monitor_report(dict(result))


def acknowledge_alert(store: Store, alert_id: int, *, by: str, note: str | None = None) -> Alert:
    return store.set_alert_status(alert_id, "acknowledged", by=by, note=note)


def resolve_alert(store: Store, alert_id: int, *, note: str, by: str) -> Alert:
    if not note.strip():
        raise SteadyMLError(
            "A resolution needs a note: what was the cause and what was done.",
            hint="For example: 'retrained on March data (v3)'.",
            field="note",
        )
    return store.set_alert_status(alert_id, "resolved", by=by, note=note)


def apply_retention(
    config: ProjectConfig, store: Store, artifacts: ArtifactStore, *, now: dt.datetime | None = None
) -> int:
    """Delete logged predictions older than ``monitoring.retention_days``: rows of the SQL
    log, the API's log chunks whose rows are all older, and whole batch log files (their
    store row and their bytes). Returns how many predictions were deleted."""
    from steadyml.predlog import delete_batch_logs_before

    days = config.monitoring.retention_days
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
    deleted = store.delete_predictions_before(cutoff)
    return deleted + delete_batch_logs_before(store, artifacts, cutoff)


def compact_log(store: Store, *, now: dt.datetime | None = None) -> CompactResult:
    """Merge the API log's one-second chunks older than an hour into large ones (the
    retention job does this nightly); nothing logged changes, only how it is stored."""
    from steadyml.predlog.compact import compact_log as _compact

    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=1)
    return _compact(store, older_than=cutoff)
