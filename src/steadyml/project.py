"""The Project handle: one project file, its metadata store and its artifact store.

This is the library's front door and the only thing the CLI (and later the web layer) calls:
``project = steadyml.open("steadyml.yaml"); project.check_data()``. Nothing is opened at
import time; the store and the artifact store open on first use.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.config import LoadedConfig, ProjectConfig, apply_env, load_config, resolve_url
from steadyml.entities import (
    Alert,
    ApiKey,
    DatasetVersion,
    DeploymentEvent,
    ModelVersion,
    Run,
    TrafficPolicy,
)
from steadyml.errors import DataError, NotFoundError, SteadyMLError

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.batch.score import BatchResult
    from steadyml.data.check import DataCheckResult
    from steadyml.data.contract import Contract
    from steadyml.monitoring.alerts import AlertOutcome
    from steadyml.monitoring.feedback import FeedbackResult
    from steadyml.predlog.compact import CompactResult
    from steadyml.registry import ModelBundle
    from steadyml.store import Store
    from steadyml.trainer import TrainResult

Progress = Callable[[str], None]

__all__ = ["Project", "open_project", "LoadedData", "MonitorRun", "SnapshotResult"]


@dataclass(frozen=True)
class LoadedData:
    frame: pd.DataFrame
    path: Path
    notes: list[str]


@dataclass(frozen=True)
class MonitorRun:
    """A monitor run: the measurements (``result``, the report's input) and what fired."""

    result: dict[str, Any]
    fired: list[AlertOutcome]

    @property
    def new_alerts(self) -> list[Alert]:
        return [o.alert for o in self.fired if o.is_new]


@dataclass(frozen=True)
class SnapshotResult:
    version: DatasetVersion
    created: bool
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "path": str(self.path), **self.version.to_dict()}


class Project:
    """A steadyml project: configuration plus the stores it records into."""

    def __init__(self, loaded: LoadedConfig, *, env: Mapping[str, str] | None = None) -> None:
        self._loaded = loaded
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

    # --- stores -------------------------------------------------------------------------

    @property
    def store_url(self) -> str:
        return resolve_url(self.config.storage.store_url, self.root)

    @property
    def store(self) -> Store:
        if self._store is None:
            from steadyml.store import open_store

            self._store = open_store(self.store_url, project=self.name)
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

    # --- data ---------------------------------------------------------------------------

    def data_path(self, file: str | Path | None = None) -> Path:
        source = Path(file) if file is not None else Path(self.config.data.source)
        if "://" in str(source):
            raise DataError(
                f"data.source '{source}' is a URL; reading SQL and remote sources is not "
                "built yet.",
                hint="Export the table to CSV or Parquet and point data.source at the file.",
            )
        if file is None and not source.is_absolute():
            source = self.root / source
        return source.expanduser().resolve()

    def load_data(self, file: str | Path | None = None) -> LoadedData:
        """Read a data file (default: the configured source), applying ``missing_codes``."""
        from steadyml.data.loading import read_table_with_notes

        path = self.data_path(file)
        frame, notes = read_table_with_notes(path)
        codes = self.config.data.missing_codes
        for column, values in codes.items():
            if column not in frame.columns:
                raise DataError(
                    f"data.missing_codes names column '{column}', which is not in {path.name}.",
                    hint=f"Columns: {', '.join(map(str, frame.columns))}.",
                )
            mask = frame[column].isin(values)
            if mask.any():
                frame[column] = frame[column].mask(mask)
                notes.append(
                    f"{int(mask.sum())} value(s) in '{column}' matched missing_codes "
                    f"{values} and were treated as missing."
                )
        return LoadedData(frame=frame, path=path, notes=notes)

    @property
    def contract_path(self) -> Path:
        p = Path(self.config.data.contract)
        return p if p.is_absolute() else self.root / p

    def contract(self) -> Contract | None:
        from steadyml.data.contract import load_contract

        return load_contract(self.contract_path) if self.contract_path.exists() else None

    def infer_contract(self, *, overwrite: bool = False) -> Contract:
        """Infer the data contract from the training source and save it for review."""
        from steadyml.data.contract import infer_contract, save_contract
        from steadyml.data.versions import fingerprint

        if self.contract_path.exists() and not overwrite:
            existing = self.contract()
            if existing is not None:
                return existing
        data = self.load_data()
        fp = fingerprint(data.frame)
        contract = infer_contract(
            data.frame,
            self.config.data.roles(),
            source=self._relative(data.path),
            content_hash=fp.content_hash,
        )
        self.contract_path.parent.mkdir(parents=True, exist_ok=True)
        save_contract(contract, self.contract_path)
        return contract

    def check_data(
        self, file: str | Path | None = None, *, progress: Progress | None = None
    ) -> DataCheckResult:
        """Validate data against the contract (inferring it on the first run), measure its
        quality, look for leakage, and record the check in the metadata store."""
        from steadyml.data.check import DataCheckResult, run_checks
        from steadyml.data.versions import fingerprint

        say = progress or (lambda _m: None)
        say("Reading the data")
        data = self.load_data(file)
        created = not self.contract_path.exists()
        if created:
            say("Inferring the data contract from the training data")
        contract = self.infer_contract()
        training = self.config.training
        report, quality, leakage, roles, task = run_checks(
            data.frame,
            self.config.data.roles(),
            contract,
            task_setting=self.config.data.task,
            post_outcome=self.config.data.post_outcome,
            seed=training.seed,
            split_method=training.split.method,
            test_size=training.split.test_size,
            progress=say,
        )
        fp = fingerprint(data.frame)
        result = DataCheckResult(
            source=self._relative(data.path),
            rows=len(data.frame),
            columns=len(data.frame.columns),
            content_hash=fp.content_hash,
            contract_path=self._relative(self.contract_path),
            contract_created=created,
            contract_source=str(contract.inferred_from.get("source", "")),
            contract_report=report,
            quality=quality,
            leakage=leakage,
            roles=roles,
            task=task,
            notes=data.notes,
        )
        say("Recording the check")
        self.store.add_check(
            kind="data_check",
            source=result.source,
            content_hash=fp.content_hash,
            passed=result.passed,
            errors=result.errors,
            warnings=result.warnings,
            summary={
                "rows": result.rows,
                "violations": len(report.violations),
                "rules": sorted({f.rule for f in result.findings}),
            },
        )
        return result

    def snapshot(self, file: str | Path | None = None) -> SnapshotResult:
        """Record a dataset version; the same content gives the same version, no new record."""
        from steadyml.data.versions import fingerprint, to_parquet_bytes

        data = self.load_data(file)
        fp = fingerprint(data.frame)
        existing = self.store.find_dataset_version(fp.content_hash)
        if existing is not None:
            return SnapshotResult(existing, False, data.path)
        blob = to_parquet_bytes(data.frame)
        digest = self.artifacts.put_bytes(blob)
        self.store.add_artifact(digest=digest, size=len(blob), kind="dataset")
        version, created = self.store.add_dataset_version(
            content_hash=fp.content_hash,
            rows=fp.rows,
            columns=fp.columns,
            schema_hash=fp.schema_hash,
            source=self._relative(data.path),
            artifact_digest=digest,
        )
        return SnapshotResult(version, created, data.path)

    def dataset_versions(self) -> list[DatasetVersion]:
        return self.store.list_dataset_versions()

    def load_snapshot(self, version: int | None = None) -> pd.DataFrame:
        """The exact data of a dataset version, read back from the artifact store (verified)."""
        from steadyml.data.versions import from_parquet_bytes

        dv = (
            self.store.get_dataset_version(version)
            if version is not None
            else self.store.latest_dataset_version()
        )
        if dv is None:
            raise DataError(
                "This project has no dataset version yet.",
                hint="Record one with `steadyml data snapshot`.",
            )
        if dv.artifact_digest is None:
            raise DataError(f"Dataset version {dv.version} has no stored copy of its data.")
        data = self.artifacts.get_bytes(dv.artifact_digest, what=f"data snapshot v{dv.version}")
        return from_parquet_bytes(data)

    # --- training, runs, registry -----------------------------------------------------

    def train(self, *, force: bool = False, progress: Progress | None = None) -> TrainResult:
        """Train on the latest data snapshot, record the run and register the model.

        With nothing changed since the last run (same data, config, code), returns that run
        with ``up_to_date=True`` and trains nothing; ``force=True`` trains anyway.
        """
        from steadyml.trainer import run_training

        return run_training(self, force=force, progress=progress)

    def runs(self) -> list[Run]:
        return self.store.list_runs()

    def run(self, number: int) -> Run:
        return self.store.get_run(number)

    def compare_runs(self, a: int, b: int) -> dict[str, Any]:
        from steadyml.tracking import compare_runs
        from steadyml.training.evaluate import KNOWN_METRICS

        return compare_runs(self.store.get_run(a), self.store.get_run(b), dict(KNOWN_METRICS))

    def model_versions(self) -> list[ModelVersion]:
        return self.store.list_model_versions()

    def model_version(self, version: int) -> ModelVersion:
        return self.store.get_model_version(version)

    def production(self) -> ModelVersion | None:
        return self.store.production_version()

    def deployment_events(self) -> list[DeploymentEvent]:
        return self.store.list_events()

    def promote(
        self,
        version: int,
        to: str,
        *,
        reason: str,
        by: str | None = None,
        override: str | None = None,
    ) -> DeploymentEvent:
        from steadyml import registry

        event = registry.promote(
            self.store, version, to, reason=reason, by=by or _who(), override=override
        )
        self._ensure_serving_form(version)
        return event

    def _ensure_serving_form(self, version: int) -> None:
        """A linear model registered before serving forms existed gets one when it is
        promoted, so servers start without scikit-learn (registry.dump_serving_form)."""
        from steadyml.registry import dump_serving_form

        mv = self.model_version(version)
        if mv.serving_digest or mv.model_type != "linear":
            return
        form = dump_serving_form(self.load_model(version))
        if form is None:
            return
        digest = self.artifacts.put_bytes(form)
        self.store.add_artifact(digest=digest, size=len(form), kind="serving")
        self.store.set_serving_digest(version, digest)

    def rollback(self, *, reason: str, by: str | None = None) -> DeploymentEvent:
        from steadyml import registry

        return registry.rollback(self.store, reason=reason, by=by or _who())

    def load_model(self, version: int | None = None) -> ModelBundle:
        """Load a model version (default: production); its digest is verified first."""
        from steadyml.registry import load_bundle

        if version is None:
            mv = self.production()
            if mv is None:
                raise NotFoundError(
                    f"Project '{self.name}' has no model in production.",
                    hint="Promote one: `steadyml models promote V --to production --reason …`.",
                )
        else:
            mv = self.model_version(version)
        return load_bundle(self.artifacts, mv)

    def model_card(self, version: int, *, fmt: str = "markdown") -> str:
        """The model card of a version, as Markdown or as a self-contained HTML page."""
        from steadyml.cards import card_data
        from steadyml.reports import render_card_html, render_card_markdown

        data = card_data(self, version)
        if fmt == "html":
            return render_card_html(data)
        if fmt == "markdown":
            return render_card_markdown(data)
        raise SteadyMLError(f"Card format must be 'markdown' or 'html'; got {fmt!r}.")

    def score_batch(
        self,
        input: str | Path,  # noqa: A002 - the CLI argument's name
        out: str | Path,
        *,
        rejects: str | Path | None = None,
        chunk_rows: int = 50_000,
        engine: str = "pandas",
        scheduler: str | None = None,
        model_version: int | None = None,
        log: bool = True,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> BatchResult:
        """Score a CSV/Parquet file in chunks; rows that break the contract go to a rejects
        file with their line and reason, so rows in = rows scored + rows rejected."""
        from steadyml.batch.score import score_file

        return score_file(
            self, input, out, rejects=rejects, chunk_rows=chunk_rows, engine=engine,  # type: ignore[arg-type]
            scheduler=scheduler, model_version=model_version, log=log, progress=progress,
        )  # fmt: skip

    # --- serving: keys and traffic ------------------------------------------------------

    def create_key(self, name: str, scopes: list[str], *, by: str | None = None
                   ) -> tuple[str, ApiKey]:  # fmt: skip
        """Create an API key; the key itself is returned once and never stored."""
        from steadyml.keys import create_key

        return create_key(self.store, name=name, scopes=scopes, by=by or _who())

    def api_keys(self) -> list[ApiKey]:
        return self.store.list_api_keys()

    def revoke_key(self, key_id: int) -> ApiKey:
        return self.store.revoke_api_key(key_id)

    def traffic(self) -> TrafficPolicy:
        return self.store.get_traffic()

    def set_traffic(
        self,
        mode: str,
        *,
        challenger: int | None = None,
        percent: float | None = None,
        sticky_by: str | None = None,
        reason: str,
        by: str | None = None,
    ) -> TrafficPolicy:
        from steadyml.traffic import set_traffic

        if sticky_by is not None and sticky_by not in self.config.data.roles().declared:
            raise SteadyMLError(
                f"--sticky-by {sticky_by!r} is not a column of this project.",
                hint=f"Use the id column, e.g. --sticky-by {self.config.data.id or 'customer_id'}.",
            )
        return set_traffic(
            self.store, mode, challenger=challenger, percent=percent, sticky_by=sticky_by,
            by=by or _who(), reason=reason,
        )  # fmt: skip

    # --- monitoring: labels, monitor runs, alerts, retention ----------------------------

    def record_feedback_file(
        self, path: str | Path, *, id_column: str, label_column: str
    ) -> FeedbackResult:
        """Store true labels from a CSV/Parquet file, keyed by request id or row id."""
        from steadyml.monitoring.feedback import load_feedback_file, record_feedback

        file = self.data_path(path) if not Path(path).is_absolute() else Path(path)
        labels, skipped, rows = load_feedback_file(
            file, id_column=id_column, label_column=label_column
        )
        return record_feedback(self.store, labels, skipped, rows)

    def monitor(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        window: str | None = None,
        model_version: int | None = None,
        alerts: bool = True,
        notify: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> MonitorRun:
        """Measure the prediction log in windows; then check the alert rules.

        The model version defaults to the one in production (or the latest registered).
        Rules are checked on windows of their own length, so a rule on ``1d`` is checked
        even when this run's report uses ``7d`` windows.
        """
        from steadyml.monitoring.alerts import evaluate_rules
        from steadyml.monitoring.monitor import run_monitor

        mv = self._monitored_version(model_version)
        run = self.store.get_run(mv.run_number)
        labels = self.store.all_feedback()
        result = run_monitor(self.store, self.config, mv, run, since=since, until=until,
                             window=window, labels=labels, artifacts=self.artifacts)  # fmt: skip
        outcomes = []
        if alerts:
            rules = list(self.config.monitoring.alerts)
            outcomes += evaluate_rules(self.store, self.config, result.data, rules=rules,
                                       notify=notify, env=env)  # fmt: skip
            for other in sorted({r.window for r in rules} - {result.data["window"]}):
                extra = run_monitor(self.store, self.config, mv, run, since=since, until=until,
                                    window=other, labels=labels,
                                    log=result.frames["log"])  # fmt: skip
                outcomes += evaluate_rules(self.store, self.config, extra.data, rules=rules,
                                           notify=notify, env=env)  # fmt: skip
        result.data["alerts"] = [a.to_dict() for a in self.store.list_alerts(limit=200)]
        return MonitorRun(result=result.data, fired=outcomes)

    def _monitored_version(self, version: int | None) -> ModelVersion:
        if version is not None:
            return self.model_version(version)
        mv = self.production()
        if mv is not None:
            return mv
        versions = self.model_versions()
        if not versions:
            raise NotFoundError(
                f"Project '{self.name}' has no model yet, so there is nothing to monitor.",
                hint="Train one first: steadyml train",
            )
        return max(versions, key=lambda v: v.version)

    def monitor_report(self, result: Mapping[str, Any]) -> str:
        """The self-contained HTML page of a monitor run."""
        from steadyml.reports.monitor import render_monitor_report

        return render_monitor_report(dict(result))

    def alerts(self, *, status: str | None = None) -> list[Alert]:
        return self.store.list_alerts(status=status)

    def alert(self, alert_id: int) -> Alert:
        return self.store.get_alert(alert_id)

    def acknowledge_alert(self, alert_id: int, *, by: str | None = None,
                          note: str | None = None) -> Alert:  # fmt: skip
        return self.store.set_alert_status(alert_id, "acknowledged", by=by or _who(), note=note)

    def resolve_alert(self, alert_id: int, *, note: str, by: str | None = None) -> Alert:
        if not note.strip():
            raise SteadyMLError(
                "A resolution needs a note: what was the cause and what was done.",
                hint=f"steadyml alerts resolve {alert_id} --note 'retrained on March data (v3)'",
            )
        return self.store.set_alert_status(alert_id, "resolved", by=by or _who(), note=note)

    def apply_retention(self, *, now: dt.datetime | None = None) -> int:
        """Delete logged predictions older than ``monitoring.retention_days``: rows of the SQL
        log, the API's log chunks whose rows are all older, and whole batch log files (their
        store row and their bytes). Returns how many predictions were deleted."""
        from steadyml.predlog import delete_batch_logs_before

        days = self.config.monitoring.retention_days
        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=days)
        deleted = self.store.delete_predictions_before(cutoff)
        return deleted + delete_batch_logs_before(self.store, self.artifacts, cutoff)

    def compact_log(self, *, now: dt.datetime | None = None) -> CompactResult:
        """Merge the API log's one-second chunks older than an hour into large ones (the
        retention job does this nightly); nothing logged changes, only how it is stored."""
        from steadyml.predlog.compact import compact_log

        cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(hours=1)
        return compact_log(self.store, older_than=cutoff)

    def _relative(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.root))
        except ValueError:
            return str(path)


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
