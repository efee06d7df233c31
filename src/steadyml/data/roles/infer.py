"""``infer_roles``: guess the role of every column of a table, for ``steadyml init``.

It profiles each column once, keeps the roles the user gave (``given``), guesses the others
(``column``), works out the task from the target (``target``), settles the columns only one
may hold (the timestamp, the id), and gathers the warnings: sentinel codes
(``data.sentinels``), personal data and protected attributes (``privacy``), a train/test
split made beforehand (``splits``: dropped, and named for training); a column that may
describe a protected group keeps its role and says so in its reason, for the user to decide.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from steadyml.data.roles.column import REPEATED_ID, guess_column
from steadyml.data.roles.given import given_reason, given_roles
from steadyml.data.roles.guesses import ColumnGuess, Role, RoleGuess
from steadyml.data.roles.names import ID_WORDS, name_words
from steadyml.data.roles.privacy import looks_personal, privacy_warnings, protected_columns
from steadyml.data.roles.profile import ColumnProfile, profile_column
from steadyml.data.roles.splits import SplitColumn, split_column
from steadyml.data.roles.target import guess_task
from steadyml.data.roles.wording import show
from steadyml.data.sentinels import find_sentinels
from steadyml.errors import DataError

__all__ = ["infer_roles"]


def infer_roles(
    df: pd.DataFrame,
    *,
    target: str,
    id: str | None = None,  # noqa: A002 - the project file's name for the role
    timestamp: str | None = None,
    sensitive: Sequence[str] = (),
    pii: Sequence[str] = (),
) -> RoleGuess:
    """Guess the role of every column of ``df``; the columns named here keep the given role.

    Raises ``DataError`` when a named column is not in the table (with close matches), when a
    column is given two roles, or when the target cannot be learned (one class, all missing).
    """
    if len(df.columns) != len(set(map(str, df.columns))):
        raise DataError("The table has repeated column names; give every column a unique name.")
    given = given_roles(df, target=target, id=id, timestamp=timestamp, sensitive=sensitive, pii=pii)
    if len(df) == 0:
        raise DataError(
            "The table has no rows, so there is nothing to learn from.",
            hint="Check that the data file has rows below its header.",
        )
    profiles = {str(name): profile_column(str(name), df[name]) for name in df.columns}
    notes: list[str] = []
    task, task_reason = guess_task(profiles[target], notes)

    guesses: dict[str, tuple[Role, str]] = {}
    splits: list[SplitColumn] = []
    for name, prof in profiles.items():
        found = None if name in given else split_column(prof)
        if name in given:
            guesses[name] = given_reason(given[name], prof, notes)
        elif found is not None:
            guesses[name] = ("drop", found.reason())
            splits.append(found)
        else:
            guesses[name] = guess_column(prof)
    notes.extend(_split_notes(splits))
    _settle_timestamps(guesses, given)
    _settle_ids(guesses, profiles, given)

    for name, (role, _reason) in guesses.items():
        if role == "numeric" or (role == "categorical" and profiles[name].dtype == "integer"):
            notes.extend(_sentinel_warnings(profiles[name]))
    notes.extend(privacy_warnings(profiles, given))
    for name, group in protected_columns(profiles, given).items():
        role, reason = guesses[name]
        guesses[name] = (role, f"{reason}; may describe a protected group ({group}): review it")
    columns = [
        ColumnGuess(
            column=name,
            role=role,
            reason=reason,
            dtype=profiles[name].dtype,
            distinct=profiles[name].distinct,
            missing_rate=profiles[name].missing_rate,
        )
        for name, (role, reason) in guesses.items()
    ]
    repeated_id = None if splits else _repeated_id(df, guesses, notes)
    return RoleGuess(
        target=target,
        task=task,
        task_reason=task_reason,
        columns=columns,
        warnings=notes,
        group_column=repeated_id,
        split_column=splits[0].column if splits else None,
        split_test_values=splits[0].test_values if splits else (),
    )


def _repeated_id(
    df: pd.DataFrame, guesses: dict[str, tuple[Role, str]], notes: list[str]
) -> str | None:
    """The column that says whose row it is when it repeats (one person, several rows: a
    panel): the id when its values repeat (``given_reason`` says so), else a column named
    like an identifier that repeats (dropped as a feature; said here). A row split would
    test the model on people it has already seen."""
    name = next((n for n, (role, _) in guesses.items() if role == "id"), None)
    if name is not None and df[name].dropna().duplicated().any():
        return name
    named = next(
        (n for n, (role, why) in guesses.items() if role == "drop" and why.startswith(REPEATED_ID)),
        None,
    )
    if named is not None:
        notes.append(
            f"Column '{named}' looks like an identifier that repeats (the same person or "
            "customer in several rows): it is dropped as a feature, and unless a timestamp "
            "orders the rows, training keeps each of its values' rows together "
            "(training.split.method: group), so the model is tested on ones it has not seen."
        )
    return named


# -- settling columns that only one may hold ---------------------------------------------------


def _settle_timestamps(guesses: dict[str, tuple[Role, str]], given: dict[str, Role]) -> None:
    """The first date column becomes the timestamp (unless one is given); others are dropped."""
    chosen = "timestamp" in given.values()
    for name, (role, reason) in guesses.items():
        if role != "timestamp" or name in given:
            continue
        if not chosen:
            guesses[name] = ("timestamp", f"{reason}: orders the rows")
            chosen = True
        else:
            guesses[name] = (
                "drop",
                f"{reason}: a model can't use raw dates; derive features "
                "such as the day of the week if they matter",
            )


def _settle_ids(
    guesses: dict[str, tuple[Role, str]],
    profiles: dict[str, ColumnProfile],
    given: dict[str, Role],
) -> None:
    """One fully unique column becomes the id (unless one is given); others are dropped."""
    candidates = [n for n, (role, _) in guesses.items() if role == "id" and n not in given]
    full = [n for n in candidates if profiles[n].distinct == profiles[n].rows]
    hinted = [n for n in full if name_words(n) & ID_WORDS]
    plain = [n for n in full if not looks_personal(profiles[n])]  # a name is no id
    keep = None if "id" in given.values() else next(iter(hinted + plain), None)
    for name in candidates:
        if name == keep:
            guesses[name] = ("id", f"{guesses[name][1]}: tells rows apart, never used to learn")
        else:
            guesses[name] = (
                "drop",
                f"{guesses[name][1]}: an identifier carries no pattern a model can learn",
            )


# -- a precomputed train/test split ---------------------------------------------------------


def _split_notes(splits: list[SplitColumn]) -> list[str]:
    if not splits:
        return []
    used = splits[0]
    notes = [
        f"Column '{used.column}' holds a train/test split made beforehand (test rows: "
        f"{', '.join(repr(v) for v in used.test_values)}): training keeps it "
        f"(training.split: {{method: column, column: {used.column}}}) and it is dropped from "
        "the features. To split another way, change training.split."
    ]
    notes += [
        f"Column '{other.column}' also looks like a train/test split; it is dropped from the "
        f"features and '{used.column}' is the one used."
        for other in splits[1:]
    ]
    return notes


# -- sentinel codes ----------------------------------------------------------------------------


def _sentinel_warnings(prof: ColumnProfile) -> list[str]:
    numbers = pd.to_numeric(prof.values, errors="coerce").astype(float)
    return [
        f"Column '{prof.name}' has {show(found.code)} in {found.count} "
        f"{'row' if found.count == 1 else 'rows'}, far from its other values "
        f"({show(found.low)} to {show(found.high)}): this looks like a code for 'unknown', not "
        "a real value. Declare it in steadyml.yaml under `data:` "
        f"(`missing_codes: {{{prof.name}: [{show(found.code)}]}}`) or leave those cells empty, "
        "so they count as missing."
        for found in find_sentinels(numbers)
    ]
