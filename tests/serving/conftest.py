"""Real servers for the service tests (see live_server.py), one per module or per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import Server, start_server

import steadyml


@pytest.fixture(scope="session")
def serving_template(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained project with two versions (v1 in production) and API keys."""
    root = tmp_path_factory.mktemp("serving") / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.train(force=True)
        project.promote(1, "production", reason="tests", by="tests")
        keys = {
            "predict": project.create_key("app", ["predict"])[0],
            "feedback": project.create_key("labels", ["feedback"])[0],
            "admin": project.create_key("ops", ["admin"])[0],
        }
    (root / "keys.txt").write_text("\n".join(f"{k}={v}" for k, v in keys.items()))
    return root


def _keys(root: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (root / "keys.txt").read_text().splitlines())
    return dict(pairs)


@pytest.fixture(scope="module")
def server(serving_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module, on its own copy of the project."""
    root = tmp_path_factory.mktemp("srv") / "churn"
    shutil.copytree(serving_template, root)
    srv = start_server(root, _keys(root))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(serving_template: Path, tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that change or stop it."""
    root = tmp_path / "churn"
    shutil.copytree(serving_template, root)
    srv = start_server(root, _keys(root))
    yield srv
    srv.stop()
