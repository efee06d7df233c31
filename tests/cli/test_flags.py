"""A domain error names a library argument (``field``); the CLI names the flag that sets it.

The library never speaks of flags (a Python caller never typed ``--to``): the CLI turns
``field`` into the flag of the command that ran. The first test checks the table behind that
for every command against the library call it makes; the others run one command per kind of
mistake and check the exit status, the flag named and that nothing changed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import Result

import steadyml
from steadyml.cli._common import flag_of
from steadyml.cli.app import app
from steadyml.flows import plan
from steadyml.project import Project

# command → the library call it makes, and the call's arguments the command does not offer
# (set by the CLI itself, or left at the library's default).
Invoke = Callable[..., Result]  # the ``invoke`` fixture of conftest.py

CALLS: list[tuple[str, Callable[..., Any], set[str]]] = [
    ("init", plan.init_from_template, {"n_customers", "months", "progress"}),
    ("init", plan.init_from_data, {"progress"}),
    ("data check", Project.check_data, {"progress"}),
    ("data snapshot", Project.snapshot, set()),
    ("train", Project.train, {"progress"}),
    ("runs show", Project.run, set()),
    ("runs compare", Project.compare_runs, set()),
    ("models show", Project.model_version, set()),
    ("models promote", Project.promote, set()),
    ("models rollback", Project.rollback, set()),
    ("models card", Project.model_card, set()),
    ("batch score", Project.score_batch, {"progress"}),
    ("keys create", Project.create_key, {"by"}),
    ("keys revoke", Project.revoke_key, set()),
    ("traffic set", Project.set_traffic, set()),
    ("feedback", Project.record_feedback_file, set()),
    ("monitor", Project.monitor, {"notify", "env"}),
    ("alerts list", Project.alerts, set()),
    ("alerts show", Project.alert, set()),
    ("alerts ack", Project.acknowledge_alert, set()),
    ("alerts resolve", Project.resolve_alert, set()),
]


def _names_on_the_command_line(path: str) -> set[str]:
    """Every flag of a command, and each positional argument by its metavar."""
    cmd: Any = get_command(app)
    for part in path.split():
        cmd = cmd.commands[part]
    names: set[str] = set()
    for p in cmd.params:
        if p.param_type_name == "argument":
            names.add((p.metavar or p.name.upper()).strip("[]"))
        else:
            names.update(p.opts, p.secondary_opts)
    return names


@pytest.mark.parametrize(("path", "call", "not_offered"), CALLS, ids=[c[0] for c in CALLS])
def test_every_library_argument_maps_to_a_flag_of_its_command(
    path: str, call: Callable[..., Any], not_offered: set[str]
) -> None:
    arguments = [n for n in inspect.signature(call).parameters if n != "self"]
    offered = _names_on_the_command_line(path)
    unmapped = {
        name: flag_of(name)
        for name in arguments
        if name not in not_offered and not set(flag_of(name).split(" / ")) <= offered
    }
    assert unmapped == {}, f"steadyml {path}: add these to _FLAGS in cli/_common.py"


# One mistake per kind on a project with version 1 in production and version 2 a candidate:
# the command exits 1, its message opens with the flag (or argument) at fault, and the
# release state is as it was.
MISTAKES = [
    (["models", "promote", "2", "--to", "prod", "--reason", "x"],
     "Error: --to: A version can be promoted to staging or production; got 'prod'."),
    (["models", "promote", "2", "--to", "production", "--reason", "  "],
     "Error: --reason: A promotion needs a reason: say why, e.g. "),
    (["traffic", "set", "canary", "--challenger", "2", "--percent", "80", "--reason", "try"],
     "Error: --percent: A canary's share must be above 0 and at most 50 percent; got 80.0."),
    (["traffic", "set", "canari", "--reason", "x"],
     "Error: MODE: Traffic mode must be one of "),
]  # fmt: skip


@pytest.mark.parametrize(("command", "message"), MISTAKES, ids=["to", "reason", "percent", "mode"])
def test_a_release_mistake_names_its_flag_and_changes_nothing(
    invoke: Invoke, released_project_dir: Path, command: list[str], message: str
) -> None:
    result = invoke(*command, project=released_project_dir)
    assert result.exit_code == 1
    assert message in result.stderr
    with steadyml.open(released_project_dir, env={}) as project:
        assert project.production().version == 1
        assert project.traffic().mode == "production"
        assert [e.action for e in project.deployment_events()] == ["promote"]


def test_a_key_with_unknown_scopes_names_scopes(
    invoke: Invoke, make_project: Callable[..., Path]
) -> None:
    root = make_project()
    result = invoke("keys", "create", "--name", "crm", "--scopes", "predict,write", project=root)
    assert result.exit_code == 1
    assert "Error: --scopes: A key's scopes must be some of " in result.stderr
    assert "got predict, write." in result.stderr
    with steadyml.open(root, env={}) as project:
        assert project.api_keys() == []
