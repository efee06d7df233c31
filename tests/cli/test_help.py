"""Help texts: every command has one, its lists keep their lines, and asking is fast."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app


def _commands(cmd: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, sub in getattr(cmd, "commands", {}).items():
        yield (*prefix, name), sub
        yield from _commands(sub, (*prefix, name))


def test_help_imports_no_heavy_library() -> None:
    # every command's --help in one process: whatever one of them imports stays imported
    code = (
        "import sys\n"
        "from typer.main import get_command\n"
        "from steadyml.cli.app import app\n"
        "def paths(cmd, prefix=()):\n"
        "    for name, sub in getattr(cmd, 'commands', {}).items():\n"
        "        yield (*prefix, name)\n"
        "        yield from paths(sub, (*prefix, name))\n"
        "for path in [(), *paths(get_command(app))]:\n"
        "    try:\n        app([*path, '--help'])\n    except SystemExit:\n        pass\n"
        "heavy = [m for m in ('pandas', 'sklearn', 'fastapi', 'sqlalchemy', 'pandera', 'numpy')"
        " if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY=\n" in proc.stdout, proc.stdout[-500:]


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "steadyml", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.strip() == f"steadyml {steadyml.__version__}"


def test_every_command_has_help(cli: CliRunner) -> None:
    seen = []
    for path, sub in _commands(get_command(app)):
        result = cli.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert (sub.help or "").strip(), f"steadyml {' '.join(path)} has no help text"
        assert "Usage:" in result.output
        seen.append(" ".join(path))
    assert {"init", "demo", "data", "data check", "data snapshot", "data versions"} <= set(seen)


def test_every_list_in_a_help_text_is_kept_as_written() -> None:
    # click rewraps each paragraph into running text; a paragraph that opens with \b is
    # printed line by line. Lists, tables and examples are written indented: each needs one.
    root = get_command(app)
    reflowed = [
        f"steadyml {' '.join(path)}: {para.splitlines()[0]!r}"
        for path, cmd in [((), root), *_commands(root)]
        for para in (cmd.help or "").split("\n\n")
        if any(line.startswith("  ") for line in para.splitlines()) and para.splitlines()[0] != "\b"
    ]
    assert reflowed == [], "start these paragraphs with a \\b line"


@pytest.mark.parametrize(
    ("command", "lines"),
    [
        (
            ["monitor"],
            [
                "    system        volume, latency p50/p95/p99, error and fallback rates",
                "    fairness      the gap between groups of each sensitive column",
                "  Examples:",
                "    steadyml monitor --since 30d --json",
            ],
        ),
        (["worker"], ["    batch       daily at schedule.batch.at: score each new file in"]),
        (["feedback"], ["  Example:"]),
        (
            [],
            [
                "    5. score     steadyml batch score     score a whole file; bad rows kept with the reason"
            ],
        ),
    ],
    ids=["monitor", "worker", "feedback", "steadyml"],
)
def test_help_keeps_the_line_breaks_of_its_lists(
    cli: CliRunner, command: list[str], lines: list[str]
) -> None:
    result = cli.invoke(app, [*command, "--help"], terminal_width=100)
    assert result.exit_code == 0
    printed = result.output.splitlines()
    assert [line for line in lines if line not in printed] == []
