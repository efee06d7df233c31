"""``steadyml data …`` through the library: the check's verdict, snapshots, versions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

import steadyml

Invoke = Callable[..., Result]  # the fixtures of conftest.py
MakeProject = Callable[..., Path]


@pytest.mark.slow  # checks and snapshots 6,000 rows
def test_init_template_then_check_and_snapshot(
    invoke: Invoke, make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make_project("p", n_customers=1500, months=4)
    monkeypatch.chdir(target)

    result = invoke("data", "check", "--json")
    assert result.exit_code == 1  # the planted leak must be fixed first
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["contract"]["created"] is True
    assert [f["column"] for f in payload["findings"] if f["severity"] == "error"] == [
        "cancellation_reason"
    ]

    result = invoke("data", "snapshot")
    assert result.exit_code == 0
    assert result.stdout.startswith("Recorded dataset version 1 (")
    result = invoke("data", "snapshot")
    assert result.stdout.startswith("Unchanged: this data is already dataset version 1 (")

    with steadyml.open(target, env={}) as project:
        assert [v.version for v in project.dataset_versions()] == [1]
        assert len(project.store.list_checks()) == 1

    result = invoke("data", "versions", "--json")
    (version,) = json.loads(result.stdout)
    assert version["version"] == 1 and version["rows"] == 6000
