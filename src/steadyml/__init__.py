"""steadyml keeps a machine-learning model useful after the notebook.

    import steadyml
    project = steadyml.open("steadyml.yaml")
    result = project.check_data()

Importing steadyml is cheap: pandas, scikit-learn and the database load on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.errors import (
    ArtifactNotFound,
    ConfigError,
    DataContractError,
    DataError,
    IntegrityError,
    MissingExtraError,
    NotFoundError,
    SteadyMLError,
    StoreError,
    StoreVersionError,
)

if TYPE_CHECKING:
    from steadyml.batch.score import BatchResult
    from steadyml.data.check import DataCheckResult
    from steadyml.entities import (
        Alert,
        ApiKey,
        DatasetVersion,
        DeploymentEvent,
        ModelVersion,
        Run,
        TrafficPolicy,
    )
    from steadyml.flows.data import LoadedData, SnapshotResult
    from steadyml.flows.monitor import MonitorRun
    from steadyml.flows.plan import InitResult
    from steadyml.flows.train import TrainResult
    from steadyml.monitoring.feedback import FeedbackResult
    from steadyml.predlog.compact import CompactResult
    from steadyml.project import Project

__version__ = "0.1.0"

# What users may import from ``steadyml`` (pinned by tests/test_public_api.py): the front door,
# the errors, and the result types ``Project``'s methods return. Everything else may change.
__all__ = [
    "__version__",
    "open",
    "Project",
    # errors
    "SteadyMLError",
    "ConfigError",
    "DataError",
    "DataContractError",
    "StoreError",
    "StoreVersionError",
    "NotFoundError",
    "ArtifactNotFound",
    "IntegrityError",
    "MissingExtraError",
    # what Project returns
    "Alert",
    "ApiKey",
    "BatchResult",
    "CompactResult",
    "DataCheckResult",
    "DatasetVersion",
    "DeploymentEvent",
    "FeedbackResult",
    "InitResult",
    "LoadedData",
    "ModelVersion",
    "MonitorRun",
    "Run",
    "SnapshotResult",
    "TrafficPolicy",
    "TrainResult",
]

# Loaded on first use, so ``import steadyml`` stays cheap (no pandas, no database).
_LAZY = {
    "Project": "steadyml.project",
    "Alert": "steadyml.entities",
    "ApiKey": "steadyml.entities",
    "DatasetVersion": "steadyml.entities",
    "DeploymentEvent": "steadyml.entities",
    "ModelVersion": "steadyml.entities",
    "Run": "steadyml.entities",
    "TrafficPolicy": "steadyml.entities",
    "BatchResult": "steadyml.batch.score",
    "CompactResult": "steadyml.predlog.compact",
    "DataCheckResult": "steadyml.data.check",
    "FeedbackResult": "steadyml.monitoring.feedback",
    "InitResult": "steadyml.flows.plan",
    "LoadedData": "steadyml.flows.data",
    "MonitorRun": "steadyml.flows.monitor",
    "SnapshotResult": "steadyml.flows.data",
    "TrainResult": "steadyml.flows.train",
}


def open(path: str | Path = ".", **kwargs: Any) -> Project:  # noqa: A001 - the public name
    """Open a project by its steadyml.yaml (or the folder that holds it)."""
    from steadyml.project import open_project

    return open_project(path, **kwargs)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'steadyml' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
