"""Columns that look like personal data or a protected attribute: warnings, never roles.

Personal data (``pii``: never a feature, never stored raw) and protected attributes
(``sensitive``: groups to compare the model across) are different roles, judged apart:

* personal: most values are e-mail addresses or phone numbers, or the name says so (email,
  phone, a person's name) *and* the values could be one: varied, not a yes/no flag or a few
  labels, so ``phone_service`` (yes/no) is not personal data; the column the user named as the
  id (``--id``) is not suggested: it is never a feature already, and a row id such as
  ``12548-1980`` has a phone number's shape;
* protected: ``protected.protected_group`` (``female`` 0/1, ``gender``, race labels, ...).

``steadyml init`` suggests declaring them in its review list; it never decides for the user.
"""

from __future__ import annotations

from steadyml.data.roles.guesses import Role
from steadyml.data.roles.names import (
    PERSON_WORDS,
    PERSONAL_NAMES,
    PERSONAL_WORDS,
    compact_name,
    name_words,
)
from steadyml.data.roles.profile import ColumnProfile
from steadyml.data.roles.protected import protected_group
from steadyml.data.roles.wording import name_list

__all__ = ["looks_personal", "privacy_warnings", "protected_columns"]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
# +33 6 12 34 56 78, (555) 123-4567, 555.123.4567: 7 to 15 digits, written with separators
# (bare digits may be an account number: a phone column without them is known by its name)
_PHONE = r"^\+?\(?\d[\d\s().-]{5,18}\d$"
_SEPARATED = r"^\+|\D"
_DATE = r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T].*)?$"
_PHONE_DIGITS = (7, 15)
_SAMPLE = 200
_MIN_PERSONAL_DISTINCT = 10  # fewer distinct values are labels or flags, not people's data


def privacy_warnings(profiles: dict[str, ColumnProfile], given: dict[str, Role]) -> list[str]:
    """Warnings for columns that look personal or protected and were not declared so."""
    personal = [
        n
        for n, p in profiles.items()
        if given.get(n) not in {"pii", "target", "id"} and looks_personal(p)
    ]
    protected = protected_columns(profiles, given)
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
    if protected:
        names = list(protected)
        shown = ", ".join(f"'{n}' ({group})" for n, group in list(protected.items())[:10])
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        it = "it" if len(names) == 1 else "them"
        notes.append(
            f"{'Column' if len(names) == 1 else 'Columns'} {shown}{more} may describe "
            f"protected groups. You decide: to compare the model across {it}, list {it} under "
            f"`columns: sensitive:` in steadyml.yaml (or consider --sensitive {','.join(names)}); "
            "sensitive columns are kept out of the features unless `sensitive_as_features: "
            "true`. Left as they are, they stay features."
        )
    return notes


def protected_columns(profiles: dict[str, ColumnProfile], given: dict[str, Role]) -> dict[str, str]:
    """Columns (in table order) that may describe a protected group -> which attribute."""
    found = {}
    for name, prof in profiles.items():
        if given.get(name) in {"sensitive", "pii", "target"}:
            continue
        group = protected_group(prof)
        if group is not None:
            found[name] = group
    return found


def looks_personal(prof: ColumnProfile) -> bool:
    """True when the values say personal data (e-mail, phone), or the name does and the values
    could be (varied: not a yes/no flag or a few labels)."""
    if prof.values.empty:
        return False
    if _values_look_personal(prof):
        return True
    words = name_words(prof.name)
    named = bool(words & PERSONAL_WORDS) or compact_name(prof.name) in PERSONAL_NAMES
    named = named or ("name" in words and bool(words & PERSON_WORDS))
    return named and prof.distinct >= min(_MIN_PERSONAL_DISTINCT, len(prof.values))


def _values_look_personal(prof: ColumnProfile) -> bool:
    if prof.dtype != "string" or prof.distinct < min(_MIN_PERSONAL_DISTINCT, len(prof.values)):
        return False
    sample = prof.values.astype(str).str.strip().iloc[:_SAMPLE]
    if sample.str.match(_EMAIL).mean() >= 0.5:
        return True
    digits = sample.str.count(r"\d")
    low, high = _PHONE_DIGITS
    phone = (
        sample.str.match(_PHONE)
        & sample.str.contains(_SEPARATED)
        & ~sample.str.match(_DATE)
        & digits.between(low, high)
    )
    return bool(phone.mean() >= 0.5)
