"""Model bundles: what is stored for a model version, and its verified loading.

A model version is the fitted pipeline (in the artifact store, by digest), its lineage (run,
data version), the data contract, and the reference statistics monitoring compares live data
with. Stages and their changes are the release use cases (``steadyml.flows.release``).

Every model family steadyml trains also gets a *serving form* when it is registered: a linear
pipeline folded into one affine map (text columns included), a tree ensemble as flat node
arrays (``training.compiled``, checked against the pipeline to 1e-9), saved with the model's
facts as a small file of its own (``forms.serving.ServingForm``, its kind in its header). A
server loads that (digest verified too) instead of unpickling the pipeline, so it starts
without importing scikit-learn.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from steadyml.entities import ModelVersion
from steadyml.errors import SteadyMLError

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.forms.serving import ServingForm

__all__ = [
    "ModelBundle",
    "dump_bundle",
    "dump_serving_form",
    "load_bundle",
    "load_serving_form",
]


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

    def scorer(self) -> Any:
        """What scores: the pipeline's compiled form when it has one, else the pipeline."""
        from steadyml.training.compiled import fast_model

        return fast_model(self.pipeline)


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


def dump_serving_form(bundle: ModelBundle) -> bytes | None:
    """The serving form of a bundle (linear or tree model), or None for a pipeline that has
    none (``training.compiled`` says which)."""
    from steadyml.forms.serving import ServingForm
    from steadyml.training.compiled import compile_pipeline

    compiled = compile_pipeline(bundle.pipeline)
    if compiled is None:
        return None
    return ServingForm(
        compiled=compiled,
        task=bundle.task,
        model_type=bundle.model_type,
        features=list(bundle.features),
        classes=bundle.classes,
        positive_label=bundle.positive_label,
        threshold=bundle.threshold,
        packages=dict(bundle.packages),
    ).to_bytes()


def load_serving_form(artifacts: ArtifactStore, mv: ModelVersion) -> ServingForm | None:
    """A version's serving form (its bytes must match the recorded digest), or None when it
    has none. Either kind of form (linear, trees) is read; a form that cannot be read
    raises ``SteadyMLError`` (the caller loads the pipeline instead)."""
    from steadyml.forms.serving import ServingForm

    if not mv.serving_digest:
        return None
    data = artifacts.get_bytes(mv.serving_digest, what=f"model version {mv.version}'s serving form")
    form = ServingForm.from_bytes(data)
    form.version = mv.version
    return form
