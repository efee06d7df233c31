"""The Project facade: one project file, its metadata store and its artifact store.

The library's front door: ``project = steadyml.open("steadyml.yaml"); project.train()``.
Nothing opens at import; the stores open on first use. Each method hands the configuration
and the stores to one use case in ``steadyml.flows`` (where the logic lives, grouped by the
module each method calls: data, train, release, card, batch, monitor); the CLI, the worker and
the service go through these same entry points.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from steadyml.config import LoadedConfig, ProjectConfig, apply_env, load_config, resolve_url
from steadyml.entities import (
    Alert,
    ApiKey,
    CheckRecord,
    DatasetVersion,
    DeploymentEvent,
    ModelVersion,
    Run,
    TrafficPolicy,
)
from steadyml.flows import batch, card, data, monitor, release, train
from steadyml.flows.data import LoadedData, SnapshotResult
from steadyml.flows.monitor import MonitorRun

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.batch.score import BatchResult
    from steadyml.data.check import DataCheckResult
    from steadyml.data.contract import Contract
    from steadyml.entities import Attestation, JobRun, PredictionRecord, Rollout, StoredWindow
    from steadyml.flows.checklist import Checklist
    from steadyml.flows.package import PackageResult
    from steadyml.flows.retrain import RetrainResult
    from steadyml.flows.rollout import Evaluation, RolloutStatus
    from steadyml.flows.train import TrainResult
    from steadyml.flows.triggers import TriggerCheck
    from steadyml.monitoring.feedback import FeedbackResult
    from steadyml.predlog.compact import CompactResult
    from steadyml.registry import ModelBundle
    from steadyml.store import Store
    from steadyml.store.pages import Page, PagesRepo, RunBrief, VersionBrief

Progress = Callable[[str], None]

__all__ = ["Project", "open_project", "LoadedData", "MonitorRun", "SnapshotResult"]


class Project:
    """A steadyml project: configuration plus the stores it records into."""

    def __init__(self, loaded: LoadedConfig, *, env: Mapping[str, str] | None = None) -> None:
        self.config: ProjectConfig = apply_env(loaded.config, env if env is not None else {})
        self.root: Path = loaded.root
        self.path: Path = loaded.path
        self.notices: list[str] = list(loaded.notices)
        self._store: Store | None = None
        self._artifacts: ArtifactStore | None = None

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, root={str(self.root)!r})"

    @property
    def name(self) -> str:
        return self.config.project.name

    @property
    def store(self) -> Store:
        if self._store is None:
            from steadyml.store import open_store

            url = resolve_url(self.config.storage.store_url, self.root)
            self._store = open_store(url, project=self.name)
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from steadyml.artifacts import ArtifactStore

            self._artifacts = ArtifactStore(
                resolve_url(self.config.storage.artifacts_url, self.root)
            )
        return self._artifacts

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def data_path(self, file: str | Path | None = None) -> Path:
        return data.data_path(self.config, self.root, file)

    def load_data(self, file: str | Path | None = None) -> LoadedData:
        return data.load_data(self.config, self.root, file)

    @property
    def contract_path(self) -> Path:
        return data.contract_path(self.config, self.root)

    def contract(self) -> Contract | None:
        return data.load_contract(self.config, self.root)

    def infer_contract(self, *, overwrite: bool = False) -> Contract:
        return data.infer_contract(self.config, self.root, overwrite=overwrite)

    def check_data(self, file: str | Path | None = None, *,
                   progress: Progress | None = None) -> DataCheckResult:  # fmt: skip
        """Check data against the contract (inferred on the first run), its quality and
        leakage; record the check."""
        return data.check_data(self.config, self.root, self.store, file, progress=progress)

    def snapshot(self, file: str | Path | None = None) -> SnapshotResult:
        """Record a dataset version; the same content gives the same version, no new record."""
        return data.snapshot(self.config, self.root, self.store, self.artifacts, file)

    def dataset_versions(self) -> list[DatasetVersion]:
        return self.store.list_dataset_versions()

    def load_snapshot(self, version: int | None = None) -> pd.DataFrame:
        return data.load_snapshot(self.store, self.artifacts, version)

    def train(self, *, force: bool = False, progress: Progress | None = None) -> TrainResult:
        """Train on the latest snapshot, record the run, register the model (nothing changed:
        the last run, ``up_to_date=True``)."""
        return train.train(self.config, self.root, self.store, self.artifacts,
                           force=force, progress=progress)  # fmt: skip

    def retrain(self, *, labels_since: str | None = None,
                progress: Progress | None = None) -> RetrainResult:  # fmt: skip
        """The champion's data plus the window's labelled live rows: a challenger, a decision."""
        from steadyml.flows.retrain import retrain

        return retrain(self.config, self.root, self.store, self.artifacts,
                       labels_since=labels_since, progress=progress)  # fmt: skip

    def check_triggers(self, *, now: dt.datetime | None = None,
                       job_id: int | None = None) -> TriggerCheck:  # fmt: skip
        """Which retrain triggers (``retraining.triggers``) fire now, and why."""
        from steadyml.flows.triggers import check_triggers

        return check_triggers(self.config, self.store, now=now, job_id=job_id)

    def retrain_on_triggers(self, *, now: dt.datetime | None = None, job_id: int | None = None,
                            progress: Progress | None = None) -> dict[str, Any]:  # fmt: skip
        """Retrain when a trigger fired, saying why; the summary the worker's job records."""
        from steadyml.flows.triggers import retrain_on_triggers

        return retrain_on_triggers(self.config, self.root, self.store, self.artifacts, now=now,
                                   job_id=job_id, progress=progress)  # fmt: skip

    # --- rollout (flows/rollout.py) ---------------------------------------------------

    def start_rollout(self, version: int, *, reason: str, by: str | None = None,
                      now: dt.datetime | None = None,
                      override: str | None = None) -> Rollout:  # fmt: skip
        """Shadow → canary steps → production for ``version``, guarded (docs/rollout.md);
        ``override`` says why a REJECT or INCONCLUSIVE retrain decision is overruled."""
        from steadyml.flows.rollout import start_rollout

        return start_rollout(self.store, self.artifacts, self.config, version, reason=reason,
                             by=by or _who(), now=now, override=override)  # fmt: skip

    def evaluate_rollout(self, *, now: dt.datetime | None = None,
                         force: bool = False) -> Evaluation:  # fmt: skip
        """Read the active rollout's guardrails and apply what they say (idempotent)."""
        from steadyml.flows.rollout import evaluate_rollout

        return evaluate_rollout(self.store, self.config, self.artifacts, now=now, force=force)

    def rollout_status(self, *, now: dt.datetime | None = None,
                       evaluate: bool = True) -> RolloutStatus:  # fmt: skip
        """The active (else last) rollout; ``evaluate=False`` reads it without acting."""
        from steadyml.flows.rollout import rollout_status

        return rollout_status(self.store, self.config, self.artifacts, now=now,
                              evaluate=evaluate)  # fmt: skip

    def advance_rollout(self, *, reason: str, by: str | None = None,
                        now: dt.datetime | None = None) -> Evaluation:  # fmt: skip
        from steadyml.flows.rollout import advance_rollout

        return advance_rollout(self.store, self.config, self.artifacts, reason=reason,
                               by=by or _who(), now=now)  # fmt: skip

    def pause_rollout(self, *, reason: str, by: str | None = None,
                      now: dt.datetime | None = None) -> Rollout:  # fmt: skip
        from steadyml.flows.rollout import pause_rollout

        return pause_rollout(self.store, self.config, reason=reason, by=by or _who(), now=now)

    def abort_rollout(self, *, reason: str, by: str | None = None,
                      now: dt.datetime | None = None) -> Rollout:  # fmt: skip
        from steadyml.flows.rollout import abort_rollout

        return abort_rollout(self.store, self.config, reason=reason, by=by or _who(), now=now)

    def runs(self) -> list[Run]:
        return self.store.list_runs()

    def run(self, number: int) -> Run:
        return self.store.get_run(number)

    def compare_runs(self, a: int, b: int) -> dict[str, Any]:
        return train.compare_runs(self.store, a, b)

    # --- pages of long lists, without per-item blobs (store/pages.py; the dashboard) ---

    def runs_page(self, *, offset: int = 0, limit: int = 50, status: str | None = None,
                  model_type: str | None = None, dataset_version: int | None = None,
                  gates: bool | None = None) -> Page[RunBrief]:  # fmt: skip
        """Runs newest first, one page, without params or summaries (``run(n)`` has them)."""
        return _pages(self.store).run_page(offset=offset, limit=limit, status=status,
                                           model_type=model_type, gates=gates,
                                           dataset_version=dataset_version)  # fmt: skip

    def run_model_types(self) -> list[str]:
        return _pages(self.store).run_model_types()

    def versions_page(self, *, offset: int = 0, limit: int = 50,
                      stage: str | None = None) -> Page[VersionBrief]:  # fmt: skip
        """Model versions newest first, one page, without contracts or reference statistics."""
        return _pages(self.store).version_page(offset=offset, limit=limit, stage=stage)

    def alerts_page(self, *, offset: int = 0, limit: int = 50,
                    status: list[str] | None = None) -> Page[Alert]:  # fmt: skip
        """Alerts newest first, one page, without histories (``alert(id)`` has it)."""
        return _pages(self.store).alert_page(offset=offset, limit=limit, status=status)

    def data_checks(self, *, limit: int = 10) -> list[CheckRecord]:
        """The latest recorded data checks, newest first."""
        return _pages(self.store).recent_checks(limit)

    def recent_events(self, *, limit: int = 20) -> list[DeploymentEvent]:
        """The latest deployment events, newest first."""
        return _pages(self.store).recent_events(limit)

    def model_versions(self) -> list[ModelVersion]:
        return self.store.list_model_versions()

    def model_version(self, version: int) -> ModelVersion:
        return self.store.get_model_version(version)

    def production(self) -> ModelVersion | None:
        return self.store.production_version()

    def deployment_events(self) -> list[DeploymentEvent]:
        return self.store.list_events()

    def promote(self, version: int, to: str, *, reason: str, by: str | None = None,
                override: str | None = None) -> DeploymentEvent:  # fmt: skip
        """To production, the launch gate too (``launch.required``; see ``checklist``)."""
        return release.promote(self.store, self.artifacts, version, to, reason=reason,
                               by=by or _who(), override=override,
                               config=self.config)  # fmt: skip

    # --- the launch checklist (flows/checklist.py) ---------------------------------------

    def checklist(self, *, now: dt.datetime | None = None) -> Checklist:
        """The ML Test Score's 28 tests and the launch items, each with its evidence."""
        from steadyml.flows.checklist import checklist

        return checklist(self.config, self.root, self.store, now=now)

    def checklist_html(self, result: Checklist) -> str:
        from steadyml.flows.checklist import checklist_html

        return checklist_html(result, project=self.name)

    def attest(self, item: str, *, note: str, by: str | None = None,
               now: dt.datetime | None = None) -> Attestation:  # fmt: skip
        """A person's word that ``item`` was done by hand: half a point until it expires."""
        from steadyml.flows.checklist import attest

        return attest(self.config, self.store, item, note=note, by=by or _who(), now=now)

    def reproduce(self, run_number: int | None = None) -> JobRun:
        """Retrain a run's snapshot with its settings; record whether the metrics match."""
        from steadyml.flows.checklist_repro import reproduce

        return reproduce(self.config, self.store, self.artifacts, run_number=run_number)

    def rollback(self, *, reason: str, by: str | None = None) -> DeploymentEvent:
        return release.rollback(self.store, reason=reason, by=by or _who())

    def load_model(self, version: int | None = None) -> ModelBundle:
        """A model version (default: production), its digest verified."""
        return release.load_model(self.store, self.artifacts, version, project=self.name)

    def model_card(self, version: int, *, fmt: str = "markdown") -> str:
        return card.model_card(self.config, self.store, version, fmt=fmt)

    def create_key(self, name: str, scopes: list[str], *, by: str | None = None
                   ) -> tuple[str, ApiKey]:  # fmt: skip
        """The key itself is returned once and never stored."""
        return release.create_key(self.store, name=name, scopes=scopes, by=by or _who())

    def api_keys(self) -> list[ApiKey]:
        return self.store.list_api_keys()

    def revoke_key(self, key_id: int) -> ApiKey:
        return self.store.revoke_api_key(key_id)

    def traffic(self) -> TrafficPolicy:
        return self.store.get_traffic()

    def set_traffic(self, mode: str, *, challenger: int | None = None,
                    percent: float | None = None, sticky_by: str | None = None, reason: str,
                    by: str | None = None) -> TrafficPolicy:  # fmt: skip
        return release.set_traffic(
            self.store, mode, challenger=challenger, percent=percent, sticky_by=sticky_by,
            columns=self.config.data.roles().declared, by=by or _who(), reason=reason,
        )  # fmt: skip

    def score_batch(self, input: str | Path, out: str | Path, *,  # noqa: A002
                    rejects: str | Path | None = None, chunk_rows: int = 50_000,
                    engine: Literal["pandas", "dask"] = "pandas", scheduler: str | None = None,
                    model_version: int | None = None, log: bool = True,
                    progress: Callable[[int, int | None], None] | None = None,
                    ) -> BatchResult:  # fmt: skip
        """Score a file in chunks: rows in = rows scored + rows rejected (with reasons)."""
        return batch.score_batch(
            self.config, self.root, self.store, self.artifacts, input, out, rejects=rejects,
            chunk_rows=chunk_rows, engine=engine, scheduler=scheduler,
            model_version=model_version, log=log, progress=progress,
        )  # fmt: skip

    def record_feedback_file(self, path: str | Path, *, id_column: str,
                             label_column: str) -> FeedbackResult:  # fmt: skip
        file = Path(path) if Path(path).is_absolute() else self.data_path(path)
        return monitor.record_feedback_file(
            self.store, file, id_column=id_column, label_column=label_column
        )

    def count_predictions(self, *, answered: bool | None = None) -> int:
        return self.store.count_predictions(answered=answered)

    def prediction(self, request_id: str) -> PredictionRecord | None:
        """One logged API prediction by its request id (SQL log or log chunks), else None."""
        found = self.store.list_predictions(limit=1, request_ids=[request_id])
        return found[0] if found else None

    def record_labels(self, labels: list[tuple[str, Any]]) -> FeedbackResult:
        return monitor.record_labels(self.store, labels)

    def monitor(self, *, since: dt.datetime | None = None, until: dt.datetime | None = None,
                window: str | None = None, model_version: int | None = None,
                alerts: bool = True, notify: bool = True,
                env: Mapping[str, str] | None = None, engine: str = "pandas",
                scheduler: str | None = None) -> MonitorRun:  # fmt: skip
        """Measure the prediction log in windows, then check the alert rules."""
        return monitor.monitor(
            self.config, self.store, self.artifacts, since=since, until=until, window=window,
            model_version=model_version, alerts=alerts, notify=notify, env=env,
            engine=engine, scheduler=scheduler,
        )  # fmt: skip

    def monitor_report(self, result: Mapping[str, Any]) -> str:
        return monitor.monitor_report(result)

    # --- stored monitor windows (flows/windows.py) ------------------------------------

    def monitor_windows(self, *, length: str | None = None, since: dt.datetime | None = None,
                        until: dt.datetime | None = None, model_version: int | None = None,
                        limit: int = 100, offset: int = 0,
                        measures: bool = True) -> list[StoredWindow]:  # fmt: skip
        """Stored monitor windows starting in [since, until), newest first (a page of
        ``limit``); ``measures=False`` leaves each window's block out (``summary`` stays)."""
        from steadyml.flows.windows import monitor_windows

        return monitor_windows(self.store, length=length, since=since, until=until,
                               model_version=model_version, limit=limit, offset=offset,
                               measures=measures)  # fmt: skip

    def monitor_window(self, window_id: int) -> StoredWindow:
        """One stored monitor window with its block, by id."""
        from steadyml.flows.windows import monitor_window

        return monitor_window(self.store, window_id)

    def count_monitor_windows(self, *, length: str | None = None,
                              since: dt.datetime | None = None, until: dt.datetime | None = None,
                              model_version: int | None = None) -> int:  # fmt: skip
        from steadyml.flows.windows import count_monitor_windows

        return count_monitor_windows(self.store, length=length, since=since, until=until,
                                     model_version=model_version)  # fmt: skip

    def latest_windows(self, *, model_version: int | None = None) -> dict[str, StoredWindow]:
        """The latest stored monitor window of each length, by length."""
        from steadyml.flows.windows import latest_windows

        return latest_windows(self.store, model_version=model_version)

    def alerts(self, *, status: str | None = None) -> list[Alert]:
        return self.store.list_alerts(status=status)

    def alert(self, alert_id: int) -> Alert:
        return self.store.get_alert(alert_id)

    def acknowledge_alert(self, alert_id: int, *, by: str | None = None,
                          note: str | None = None) -> Alert:  # fmt: skip
        return monitor.acknowledge_alert(self.store, alert_id, by=by or _who(), note=note)

    def resolve_alert(self, alert_id: int, *, note: str, by: str | None = None) -> Alert:
        return monitor.resolve_alert(self.store, alert_id, note=note, by=by or _who())

    def incident_report(self, alert_id: int, *, fmt: str = "markdown",
                        now: dt.datetime | None = None) -> str:  # fmt: skip
        """The draft write-up of an alert's incident (Markdown or HTML), for a person to finish."""
        from steadyml.flows.incident import incident_report

        return incident_report(self.config, self.store, alert_id, fmt=fmt, now=now)

    def apply_retention(self, *, now: dt.datetime | None = None) -> int:
        return monitor.apply_retention(self.config, self.store, self.artifacts, now=now)

    def compact_log(self, *, now: dt.datetime | None = None) -> CompactResult:
        return monitor.compact_log(self.store, now=now)

    # --- packaging (flows/package.py) --------------------------------------------------

    def package(self, out: str | Path, version: int | None = None, *,
                wheel: str | Path | None = None,
                progress: Progress | None = None) -> PackageResult:  # fmt: skip
        """A folder that serves ``version`` (default: production) the same way anywhere:
        the model and its contract, digest-checked at start, pinned requirements, the
        steadyml wheel, a Dockerfile and golden requests (see docs/package.md)."""
        from steadyml.flows.package import package

        return package(self.config, self.root, self.path, self.store, self.artifacts, version,
                       out, wheel=wheel, progress=progress)  # fmt: skip


def _pages(store: Store) -> PagesRepo:
    from steadyml.store.pages import pages_of

    return pages_of(store)


def _who() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no user name in some containers
        return "unknown"


def open_project(path: str | Path = ".", *, env: Mapping[str, str] | None = None) -> Project:
    """Open the project whose steadyml.yaml is at ``path`` (a file or its folder).

    ``env`` defaults to ``os.environ``; pass ``{}`` to ignore ``STEADYML_*`` overrides.
    """
    loaded = load_config(path)
    return Project(loaded, env=os.environ if env is None else env)
