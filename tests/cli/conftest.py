"""Factories for the CLI tests: run a command, make a sample project, a released project."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from steadyml.cli.app import app

Invoke = Callable[..., Result]
KEEP_ENV = ("STEADYML_TEST_POSTGRES_URL", "STEADYML_SKIP_POSTGRES")  # the test suite's own


@pytest.fixture
def invoke(cli: CliRunner) -> Invoke:
    """``invoke(*args, project=P)`` runs ``steadyml [--project P] ARGS``; an unexpected
    exception fails the test with its traceback."""

    def run(*args: str | Path, project: Path | None = None) -> Result:
        base = ["--project", str(project)] if project is not None else []
        return cli.invoke(app, [*base, *map(str, args)], catch_exceptions=False)

    return run


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``STEADYML_*`` override (store, artifacts, project) left in the environment."""
    for key in list(os.environ):
        if key.startswith("STEADYML_") and key not in KEEP_ENV:
            monkeypatch.delenv(key)


@pytest.fixture
def make_project(tmp_path: Path, clean_env: None) -> Callable[..., Path]:
    """``make_project(name="p", n_customers=500, months=2)``: a sample churn project folder,
    with no ``STEADYML_*`` override left in the environment."""
    from steadyml.flows.plan import init_from_template

    def make(name: str = "p", *, n_customers: int = 500, months: int = 2, **kw: Any) -> Path:
        return init_from_template(
            tmp_path / name, "churn", n_customers=n_customers, months=months, **kw
        ).root

    return make


@pytest.fixture(scope="session")
def released_template(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained sample project with a second version; version 1 is in production."""
    import steadyml

    root = tmp_path_factory.mktemp("released") / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.train(force=True)  # version 2: a challenger for traffic commands
        project.promote(1, "production", reason="the first good version", by="ann")
    return root


@pytest.fixture
def released_project_dir(released_template: Path, tmp_path: Path) -> Path:
    """A private copy of ``released_template`` (store and artifacts included)."""
    target = tmp_path / "released"
    shutil.copytree(released_template, target)
    return target
