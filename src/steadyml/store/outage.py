"""Tell a store that cannot be reached from a write the store refuses.

The log writer and the key cache keep serving through a database outage: what cannot be
written is held and written later; keys checked before are trusted for a while. A write the
store refuses for its content (a value it cannot encode, a constraint, a missing table) is
not an outage: retrying it later would fail again, so the caller deals with the rows instead.
"""

from __future__ import annotations

__all__ = ["store_unreachable"]

# SQLite's OperationalError also says "no such table" or "syntax error": only these mean the
# file cannot be used now (another process holds the lock, the disk is full or gone)
_SQLITE_OUTAGE = ("locked", "busy", "disk", "full", "unable to open", "readonly", "i/o")


def store_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the store could not be reached or used at all (connection
    refused or lost, the server shutting down, a pool timeout, SQLite locked, read-only or
    out of disk), as opposed to a refusal of what was sent."""
    import sqlite3

    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        if exc.orig is not None and exc.orig is not exc:
            return store_unreachable(exc.orig)
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(word in message for word in _SQLITE_OUTAGE)
    if isinstance(exc, sqlite3.InterfaceError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the postgres extra is not installed
        return isinstance(exc, (ConnectionError, TimeoutError))
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return True
    return isinstance(exc, (ConnectionError, TimeoutError))
