"""Shared plumbing for commands: the console, error translation, JSON output, tables."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from steadyml.errors import ConfigError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.project import Project

F = TypeVar("F", bound=Callable[..., Any])

# Printed output goes to stdout; notes, progress and errors to stderr, so `--json | jq` works.
# soft_wrap: long lines are left for the terminal to wrap, so a pipe gets whole lines.
# In a pipe or a CI log rich assumes 80 columns and folds wide tables (the monitor's drift
# table) into unreadable pieces; 120 keeps them whole. A terminal keeps its own width.
_PIPE_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
out = Console(highlight=False, soft_wrap=True, width=_PIPE_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

# Set by the root callback from --verbose; read when an error is printed.
VERBOSE: ContextVar[bool] = ContextVar("steadyml_verbose", default=False)


def is_terminal() -> bool:
    return out.is_terminal


def table(*columns: str, title: str | None = None) -> Table:
    """A table that is boxed on a terminal and plain text in a pipe."""
    t = Table(
        title=title,
        box=box.SIMPLE_HEAD if is_terminal() else box.ASCII2,
        show_edge=is_terminal(),
        title_justify="left",
        pad_edge=False,
    )
    for c in columns:
        t.add_column(c, overflow="fold")
    return t


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def print_json(payload: Any) -> None:
    text = json.dumps(payload, default=_jsonable, indent=2, ensure_ascii=False)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def state(ctx: typer.Context) -> dict[str, Any]:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = {}
    obj: dict[str, Any] = root.obj
    return obj


# A domain error names the argument it is about in the library's words (``field``); the CLI
# names the flag that sets it. Most flags are the argument's name with dashes (``sticky_by``
# → ``--sticky-by``); these are the others, and the positional arguments by their metavar.
# tests/cli/test_flags.py checks every command against the library calls it makes.
_FLAGS = {
    "model_version": "--model",  # batch score, monitor
    "log": "--no-log",  # batch score
    "alerts": "--no-alerts",  # monitor
    "fmt": "--html / --md",  # models card: the option chosen sets the format
    # positional arguments
    "version": "V",  # models show / promote / card
    "mode": "MODE",  # traffic set
    "input": "INPUT",  # batch score
    "file": "FILE",  # data check / snapshot
    "path": "FILE",  # feedback
    "root": "DIR",  # init
    "key_id": "ID",  # keys revoke
    "alert_id": "ID",  # alerts show / ack / resolve
    "number": "N",  # runs show
    "a": "A",  # runs compare
    "b": "B",
}


def flag_of(field: str) -> str:
    """The command-line flag for a library argument: ``sticky_by`` → ``--sticky-by``,
    ``model_version`` → ``--model``; a positional argument by its metavar (``mode`` → MODE)."""
    return _FLAGS.get(field, "--" + field.replace("_", "-"))


def handle_errors(fn: F) -> F:
    """Turn SteadyMLError into ``Error: …`` and exit 1; ``--verbose`` adds the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SteadyMLError as exc:
            verbose = VERBOSE.get()
            if verbose:
                err.print(traceback.format_exc(), markup=False)
            where = f"{flag_of(exc.field)}: " if exc.field else ""
            err.print(f"Error: {where}{exc.message}", markup=False, style="bold red")
            if exc.hint:
                err.print(exc.hint, markup=False)
            if not verbose:
                err.print("(run with --verbose to see the full traceback)", style="dim")
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise
        except Exception as exc:
            if VERBOSE.get():
                err.print(traceback.format_exc(), markup=False)
            err.print(
                f"Error: unexpected {type(exc).__name__}: {exc}",
                markup=False,
                style="bold red",
            )
            err.print(
                "This is a bug in steadyml, not in your data or settings. Nothing was "
                "changed by the failed step. Run again with --verbose and report the traceback.",
                markup=False,
            )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def open_project(ctx: typer.Context) -> Project:
    """Open the project named by --project (default: the current folder); print its notices."""
    from steadyml.project import open_project as _open

    path = state(ctx).get("project") or os.environ.get("STEADYML_PROJECT") or "."
    try:
        project = _open(path)
    except ConfigError as exc:
        if "No project file" in exc.message:
            raise ConfigError(
                exc.message,
                hint="Run this inside a project folder, or pass --project PATH. New here? "
                "`steadyml demo` shows the whole loop; `steadyml init` makes a project.",
            ) from None
        raise
    for notice in project.notices:
        note(notice)
    return project


def note(text: str) -> None:
    err.print(f"Note: {text}", markup=False, style="yellow")


def progress(enabled: bool = True) -> Callable[[str], None]:
    """A step printer for long work: one line per step on stderr (quiet in --json mode)."""

    def say(message: str) -> None:
        if enabled:
            err.print(f"  … {message}", markup=False, style="dim")

    return say


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def bullet(lines: Iterable[str], *, style: str = "") -> None:
    for line in lines:
        out.print(f"  • {line}", markup=False, style=style)


def next_steps(steps: Sequence[str]) -> None:
    if not steps:
        return
    out.print("\nNext:", style="bold")
    for s in steps:
        out.print(f"  {s}", markup=False)
