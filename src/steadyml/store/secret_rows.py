"""Rows of the ``secrets`` table read, written once, and deleted, without creating one.

``ServingRepo.secret`` creates a secret on first read; moving the key for hashing personal
data out of the store (``predlog.keys``) needs to look without creating, and to delete.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy import exc as sa_exc

from steadyml.store._base import RepoBase
from steadyml.store.models import SecretRow

__all__ = ["delete_secret", "find_secret", "put_secret"]


def find_secret(store: RepoBase, name: str) -> str | None:
    """The project's secret ``name``, or None; never creates one."""
    with store.reader() as s:
        row = s.get(SecretRow, (store.project, name))
        return None if row is None else row.value


def put_secret(store: RepoBase, name: str, value: str) -> str:
    """Record ``value`` as secret ``name`` unless one is recorded already; returns the one
    recorded (another process's, when it wrote first)."""
    found = find_secret(store, name)
    if found is not None:
        return found
    try:
        with store.session() as s:
            s.add(SecretRow(project=store.project, name=name, value=value))
    except sa_exc.IntegrityError:
        pass  # another process recorded one first: theirs stands
    recorded = find_secret(store, name)
    return value if recorded is None else recorded


def delete_secret(store: RepoBase, name: str) -> bool:
    """Delete the project's secret ``name``; True when there was one."""
    with store.session() as s:
        result = s.execute(
            delete(SecretRow).where(SecretRow.project == store.project, SecretRow.name == name)
        )
        return bool(getattr(result, "rowcount", 0))
