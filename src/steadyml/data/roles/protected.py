"""Columns that may describe a protected group (sex, race, age, ...): suggestions for a person.

A column is suggested when its name is a protected attribute (``gender``, ``age``, ...), when
it is a yes/no flag named for a group (``female``, ``black``, ``married``: a column named
``black_friday_sales`` that holds amounts is not), or when nearly all its values are labels of
one attribute (``male``/``female``; ``asian``/``white``/...; ``married``/``single``/...).
``steadyml init`` lists them for review and never moves a column to ``sensitive`` itself:
whether a model may use a column, and across which groups it is compared, is the user's call.
"""

from __future__ import annotations

import re

from steadyml.data.roles.names import GROUP_FLAG_WORDS, PROTECTED_WORDS, name_words
from steadyml.data.roles.profile import ColumnProfile

__all__ = ["protected_group"]

_MAX_LABELS = 12  # a column with more distinct values is not a set of group labels
_LABEL_SHARE = 0.9
# the first word of a value (lower case) -> the attribute it belongs to
_LABELS: dict[str, frozenset[str]] = {
    "sex or gender": frozenset(
        {"male", "female", "man", "woman", "men", "women", "m", "f", "nonbinary", "non",
         "trans", "intersex"}
    ),
    "race or ethnicity": frozenset(
        {"white", "black", "asian", "hispanic", "latino", "latina", "latinx", "caucasian",
         "african", "native", "pacific", "amer", "american", "alaska", "hawaiian", "arab",
         "mixed", "multiracial", "biracial"}
    ),
    "marital status": frozenset(
        {"married", "single", "divorced", "widowed", "separated", "never", "unmarried",
         "partnered", "cohabiting"}
    ),
    "religion": frozenset(
        {"christian", "muslim", "jewish", "hindu", "buddhist", "catholic", "protestant",
         "atheist", "agnostic", "sikh"}
    ),
}  # fmt: skip
_FILLER = frozenset({"other", "unknown", "none", "na", "n", "prefer", "not", "missing", ""})
_COLOURS = frozenset({"white", "black"})  # white and black alone may be colours


def protected_group(prof: ColumnProfile) -> str | None:
    """The protected attribute a column may describe ('race or ethnicity', ...), or None."""
    words = name_words(prof.name)
    for word in sorted(words):
        if word in PROTECTED_WORDS:
            group = PROTECTED_WORDS[word]
            if group == "age" and not _could_be_a_persons_age(prof):
                continue  # e.g. a house's age of 189 years, or negative values
            return group
    if 1 <= prof.distinct <= 2:
        for word in sorted(words):
            if word in GROUP_FLAG_WORDS:
                return GROUP_FLAG_WORDS[word]
    return _group_of_labels(prof)


def _could_be_a_persons_age(prof: ColumnProfile) -> bool:
    """False for numbers no person's age takes (below 0 or above 120): the age of a thing."""
    import pandas as pd

    numbers = pd.to_numeric(prof.values, errors="coerce").dropna()
    if prof.dtype == "string" or numbers.empty:
        return True  # bands such as '25-34' or no numbers to judge by
    return bool(numbers.min() >= 0 and numbers.max() <= 120)


def _group_of_labels(prof: ColumnProfile) -> str | None:
    if prof.dtype != "string" or prof.values.empty or prof.distinct > _MAX_LABELS:
        return None
    counts = prof.values.astype(str).map(_first_word).value_counts()
    for group, labels in _LABELS.items():
        known = [label for label in counts.index if label in labels]
        covered = int(counts[[*known, *(x for x in counts.index if x in _FILLER)]].sum())
        if len(known) < 2 or covered < _LABEL_SHARE * counts.sum():
            continue
        if group == "race or ethnicity" and set(known) <= _COLOURS:
            continue
        return group
    return None


def _first_word(value: str) -> str:
    words = re.split(r"[^a-z]+", value.strip().lower())
    return next((w for w in words if w), "")
