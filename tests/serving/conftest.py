"""Servers for the service tests: in process (``inprocess.py``, most tests) or real uvicorn
processes (``live_server.py``: signals, hot swap under load, the fuzz test), one per module
or per test, each on its own copy of a trained project."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import copy_project, read_keys
from inprocess import AppMaker, AppServer, start_app
from live_server import Server, start_server

import steadyml
from steadyml.serving.settings import ServeSettings


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


@pytest.fixture(scope="module")
def server(serving_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One app per test module, served in process, on its own copy of the project."""
    root = copy_project(serving_template, tmp_path_factory.mktemp("app"))
    srv = start_app(root, read_keys(root))
    yield srv
    srv.stop()


@pytest.fixture
def make_server(serving_template: Path, tmp_path: Path) -> Iterator[AppMaker]:
    """``make_server(serving_yaml="", settings=None)``: an app of its own, served in process,
    for tests that change its project file, its settings, or the project under it."""
    started: list[AppServer] = []

    def make(serving_yaml: str = "", settings: ServeSettings | None = None) -> AppServer:
        root = copy_project(serving_template, tmp_path / f"app{len(started)}", serving_yaml)
        srv = start_app(root, read_keys(root), settings)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@pytest.fixture
def fresh_server(make_server: AppMaker) -> AppServer:
    """An app of its own, served in process, for tests that change the project under it."""
    return make_server()


@pytest.fixture(scope="module")
def live_server(
    serving_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One real uvicorn server per test module, on its own copy of the project."""
    root = copy_project(serving_template, tmp_path_factory.mktemp("srv"))
    srv = start_server(root, read_keys(root))
    yield srv
    srv.stop()


@pytest.fixture
def fresh_live_server(serving_template: Path, tmp_path: Path) -> Iterator[Server]:
    """A real uvicorn server of its own, for tests that load it, swap its model or stop it."""
    root = copy_project(serving_template, tmp_path)
    srv = start_server(root, read_keys(root))
    yield srv
    srv.stop()
