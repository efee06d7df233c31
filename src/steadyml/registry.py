"""The model registry: versions someone approved, stages, rollback, and verified loading.

A model version is the fitted pipeline (in the artifact store, by digest), its lineage (run,
data version), the data contract, and the reference statistics monitoring compares live data
with. Stages go candidate → staging → production → archived; exactly one version is in
production, and every promotion and rollback is a deployment event with who, when and why.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steadyml.entities import DeploymentEvent, ModelVersion, Run
from steadyml.errors import SteadyMLError

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.store import Store

PROMOTABLE = ("staging", "production")

__all__ = ["ModelBundle", "dump_bundle", "load_bundle", "promote", "rollback", "PROMOTABLE"]


@dataclass
class ModelBundle:
    """What is pickled for a model version: the pipeline plus what it needs to answer."""

    pipeline: Any
    task: str
    model_type: str
    features: list[str]
    classes: list[Any] | None
    positive_label: Any
    threshold: float | None
    packages: dict[str, str] = field(default_factory=dict)
    version: int | None = None  # set on load

    def predict(self, frame: pd.DataFrame) -> Any:
        return self.pipeline.predict(frame)

    def predict_proba(self, frame: pd.DataFrame) -> Any:
        return self.pipeline.predict_proba(frame)


def dump_bundle(bundle: ModelBundle) -> bytes:
    import joblib

    buf = io.BytesIO()
    joblib.dump(bundle, buf, compress=3)
    return buf.getvalue()


def load_bundle(artifacts: ArtifactStore, mv: ModelVersion) -> ModelBundle:
    """Load a model version; its bytes must match the recorded digest (else IntegrityError)."""
    import joblib

    data = artifacts.get_bytes(mv.artifact_digest, what=f"model version {mv.version}")
    bundle = joblib.load(io.BytesIO(data))
    if not isinstance(bundle, ModelBundle):  # pragma: no cover - only steadyml writes these
        raise SteadyMLError(f"Model version {mv.version}'s artifact is not a steadyml model.")
    bundle.version = mv.version
    return bundle


def _failed_gates(run: Run) -> list[str]:
    gates = run.summary.get("gates") or {}
    return [str(c.get("message")) for c in gates.get("checks", []) if not c.get("passed")]


def promote(
    store: Store,
    version: int,
    to: str,
    *,
    reason: str,
    by: str,
    override: str | None = None,
) -> DeploymentEvent:
    """Promote a version to staging or production, refusing one that failed its gates."""
    if to not in PROMOTABLE:
        raise SteadyMLError(
            f"--to must be one of {', '.join(PROMOTABLE)}; got {to!r}.",
            hint="Versions start as candidates; archive happens when another is promoted.",
        )
    if not reason or not reason.strip():
        raise SteadyMLError(
            "A promotion needs a reason: say why, e.g. --reason 'beats v3 on recall, "
            "approved by the retention lead'."
        )
    if override is not None and not override.strip():
        raise SteadyMLError("--override needs a reason: why promote despite failed gates?")
    mv = store.get_model_version(version)
    if not mv.gates_passed and override is None:
        run = store.get_run(mv.run_number)
        failed = _failed_gates(run)
        listed = "".join(f"\n  - {m}" for m in failed) or "\n  - (see `steadyml runs show`)"
        raise SteadyMLError(
            f"Version {version} failed its gates, so it cannot be promoted:{listed}",
            hint="Train a better model, or, if you accept the risk, promote with "
            "--override 'why this is acceptable'. The override is recorded.",
        )
    return store.change_stage(version, to, by=by, reason=reason.strip(), override=override)


def rollback(store: Store, *, reason: str, by: str) -> DeploymentEvent:
    if not reason or not reason.strip():
        raise SteadyMLError(
            "A rollback needs a reason: say what went wrong, e.g. --reason 'recall dropped "
            "after the release'."
        )
    return store.rollback(by=by, reason=reason.strip())
