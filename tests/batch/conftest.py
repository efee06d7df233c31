"""Fixtures for batch scoring: a trained project with version 1 in production, and its data."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture(scope="module")
def batch_template(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained project with version 1 promoted to production (once per module)."""
    import steadyml

    root = tmp_path_factory.mktemp("batch") / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="t", by="t")
    return root


@pytest.fixture
def batch_project(batch_template: Path, tmp_path: Path) -> Iterator[object]:
    import steadyml

    root = tmp_path / "project"
    shutil.copytree(batch_template, root)
    project = steadyml.open(root, env={})
    yield project
    project.close()


@pytest.fixture(scope="module")
def scoring_frame(batch_template: Path) -> pd.DataFrame:
    """The project's own data as a scoring file would hold it: no target, no leak column."""
    import steadyml

    with steadyml.open(batch_template, env={}) as project:
        frame = project.load_data().frame  # the file: a snapshot has no personal data
    return frame.drop(columns=["churned", "cancellation_reason"]).reset_index(drop=True)


@pytest.fixture
def write_input(tmp_path: Path) -> Callable[..., Path]:
    """Write a frame as a file to score: ``write_input(frame, "in.csv")`` (CSV without the
    index, or Parquet by extension; keyword arguments go to ``to_parquet``), in ``tmp_path``."""

    def write(frame: pd.DataFrame, name: str = "in.csv", **parquet: object) -> Path:
        path = tmp_path / name
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, **parquet)  # type: ignore[arg-type]
        return path

    return write
