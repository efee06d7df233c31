"""What a column's name suggests: its words, and the words that hint at a role.

``name_words('CustomerID')`` is ``{'customer', 'id', 'customerid'}`` and ``compact_name`` is
``'customerid'``; the word sets say which words hint at an id, a code, a time, personal data or
a protected attribute (``PROTECTED_WORDS``: any column so named; ``GROUP_FLAG_WORDS``: a yes/no
flag so named, such as ``female`` or ``black``).
"""

from __future__ import annotations

import re

__all__ = [
    "CODE_WORDS",
    "GROUP_FLAG_WORDS",
    "ID_WORDS",
    "PERSONAL_NAMES",
    "PERSONAL_WORDS",
    "PERSON_WORDS",
    "PROTECTED_WORDS",
    "SENSITIVE_WORDS",
    "TIME_WORDS",
    "compact_name",
    "name_words",
]

ID_WORDS = frozenset({"id", "uuid", "guid", "key", "identifier", "pk"})
CODE_WORDS = frozenset(
    {"code", "type", "class", "category", "cat", "kind", "zip", "zipcode", "postal", "postcode",
     "region", "group", "status"}
)  # fmt: skip
TIME_WORDS = frozenset(
    {"date", "time", "datetime", "timestamp", "month", "year", "day", "dt", "when"}
)
PERSONAL_WORDS = frozenset(
    {"email", "phone", "mobile", "telephone", "ssn", "address", "ip", "passport"}
)
PERSONAL_NAMES = frozenset(
    {"name", "email", "firstname", "lastname", "fullname", "surname", "givenname", "familyname",
     "username", "ipaddress", "phonenumber", "emailaddress"}
)  # fmt: skip
PERSON_WORDS = frozenset(
    {"first", "last", "full", "given", "family", "customer", "user", "patient", "person",
     "client", "employee", "contact", "middle", "maiden"}
)  # fmt: skip
# a word in a column's name -> the protected attribute it names, whatever the values
PROTECTED_WORDS: dict[str, str] = {
    "gender": "sex or gender", "sex": "sex or gender",
    "race": "race or ethnicity", "ethnicity": "race or ethnicity", "ethnic": "race or ethnicity",
    "age": "age", "religion": "religion", "religious": "religion",
    "nationality": "nationality", "citizenship": "nationality",
    "disability": "disability", "disabled": "disability", "marital": "marital status",
}  # fmt: skip
SENSITIVE_WORDS = frozenset(PROTECTED_WORDS)
# a word that names a group: protected only when the column is a yes/no flag ('female' 0/1)
GROUP_FLAG_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("black", "white", "hisp", "hispan", "hispanic", "latino", "latina", "asian", "nonwhite",
         "caucasian", "minority"),
        "race or ethnicity",
    ),
    **dict.fromkeys(("male", "female", "man", "woman", "men", "women"), "sex or gender"),
    **dict.fromkeys(("married", "divorced", "widowed", "spouse"), "marital status"),
    **dict.fromkeys(("christian", "muslim", "jewish", "catholic", "hindu"), "religion"),
}  # fmt: skip


def name_words(name: str) -> set[str]:
    """'CustomerID' -> {'customer', 'id', 'customerid'}; 'e-mail' -> {'e', 'mail', 'email'}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    parts = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    found = set(parts)
    if len(parts) > 1:
        found.add("".join(parts))
    return found


def compact_name(name: str) -> str:
    """'Phone Number' -> 'phonenumber': the name's letters and digits, in order, lower case."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())
