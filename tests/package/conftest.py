"""A trained churn project with version 1 in production, packaged once per session (the
steadyml wheel built once); tests that change a package work on their own copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import steadyml


@pytest.fixture(scope="session")
def release_project(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained project with version 1 in production."""
    root = tmp_path_factory.mktemp("package") / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="package tests", by="tests")
    return root


@pytest.fixture(scope="session")
def packaged(release_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package of the production version (built once; never changed by a test)."""
    out = tmp_path_factory.mktemp("pkg") / "churn-v1"
    with steadyml.open(release_project, env={}) as project:
        project.package(out)
    return out


@pytest.fixture
def package_copy(packaged: Path, tmp_path: Path) -> Path:
    """A test's own copy of the package, to change."""
    target = tmp_path / "pkg"
    shutil.copytree(packaged, target)
    return target


@pytest.fixture
def wheel(packaged: Path) -> Path:
    """The steadyml wheel the session's package holds (so other packages skip the build)."""
    return next((packaged / "wheels").glob("steadyml-*.whl"))
