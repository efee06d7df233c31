"""The dashboard's fixtures: a trained project with two versions, logged predictions, stored
monitor windows, alerts and an admin key; the app in process; a real server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import InProcess, UiServer

import steadyml
from steadyml.store.monitoring import AlertFiring


def raise_alert(project: Any, key: str, severity: str = "critical") -> int:
    firing = AlertFiring(
        key=key, rule=key, metric="performance_drop", subject=None, severity=severity,
        owner="ds@example.com", value=0.1234, comparison=">", threshold=0.08,
        window_start=None, window_end=None, model_version=1,
        message=f"{key}: roc_auc fell 0.12 below training",
        next_step="retrain with recent labelled data (steadyml retrain)",
    )  # fmt: skip
    alert, _ = project.store.record_firing(firing)
    return int(alert.id)


@pytest.fixture(scope="session")
def ui_template(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two versions (v1 in production), 600 logged batch predictions measured by the real
    monitor (so its windows are stored), two alerts, an admin and a predict key."""
    root = tmp_path_factory.mktemp("ui") / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.train(force=True)
        project.promote(1, "production", reason="first release", by="tests")
        admin, _ = project.create_key("ops", ["admin"])
        predict, _ = project.create_key("app", ["predict"])
        rows = project.load_data().frame.head(600)
        live = root / "live.csv"
        rows.to_csv(live, index=False)
        project.score_batch(live, root / "scored.csv")
        project.monitor(notify=False)
        raise_alert(project, "performance drop")
        raise_alert(project, "latency", severity="warning")
    (root / "keys.txt").write_text(f"admin={admin}\npredict={predict}\n", encoding="utf-8")
    return root


def keys_of(root: Path) -> dict[str, str]:
    lines = (root / "keys.txt").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line)


@pytest.fixture
def ui_root(ui_template: Path, tmp_path: Path) -> Path:
    """A private copy of the project, for a test that changes it."""
    target = tmp_path / "churn"
    shutil.copytree(ui_template, target)
    return target


@pytest.fixture
def ui(ui_root: Path) -> Iterator[InProcess]:
    from steadyml.serving.ui import create_ui_app

    project = steadyml.open(ui_root, env={})
    client = InProcess(create_ui_app(project))
    try:
        yield client
    finally:
        client.close()
        project.close()


@pytest.fixture(scope="module")
def ui_server(ui_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("ui-server") / "churn"
    shutil.copytree(ui_template, root)
    server = UiServer(root, root.parent / "server.log")
    try:
        yield server
    finally:
        server.stop()
