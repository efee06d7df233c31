"""Columns that look like personal data or a protected attribute: warnings, never roles.

A column is personal when its name says so (email, phone, a person's name) or most of its
values are e-mail addresses; protected when its name is a protected attribute (gender, age,
religion, ...). ``steadyml init`` suggests declaring them; it never decides for the user.
"""

from __future__ import annotations

from steadyml.data.roles.guesses import Role
from steadyml.data.roles.names import (
    PERSON_WORDS,
    PERSONAL_NAMES,
    PERSONAL_WORDS,
    SENSITIVE_WORDS,
    name_words,
)
from steadyml.data.roles.profile import ColumnProfile
from steadyml.data.roles.wording import name_list

__all__ = ["looks_personal", "privacy_warnings"]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


def privacy_warnings(profiles: dict[str, ColumnProfile], given: dict[str, Role]) -> list[str]:
    """Warnings for columns that look personal or protected and were not declared so."""
    personal = [
        n
        for n, p in profiles.items()
        if given.get(n) not in {"pii", "target"} and looks_personal(p)
    ]
    protected = [
        n
        for n in profiles
        if given.get(n) not in {"sensitive", "pii", "target"} and name_words(n) & SENSITIVE_WORDS
    ]
    notes = []
    if len(personal) == 1:
        notes.append(
            f"Column '{personal[0]}' looks like personal data; consider "
            f"--pii {personal[0]} so it is never used as a feature."
        )
    elif personal:
        notes.append(
            f"Columns {name_list(personal)} look like personal data; consider "
            f"--pii {','.join(personal)} so they are never used as features."
        )
    if len(protected) == 1:
        notes.append(
            f"Column '{protected[0]}' may describe a protected group; consider "
            f"--sensitive {protected[0]} to keep it out of the features and compare "
            "the model across groups."
        )
    elif protected:
        notes.append(
            f"Columns {name_list(protected)} may describe protected groups; consider "
            f"--sensitive {','.join(protected)} to keep them out of the features and "
            "compare the model across groups."
        )
    return notes


def looks_personal(prof: ColumnProfile) -> bool:
    """True when the name or the values say personal data (a name, e-mail, phone, ...)."""
    words = name_words(prof.name)
    compact = "".join(words)
    if words & PERSONAL_WORDS or compact in PERSONAL_NAMES:
        return True
    if "name" in words and words & PERSON_WORDS:
        return True
    if prof.dtype != "string" or prof.values.empty:
        return False
    sample = prof.values.astype(str).iloc[:200]
    return bool(sample.str.match(_EMAIL).mean() >= 0.5)
