"""The artifact store: content addressed, verified on every read."""

from __future__ import annotations

from pathlib import Path

import pytest

from steadyml.artifacts import ArtifactStore, sha256_bytes
from steadyml.errors import ArtifactNotFound, IntegrityError


def test_put_and_get_round_trip(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    digest = store.put_bytes(b"model bytes")
    assert digest == sha256_bytes(b"model bytes")
    assert store.get_bytes(digest) == b"model bytes"
    assert store.put_bytes(b"model bytes") == digest  # idempotent


def test_put_file_streams_and_matches_bytes(tmp_path: Path) -> None:
    f = tmp_path / "big.bin"
    f.write_bytes(b"x" * (3 << 20))
    store = ArtifactStore(str(tmp_path / "a"))
    assert store.put_file(f) == sha256_bytes(f.read_bytes())
    assert not list((tmp_path / "a").rglob(".tmp-*"))  # no temporary file left behind


def test_tampered_artifact_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    digest = store.put_bytes(b"the real model")
    Path(store.path_for(digest)).write_bytes(b"the evil model")
    with pytest.raises(IntegrityError) as info:
        store.get_bytes(digest, what="model version 3")
    msg = str(info.value)
    assert f"model version 3 sha256:{digest[:12]}" in msg
    assert "changed or corrupted" in msg and "Restore the file" in msg
    assert store.verify(digest) is False


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    store = ArtifactStore(str(tmp_path / "a"))
    with pytest.raises(ArtifactNotFound, match="is not in the artifact store"):
        store.get_bytes("0" * 64)
    with pytest.raises(ArtifactNotFound, match="expected 64 hex characters"):
        store.get_bytes("../../etc/passwd")


def test_fsspec_memory_filesystem_works_the_same() -> None:
    store = ArtifactStore("memory://steadyml-test")
    digest = store.put_bytes(b"abc")
    assert store.get_bytes(digest) == b"abc"
