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
    from steadyml.project import Project

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "open",
    "Project",
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
]


def open(path: str | Path = ".", **kwargs: Any) -> Project:  # noqa: A001 - the public name
    """Open a project by its steadyml.yaml (or the folder that holds it)."""
    from steadyml.project import open_project

    return open_project(path, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "Project":
        from steadyml.project import Project

        return Project
    raise AttributeError(f"module 'steadyml' has no attribute {name!r}")
