"""Which key hashes a project's personal data (``serving.pii_handling: hash``).

The key never lives in the metadata store: anyone who can read the store reads the hashes,
and with the key beside them could hash a list of guesses (every phone number of a country)
and look each one up. ``pii_key`` returns, in this order:

1. ``STEADYML_PII_KEY`` when set (a secret manager or a container's environment);
2. the project's key file, ``.steadyml/pii.key`` (mode 0600, ignored by git; ``steadyml init``
   creates it);
3. the key an earlier version kept in the store, moved to the key file and deleted from the
   store, with a message saying so;
4. a new key in a new key file, with a message saying so.

The store keeps only the key's fingerprint (``pii_hmac_id``: an HMAC of a fixed text, which
reveals nothing of the key), so a machine with another key, or with none while the project's
log was hashed with one, is refused with what to do instead of hashing values that would
never match the log's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from steadyml.config.keyfile import (
    PII_KEY_ENV,
    env_key,
    key_file,
    new_key,
    read_key_file,
    write_key_file,
)
from steadyml.errors import ConfigError

if TYPE_CHECKING:
    from steadyml.store._base import RepoBase

__all__ = ["KEY_ID_ROW", "OLD_KEY_ROW", "key_id", "pii_key"]

#: the ``secrets`` row where earlier versions of steadyml kept the key itself
OLD_KEY_ROW = "pii_hmac"
#: the ``secrets`` row with the fingerprint of the key the project's log is hashed with
KEY_ID_ROW = "pii_hmac_id"

logger = logging.getLogger("steadyml")


def key_id(key: str) -> str:
    """A fingerprint of ``key`` that tells keys apart and reveals nothing of them."""
    digest = hmac.new(key.encode(), b"steadyml: which key is this", hashlib.sha256).hexdigest()
    return f"key-{digest[:16]}"


def _copy_it(path: Path) -> str:
    return (
        f"Copy {path} (mode 0600) to every machine that serves, scores or monitors this "
        f"project, or set {PII_KEY_ENV} there to its content."
    )


def pii_key(
    root: Path,
    store: RepoBase,
    *,
    env: Mapping[str, str] | None = None,
    say: Callable[[str], None] | None = None,
) -> str:
    """The key that hashes this project's personal data (see the module's help).

    ``env`` is where ``STEADYML_PII_KEY`` is read (default ``os.environ``); ``say`` receives
    what a person should know (default: a warning on the ``steadyml`` logger).
    """
    from steadyml.store.secret_rows import delete_secret, find_secret, put_secret

    tell = say or logger.warning
    env = os.environ if env is None else env
    path = key_file(root)
    key = env_key(env)
    where = f"${PII_KEY_ENV}" if key is not None else str(path)
    if key is None:
        key = read_key_file(path)
    old = find_secret(store, OLD_KEY_ROW)
    if old is not None:
        key = _move_out(old, key, where, path, tell)
        delete_secret(store, OLD_KEY_ROW)
    recorded = find_secret(store, KEY_ID_ROW)
    if key is None:
        if recorded is not None:
            raise ConfigError(
                f"This project's personal data is hashed with a key (id {recorded}) that is "
                f"not on this machine: {PII_KEY_ENV} is not set and {path} does not exist.",
                hint=_copy_it(path) + " A new key would give hashes that match none logged.",
            )
        if not write_key_file(path, new_key()):
            pass  # another process wrote one first: use theirs
        key = read_key_file(path)
        if key is None:  # pragma: no cover - just written
            raise ConfigError(f"The key file {path} could not be written.")
        tell(
            f"Created the key for hashing personal data in {path} (mode 0600, ignored by "
            f"git). {_copy_it(path)}"
        )
    kid = key_id(key)
    recorded = put_secret(store, KEY_ID_ROW, kid) if recorded is None else recorded
    if recorded != kid:
        raise ConfigError(
            f"The key in {where} is not the one this project's personal data is hashed with "
            f"(id {kid}, the log's is {recorded}): its hashes would match none logged.",
            hint="Use the key file of the machine that first hashed this project's data. "
            + _copy_it(path),
        )
    return key


def _move_out(
    old: str, key: str | None, where: str, path: Path, tell: Callable[[str], None]
) -> str:
    """The key once the one an earlier version kept in the store is out of it."""
    if key is None:
        if not write_key_file(path, old):
            key = read_key_file(path)  # another process moved it first
            if key is None:  # pragma: no cover - just written
                return old
        else:
            tell(
                f"Moved the key for hashing personal data out of the metadata store, where "
                f"anyone who can read the store could use it, to {path} (mode 0600, ignored "
                f"by git); the store no longer holds it. {_copy_it(path)}"
            )
            return old
    if key == old:
        return old
    if where != str(path):  # STEADYML_PII_KEY gives another key
        raise ConfigError(
            f"{where} is not the key this project's personal data was hashed with (an earlier "
            "version of steadyml kept that one in the metadata store).",
            hint=f"Unset {PII_KEY_ENV} once: steadyml then moves the store's key to {path}; "
            f"use its content as {PII_KEY_ENV} from then on.",
        )
    # the key file was never used with this store (the store would no longer hold a key):
    # the store's key is the one the log was hashed with; the file's is kept aside
    aside = path.with_name(path.name + ".unused")
    path.replace(aside)
    if not write_key_file(path, old):  # pragma: no cover - a race with another mover
        key = read_key_file(path)
        return old if key is None else key
    tell(
        f"Moved the key for hashing personal data out of the metadata store to {path}; the "
        f"key that file held was never used with this store and is kept as {aside}. "
        + _copy_it(path)
    )
    return old
