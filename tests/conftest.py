"""Shared fixtures: real SQLite files, a real PostgreSQL database, real sample projects.

PostgreSQL: `make test` starts a throwaway cluster and sets STEADYML_TEST_POSTGRES_URL. Each
test that asks for it gets a fresh database, dropped afterwards. Without the variable the
PostgreSQL variants fail, so a missing server never passes silently; a developer running
pytest alone may opt out with STEADYML_SKIP_POSTGRES=1.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

PG_ENV = "STEADYML_TEST_POSTGRES_URL"


def _pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("STEADYML_SKIP_POSTGRES") == "1":  # an explicit, local choice only
        pytest.skip("STEADYML_SKIP_POSTGRES=1: the PostgreSQL variant was not run")
    pytest.fail(
        f"{PG_ENV} is not set, so the PostgreSQL variant cannot run. `make test` starts a "
        "throwaway server (scripts/postgres.sh); to run pytest alone without one, set "
        "STEADYML_SKIP_POSTGRES=1."
    )


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server."""
    import psycopg

    admin = _pg_admin_url()
    name = f"steadyml_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _db = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata store URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(scope="session")
def churn_frame_small():  # type: ignore[no-untyped-def]
    from steadyml.samples.churn import make_churn_history

    return make_churn_history(n_customers=3000, months=6, seed=7)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh sample churn project (small) in tmp_path, with no STEADYML_* overrides."""
    from steadyml.flows.plan import init_from_template

    for key in list(os.environ):
        if key.startswith("STEADYML_") and key not in (PG_ENV, "STEADYML_SKIP_POSTGRES"):
            monkeypatch.delenv(key)
    result = init_from_template(tmp_path / "churn", "churn", n_customers=3000, months=6)
    return result.root


@pytest.fixture
def project(project_dir: Path):  # type: ignore[no-untyped-def]
    import steadyml

    p = steadyml.open(project_dir, env={})
    yield p
    p.close()


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small churn project with the leak dropped, trained once per session."""
    import steadyml
    from steadyml.flows.plan import init_from_template

    root = tmp_path_factory.mktemp("trained") / "churn"
    init_from_template(root, "churn", n_customers=1500, months=4)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    text = text.replace("min_metric: 0.75", "min_metric: 0.6")
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.train()
    return root


@pytest.fixture
def trained_project_dir(trained_template: Path, tmp_path: Path) -> Path:
    """A private copy of the trained project (its store and artifacts included)."""
    import shutil

    target = tmp_path / "trained"
    shutil.copytree(trained_template, target)
    return target


@pytest.fixture
def trained_project(trained_project_dir: Path):  # type: ignore[no-untyped-def]
    import steadyml

    p = steadyml.open(trained_project_dir, env={})
    yield p
    p.close()
