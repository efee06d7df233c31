"""The one shape of a listing command: ``--json`` for scripts, a table for people.

Every ``… list`` command (and ``data versions``, ``worker --history``) fetches its records and
hands them here with its columns: ``--json`` prints the records' ``to_dict()``; otherwise an
empty list gets a sentence and the command that makes the first record, and a full one a
table followed by the next steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from steadyml.cli._common import next_steps, out, print_json, table


class _Record(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=_Record)


def show_list(
    items: Sequence[R],
    *,
    as_json: bool,
    columns: Sequence[str],
    row: Callable[[R], Sequence[str]],
    empty: str | None = None,
    first_steps: Sequence[str] = (),
    steps: Sequence[str] = (),
) -> None:
    """Print ``items`` as JSON or as a table of ``columns`` (one ``row(item)`` each).

    ``empty`` is what an empty list says (with ``first_steps`` after it); without it an empty
    list prints the table's header. ``steps`` follow a table that has rows.
    """
    if as_json:
        print_json([item.to_dict() for item in items])
        return
    if not items and empty is not None:
        out.print(empty, markup=False)
        next_steps(first_steps)
        return
    t = table(*columns)
    for item in items:
        t.add_row(*row(item))
    out.print(t)
    next_steps(steps)
