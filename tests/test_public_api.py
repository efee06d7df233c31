"""The public surface: what ``steadyml`` exports is pinned, so a change to it is deliberate."""

from __future__ import annotations

import subprocess
import sys

import pytest

import steadyml

PINNED = {
    "__version__", "open", "Project",
    "SteadyMLError", "ConfigError", "DataError", "DataContractError", "StoreError",
    "StoreVersionError", "NotFoundError", "ArtifactNotFound", "IntegrityError",
    "MissingExtraError",
    "Alert", "ApiKey", "BatchResult", "CompactResult", "DataCheckResult", "DatasetVersion",
    "DeploymentEvent", "FeedbackResult", "InitResult", "LoadedData", "ModelVersion",
    "MonitorRun", "Run", "SnapshotResult", "TrafficPolicy", "TrainResult",
}  # fmt: skip


def test_all_is_pinned() -> None:
    assert set(steadyml.__all__) == PINNED
    assert len(steadyml.__all__) == len(PINNED)  # no name twice


def test_every_exported_name_resolves() -> None:
    for name in steadyml.__all__:
        assert getattr(steadyml, name) is not None, name


def test_result_types_are_what_project_methods_return() -> None:
    from steadyml.project import Project

    hints = {
        "train": "TrainResult", "score_batch": "BatchResult", "snapshot": "SnapshotResult",
        "monitor": "MonitorRun", "check_data": "DataCheckResult", "model_version": "ModelVersion",
        "run": "Run", "record_feedback_file": "FeedbackResult", "compact_log": "CompactResult",
        "load_data": "LoadedData",
    }  # fmt: skip
    for method, name in hints.items():
        returned = getattr(Project, method).__annotations__["return"]  # a string: postponed
        assert returned == name, (method, returned)
        assert name in steadyml.__all__


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        steadyml.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_importing_steadyml_is_cheap() -> None:
    code = (
        "import sys, steadyml; heavy = [m for m in ('pandas', 'sklearn', 'sqlalchemy', "
        "'fastapi') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_facade_and_the_service_import_no_scikit_learn() -> None:
    """A server holding a serving form opens its project and builds its app without
    scikit-learn or scipy (a cold start of about a second); training imports them on use."""
    code = (
        "import sys, steadyml.project, steadyml.flows, steadyml.serving.app; "
        "print(','.join(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
