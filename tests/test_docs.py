"""The docs are tested: every command and every project-file field is documented."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from steadyml.cli.app import app
from steadyml.config import ProjectConfig, _inner_model

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _command_paths(cmd, prefix=()):  # type: ignore[no-untyped-def]
    for name, sub in getattr(cmd, "commands", {}).items():
        if getattr(sub, "hidden", False):
            continue
        yield (*prefix, name)
        yield from _command_paths(sub, (*prefix, name))


def _fields(model, prefix=""):  # type: ignore[no-untyped-def]
    for name, field in model.model_fields.items():
        inner = _inner_model(field.annotation)
        if inner is None:
            yield prefix + name
        else:
            yield from _fields(inner, f"{prefix}{name}.")


def test_every_command_is_in_the_command_docs() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    groups = {p[:1] for p in _command_paths(get_command(app)) if len(p) > 1}
    missing = [
        " ".join(p)
        for p in _command_paths(get_command(app))
        if p not in groups and f"## steadyml {' '.join(p)}" not in text
    ]
    assert missing == [], f"document these in docs/cli.md: {missing}"


def test_every_project_file_field_is_documented() -> None:
    text = (DOCS / "project-file.md").read_text(encoding="utf-8")
    missing = [f for f in _fields(ProjectConfig) if f"| `{f}` |" not in text]
    assert missing == [], f"document these in docs/project-file.md: {missing}"


def test_readme_quickstart_is_exactly_two_commands() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quickstart", 1)[1].split("##", 1)[0]
    block = quick.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
