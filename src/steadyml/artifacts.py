"""The artifact store: files addressed by their sha256, behind fsspec.

A local folder by default; any fsspec URL (``s3://bucket/prefix`` with ``steadyml[s3]``) when a
team shares one. Bytes are written to a temporary name and then moved into place, so a
half-written file never looks complete. Reading re-hashes the bytes and refuses a mismatch:
a tampered or corrupted model is never loaded silently.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import IO, Any

import fsspec

from steadyml.errors import ArtifactNotFound, IntegrityError, MissingExtraError

__all__ = ["ArtifactStore", "sha256_bytes"]

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _valid_digest(digest: str) -> str:
    d = digest.removeprefix("sha256:").lower()
    if len(d) != 64 or any(c not in "0123456789abcdef" for c in d):
        raise ArtifactNotFound(
            f"'{digest}' is not an artifact digest: expected 64 hex characters "
            "(optionally prefixed 'sha256:')."
        )
    return d


class ArtifactStore:
    """Content-addressed storage of bytes. ``put`` returns the digest; ``get`` verifies it."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except ImportError as exc:
            raise MissingExtraError(
                f"The artifact store URL '{url}' needs a driver that is not installed ({exc}).",
                hint="For S3 install: pip install 'steadyml[s3]'",
            ) from None
        self.fs.makedirs(self.root, exist_ok=True)

    def path_for(self, digest: str) -> str:
        d = _valid_digest(digest)
        return f"{self.root}/sha256/{d[:2]}/{d}"

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self.path_for(digest)))

    def put_bytes(self, data: bytes) -> str:
        digest = sha256_bytes(data)
        target = self.path_for(digest)
        if self.fs.exists(target):
            return digest
        self._write_atomic(target, lambda f: f.write(data))
        return digest

    def put_file(self, path: str | Path) -> str:
        """Store a local file, streaming it (constant memory)."""
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                h.update(chunk)
        digest = h.hexdigest()
        target = self.path_for(digest)
        if not self.fs.exists(target):

            def copy(out: IO[bytes]) -> None:
                with open(path, "rb") as src:
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        out.write(chunk)

            self._write_atomic(target, copy)
        return digest

    def _write_atomic(self, target: str, write: Any) -> None:
        parent = target.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        try:
            with self.fs.open(tmp, "wb") as out:
                write(out)
            self.fs.mv(tmp, target)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def get_bytes(self, digest: str, *, what: str = "artifact") -> bytes:
        """Read and verify. A mismatch raises IntegrityError; nothing is returned."""
        d = _valid_digest(digest)
        path = self.path_for(d)
        if not self.fs.exists(path):
            raise ArtifactNotFound(
                f"The {what} sha256:{d[:12]}… is not in the artifact store ({self.url}).",
                hint="It may have been deleted or the store moved. Point "
                "STEADYML_ARTIFACTS_URL at the right store, or re-create it by re-running "
                "the step that made it.",
            )
        with self.fs.open(path, "rb") as f:
            data: bytes = f.read()
        actual = sha256_bytes(data)
        if actual != d:
            raise IntegrityError(
                f"Refused to load the {what} sha256:{d[:12]}… at {path}: its bytes now hash to "
                f"sha256:{actual[:12]}…, so the file was changed or corrupted after it was stored.",
                hint="Do not use it. Restore the file from a backup, or delete it and re-run the "
                "step that created it (for a data snapshot: `steadyml data snapshot`).",
            )
        return data

    def verify(self, digest: str) -> bool:
        """True when the stored bytes still match their digest."""
        try:
            self.get_bytes(digest)
        except IntegrityError:
            return False
        return True
