"""What a column's name suggests: its words, and the words that hint at a role.

``name_words('CustomerID')`` is ``{'customer', 'id', 'customerid'}``; the word sets say which
words hint at an id, a code, a time, personal data or a protected attribute.
"""

from __future__ import annotations

import re

__all__ = [
    "CODE_WORDS",
    "ID_WORDS",
    "PERSONAL_NAMES",
    "PERSONAL_WORDS",
    "PERSON_WORDS",
    "SENSITIVE_WORDS",
    "TIME_WORDS",
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
SENSITIVE_WORDS = frozenset(
    {"gender", "sex", "race", "ethnicity", "ethnic", "age", "religion", "religious",
     "nationality", "disability", "disabled", "marital"}
)  # fmt: skip


def name_words(name: str) -> set[str]:
    """'CustomerID' -> {'customer', 'id', 'customerid'}; 'e-mail' -> {'e', 'mail', 'email'}."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    parts = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    found = set(parts)
    if len(parts) > 1:
        found.add("".join(parts))
    return found
