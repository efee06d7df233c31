"""``steadyml train``: from the latest data snapshot to a tracked run and a registered model.

The steps, always in this order: take (or reuse) a data snapshot, validate it against the
contract, compute the run key, return the existing run when nothing changed, otherwise train
(training.run), store the fitted pipeline in the artifact store, record the run, and register
a model version (flagged when it failed its gates).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from steadyml.entities import ModelVersion, Run
from steadyml.errors import DataContractError
from steadyml.flows import data as data_flow
from steadyml.flows.release import save_serving_form
from steadyml.registry import ModelBundle, dump_bundle

if TYPE_CHECKING:
    from pathlib import Path

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.store import Store
    from steadyml.training.lineage import CodeVersion
    from steadyml.training.run import TrainOutcome

Progress = Callable[[str], None]

__all__ = ["TrainResult", "compare_runs", "record_outcome", "train", "training_config"]


@dataclass(frozen=True)
class TrainResult:
    run: Run
    model_version: ModelVersion | None
    up_to_date: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "up_to_date": self.up_to_date,
            "run": self.run.to_dict(),
            "model_version": None if self.model_version is None else self.model_version.to_dict(),
        }


def training_config(cfg: ProjectConfig) -> dict[str, Any]:
    """The parts of steadyml.yaml that change what training produces."""
    return {
        "data": cfg.data.model_dump(mode="json", exclude={"source", "query", "contract"}),
        "training": cfg.training.model_dump(mode="json"),
        "success_metric": cfg.project.success_metric.model_dump(mode="json"),
    }


def train(
    config: ProjectConfig,
    root: Path,
    store: Store,
    artifacts: ArtifactStore,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Train on the latest data snapshot, record the run and register the model.

    With nothing changed since the last run (same data, config, code), returns that run
    with ``up_to_date=True`` and trains nothing; ``force=True`` trains anyway.
    """
    from steadyml.data.check import detect_task
    from steadyml.data.contract import validate
    from steadyml.training.lineage import code_version, run_key
    from steadyml.training.run import train_model

    say = progress or (lambda _m: None)
    dv = store.latest_dataset_version()
    if dv is None:
        say("No data snapshot yet: taking one of data.source")
        dv = data_flow.snapshot(config, root, store, artifacts).version
    say(f"Loading data version {dv.version} ({dv.rows:,} rows)")
    frame = data_flow.load_snapshot(store, artifacts, dv.version)
    contract = data_flow.load_contract(config, root) or data_flow.infer_contract(config, root)
    say("Validating it against the data contract")
    report = validate(frame, data_flow.snapshot_contract(contract, config))  # no pii in it
    if not report.passed:  # only a broken rule refuses training data; expectations widen
        first = "\n".join(f"  - {v.message}" for v in report.broken_rules[:10])
        raise DataContractError(
            f"Data version {dv.version} breaks rules of the data contract "
            f"({report.bad_rows:,} of {report.rows:,} rows):\n{first}",
            report=report,
            hint="Run `steadyml data check` for the full report. Fix the data, or edit the "
            "rules in contract.yaml if the values are legitimate, then snapshot again.",
        )
    settings = training_config(config)
    code = code_version(root)
    key = run_key(data_hash=dv.content_hash, config=settings, code=code)
    if not force:
        existing = store.find_run_by_key(key)
        if existing is not None:
            mv = (
                None
                if existing.model_version is None
                else store.get_model_version(existing.model_version)
            )
            return TrainResult(run=existing, model_version=mv, up_to_date=True)

    data_cfg = config.data
    roles = data_cfg.roles()
    task = detect_task(frame[roles.target], data_cfg.task)
    metric = config.project.success_metric
    started = time.perf_counter()
    outcome = train_model(
        frame,
        roles,
        config.training,
        task=task,
        primary_metric=metric.name,
        direction=metric.direction,
        missing_codes=data_cfg.missing_codes,
        progress=say,
    )
    duration = time.perf_counter() - started
    say("Storing the model and recording the run")
    run, mv = record_outcome(
        store,
        artifacts,
        outcome,
        run_key=key,
        dataset_version=dv.version,
        data_hash=dv.content_hash,
        config_hash=config.hash(),
        code=code,
        training_config=settings,
        duration_s=duration,
        primary_metric=metric.name,
        contract=_contract_dict(contract),
    )
    return TrainResult(run=run, model_version=mv, up_to_date=False)


def record_outcome(
    store: Store,
    artifacts: ArtifactStore,
    outcome: TrainOutcome,
    *,
    run_key: str,
    dataset_version: int,
    data_hash: str,
    config_hash: str,
    code: CodeVersion,
    training_config: dict[str, Any],
    duration_s: float,
    primary_metric: str,
    contract: dict[str, Any],
    extra_packages: dict[str, str] | None = None,
) -> tuple[Run, ModelVersion]:
    """Store the fitted model, record the run and register the model version.

    The one place this happens: ``steadyml train`` and bench/tracking.py both call it.
    """
    # steadyml.training imports scikit-learn: only when a run is recorded, never when a
    # project is opened (a server's cold start)
    from steadyml.training.lineage import package_versions

    threshold = outcome.metrics.get("threshold")
    bundle = ModelBundle(
        pipeline=outcome.pipeline,
        task=outcome.task,
        model_type=outcome.model_name,
        features=list(outcome.features),
        classes=None if outcome.classes is None else list(outcome.classes),
        positive_label=outcome.positive_label,
        threshold=threshold if isinstance(threshold, (int, float)) else None,
        packages={**package_versions(), **(extra_packages or {})},
    )
    blob = dump_bundle(bundle)
    digest = artifacts.put_bytes(blob)
    store.add_artifact(digest=digest, size=len(blob), kind="model")
    serving_digest = save_serving_form(
        store, artifacts, bundle
    )  # linear models: what a server loads
    summary = outcome.to_dict()
    reference = summary.pop("reference", {})
    if outcome.error_model is not None:  # regression: estimates' error model, own artifact
        from steadyml.training.error_model import dump_error_model

        model_bytes = dump_error_model(outcome.error_model)
        error_digest = artifacts.put_bytes(model_bytes)
        store.add_artifact(digest=error_digest, size=len(model_bytes), kind="error_model")
        reference.setdefault("estimation", {})["error_model_digest"] = error_digest
    summary["artifact_size_bytes"] = len(blob)
    run = store.add_run(
        run_key=run_key,
        status="completed",
        task=outcome.task,
        model_type=outcome.model_name,
        dataset_version=dataset_version,
        data_hash=data_hash,
        config_hash=config_hash,
        code_commit=code.commit,
        code_dirty=code.dirty,
        params=summary.get("params", {}),
        metrics=summary.get("metrics", {}),
        baseline_metrics=summary.get("baseline_metrics", {}),
        gates_passed=outcome.gates.passed,
        summary=summary,
        training_config=training_config,
        package_versions=package_versions(),
        duration_s=round(duration_s, 3),
    )
    primary = outcome.metrics.get(primary_metric)
    mv = store.add_model_version(
        run_number=run.number,
        artifact_digest=digest,
        size_bytes=len(blob),
        model_type=outcome.model_name,
        task=outcome.task,
        gates_passed=outcome.gates.passed,
        features=list(outcome.features),
        dataset_version=dataset_version,
        primary_metric=primary_metric,
        primary_value=float(primary) if isinstance(primary, (int, float)) else None,
        contract=contract,
        reference=reference,
        serving_digest=serving_digest,
    )
    store.set_run_model_version(run.number, mv.version)
    return replace(run, model_version=mv.version), mv


def _contract_dict(contract: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "version": contract.version,
        "inferred_from": contract.inferred_from,
        "columns": {k: asdict(v) for k, v in contract.columns.items()},
    }


def compare_runs(store: Store, a: int, b: int) -> dict[str, Any]:
    """What changed between two runs (data, settings, code) and what improved."""
    from steadyml.training.evaluate import KNOWN_METRICS
    from steadyml.training.lineage import compare_runs as _compare

    return _compare(store.get_run(a), store.get_run(b), dict(KNOWN_METRICS))
