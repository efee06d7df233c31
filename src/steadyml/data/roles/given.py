"""Roles the user gives (target, id, timestamp, sensitive, personal data): checked, and kept.

A named column must be in the table (else a ``DataError`` about that argument, with close
matches) and may hold one role only. A given role always wins over a guess; its reason says
it was given, and a given id with repeats or a given timestamp that is no date is noted.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import pandas as pd

from steadyml.data.roles.dates import date_share
from steadyml.data.roles.guesses import Role
from steadyml.data.roles.profile import ColumnProfile
from steadyml.data.roles.wording import examples
from steadyml.errors import DataError

__all__ = ["given_reason", "given_roles"]

# how a message names each role a user can give (the argument of ``infer_roles``)
_AS = {
    "target": "the target",
    "id": "the id",
    "timestamp": "the timestamp",
    "sensitive": "sensitive",
    "pii": "personal data (pii)",
}
_REASONS: dict[Role, str] = {
    "target": "what the model learns to predict (given with --target)",
    "id": "given with --id: tells rows apart, never used to learn",
    "timestamp": "given with --timestamp: orders the rows",
    "sensitive": "given with --sensitive: kept out of the features, used to compare groups",
    "pii": "given with --pii: personal data, never used as a feature",
}


def given_roles(
    df: pd.DataFrame,
    *,
    target: str,
    id: str | None,  # noqa: A002 - infer_roles's argument
    timestamp: str | None,
    sensitive: Iterable[str],
    pii: Iterable[str],
) -> dict[str, Role]:
    """Each named column's role; refuses a column not in ``df`` or named with two roles."""
    names = [str(c) for c in df.columns]
    asked: list[tuple[str, Role]] = [(target, "target")]
    asked += [(id, "id")] if id is not None else []
    asked += [(timestamp, "timestamp")] if timestamp is not None else []
    asked += [(c, "sensitive") for c in sensitive] + [(c, "pii") for c in pii]
    given: dict[str, Role] = {}
    for column, role in asked:
        if not isinstance(column, str) or column not in names:
            raise _unknown_column(column, role, names)
        if column in given and given[column] != role:
            raise DataError(
                f"Column '{column}' is given both as {_AS[given[column]]} and as {_AS[role]}.",
                hint="Give each column one role.",
                field=role,
            )
        given[column] = role
    return given


def _unknown_column(column: object, role: Role, names: list[str]) -> DataError:
    close = difflib.get_close_matches(str(column), names, n=3, cutoff=0.6)
    close += [n for n in names if n.lower() == str(column).lower() and n not in close]
    shown = ", ".join(f"'{n}'" for n in names[:30])
    more = f" and {len(names) - 30} more" if len(names) > 30 else ""
    did_you_mean = ("Did you mean " + " or ".join(f"'{n}'" for n in close) + "? ") if close else ""
    return DataError(
        f"Column '{column}' given as {_AS[role]} is not in the data.",
        hint=f"{did_you_mean}The columns are: {shown}{more}.",
        field=role,
    )


def given_reason(role: Role, prof: ColumnProfile, notes: list[str]) -> tuple[Role, str]:
    """The given role with its reason; a doubtful id or timestamp is added to ``notes``."""
    if role == "id" and prof.distinct < len(prof.values):
        repeats = len(prof.values) - prof.distinct
        notes.append(
            f"Column '{prof.name}' (given with --id) has {repeats:,} repeated values. If rows "
            "that share one are the same person or customer more than once, that is fine: "
            "unless a timestamp orders the rows, training keeps each id's rows together "
            "(training.split.method: group), so the model is tested on ids it has not seen, "
            "as it will meet new ones live. If every row should have its own, the id is wrong."
        )
    if role == "timestamp" and prof.dtype == "string" and date_share(prof.values) < 0.95:
        notes.append(
            f"Column '{prof.name}' (given with --timestamp) does not look like dates "
            f"(e.g. {examples(prof.values, 2)}); check that it is the right column."
        )
    return role, _REASONS[role]
