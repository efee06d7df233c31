"""Listing commands share one shape: ``--json`` for scripts; a sentence and the first step
when there is nothing yet; otherwise a table and what to do next."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

Invoke = Callable[..., Result]  # the fixtures of conftest.py
MakeProject = Callable[..., Path]

EMPTY = [
    (["data", "versions"], "No dataset versions yet.\n\nNext:\n"
     "  steadyml data snapshot    # record the first one\n"),
    (["runs", "list"], "No runs yet.\n\nNext:\n  steadyml train\n"),
    (["models", "list"], "No model versions yet.\n\nNext:\n  steadyml train\n"),
    (["keys", "list"], "No API keys yet.\n\nNext:\n"
     "  steadyml keys create --name my-app --scopes predict\n"),
    (["alerts", "list"], "No alerts open.\n"),
    (["alerts", "list", "--all"], "No alerts.\n"),
]  # fmt: skip


@pytest.mark.parametrize(("command", "said"), EMPTY, ids=[" ".join(c) for c, _ in EMPTY])
def test_an_empty_list_says_so_and_what_comes_first(
    invoke: Invoke, make_project: MakeProject, command: list[str], said: str
) -> None:
    root = make_project()
    result = invoke(*command, project=root)
    assert result.exit_code == 0
    assert result.stdout == said
    as_json = invoke(*command, "--json", project=root)
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == []


def test_a_list_is_a_table_and_its_json_the_records(
    invoke: Invoke, released_project_dir: Path
) -> None:
    shown = invoke("models", "list", project=released_project_dir)
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "version" and "created (UTC)" in lines[0]
    stages = {line.split("|")[0].strip(): line.split("|")[1].strip() for line in lines[2:]}
    assert stages == {"1": "production", "2": "candidate"}
    listed = json.loads(invoke("models", "list", "--json", project=released_project_dir).stdout)
    assert [(v["version"], v["stage"]) for v in listed] == [(1, "production"), (2, "candidate")]

    made = invoke("keys", "create", "--name", "crm", "--json", project=released_project_dir)
    key_id = json.loads(made.stdout)["id"]
    keys = invoke("keys", "list", project=released_project_dir).stdout.splitlines()
    assert [line.split("|")[1].strip() for line in keys[2:]] == ["crm"]
    assert keys[2].split("|")[0].strip() == str(key_id)
    assert keys[2].rstrip().endswith("active")


def test_an_empty_job_history_still_shows_its_columns(
    invoke: Invoke, make_project: MakeProject
) -> None:
    result = invoke("worker", "--history", project=make_project())
    assert result.exit_code == 0
    assert result.stdout.split()[:9] == ["id", "|", "job", "|", "started", "|", "seconds", "|",
                                         "outcome"]  # fmt: skip
