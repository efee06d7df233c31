"""The key for hashing personal data, kept outside the metadata store.

``serving.pii_handling: hash`` replaces personal data in the prediction log by a keyed hash
(HMAC-SHA256). The hash protects the values only from someone without the key, so the key is
never kept beside the hashes: it is the environment variable ``STEADYML_PII_KEY`` or the
project's key file ``.steadyml/pii.key`` (mode 0600, ignored by git), which ``steadyml init``
creates. ``predlog.keys.pii_key`` decides which one a run uses (and moves a key an earlier
version kept in the store out of it); this module only reads and writes them, so the rules
for a key's form live in one place.
"""

from __future__ import annotations

import os
import secrets as pysecrets
import stat
from collections.abc import Mapping
from pathlib import Path

from steadyml.errors import ConfigError

__all__ = ["KEY_FILE", "MIN_KEY_CHARS", "PII_KEY_ENV", "env_key", "key_file", "new_key",
           "read_key_file", "write_key_file"]  # fmt: skip

#: the environment variable that gives the key itself (it wins over the key file)
PII_KEY_ENV = "STEADYML_PII_KEY"
#: the key file, relative to the project folder
KEY_FILE = Path(".steadyml") / "pii.key"
#: a key shorter than this is refused: a short key can be guessed, and with it every value
MIN_KEY_CHARS = 32

_NEW_KEY_HINT = "python -c 'import secrets; print(secrets.token_hex(32))'"


def key_file(root: Path) -> Path:
    """The project's key file."""
    return Path(root) / KEY_FILE


def new_key() -> str:
    """A fresh random key (256 bits, as hex)."""
    return pysecrets.token_hex(32)


def _checked(key: str, where: str, *, field: str | None = None) -> str:
    key = key.strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"{where} holds a key of {len(key)} characters; the key for hashing personal data "
            f"needs at least {MIN_KEY_CHARS}: a short key can be guessed, and with it the "
            "hashed values.",
            hint=f"Make a random one: {_NEW_KEY_HINT}",
            field=field,
        )
    return key


def env_key(env: Mapping[str, str]) -> str | None:
    """The key ``STEADYML_PII_KEY`` gives, if set."""
    value = env.get(PII_KEY_ENV)
    if not value:
        return None
    return _checked(value, f"${PII_KEY_ENV}")


def read_key_file(path: Path) -> str | None:
    """The key in ``path``, or None when there is no such file. A file others may read is
    refused, as ssh refuses such a private key."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"The key file {path} can be read by other users (mode "
            f"{stat.S_IMODE(info.st_mode):04o}); it holds the key that protects hashed "
            "personal data.",
            hint=f"chmod 600 {path}",
        )
    return _checked(path.read_text(encoding="utf-8"), f"The key file {path}")


def write_key_file(path: Path, key: str) -> bool:
    """Write ``key`` to a new key file (mode 0600, with a ``.gitignore`` beside it naming it).

    Returns False, writing nothing, when the file already exists (another process may have
    written it first: read it back).
    """
    _checked(key, "The new key")
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():  # the project's .gitignore may not name .steadyml/
        ignore.write_text(f"# the key for hashing personal data: never commit it\n{path.name}\n")
    if path.exists():
        return False
    # written whole under a temporary name, then linked into place: a reader never sees a
    # half-written key, and of two writers only one wins (link refuses an existing name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{pysecrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        tmp.unlink(missing_ok=True)
