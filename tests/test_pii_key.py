"""The key for hashing personal data lives outside the metadata store: in STEADYML_PII_KEY or
in the project's key file (mode 0600, ignored by git), which `steadyml init` creates. A key an
earlier version kept in the store is moved out of it; a machine with the wrong key, or none
while the log is hashed with one, is refused."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from steadyml.config.keyfile import KEY_FILE, PII_KEY_ENV
from steadyml.errors import ConfigError
from steadyml.predlog import hmac_values
from steadyml.predlog.keys import KEY_ID_ROW, OLD_KEY_ROW, key_id, pii_key
from steadyml.store import Store, open_store
from steadyml.store.secret_rows import find_secret, put_secret

OLD_KEY = "ab" * 32


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, project="churn")
    yield s
    s.close()


def _secrets(store: Store) -> dict[str, str | None]:
    return {name: find_secret(store, name) for name in (OLD_KEY_ROW, KEY_ID_ROW)}


def test_init_writes_a_private_key_file_that_git_ignores(project_dir: Path) -> None:
    path = project_dir / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(project_dir)], check=True)
        ignored = subprocess.run(
            ["git", "-C", str(project_dir), "check-ignore", "-q", str(KEY_FILE)], check=False
        )
        assert ignored.returncode == 0, "the key file is not ignored by git"


def test_a_key_kept_in_the_store_is_moved_out_and_hashes_stay_the_same(
    store: Store, tmp_path: Path
) -> None:
    put_secret(store, OLD_KEY_ROW, OLD_KEY)  # as steadyml kept it before
    said: list[str] = []
    key = pii_key(tmp_path, store, env={}, say=said.append)
    assert key == OLD_KEY  # the log's earlier hashes still match
    assert (tmp_path / KEY_FILE).read_text().strip() == OLD_KEY
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert _secrets(store) == {OLD_KEY_ROW: None, KEY_ID_ROW: key_id(OLD_KEY)}
    assert len(said) == 1 and "Moved the key" in said[0] and str(tmp_path / KEY_FILE) in said[0]
    assert pii_key(tmp_path, store, env={}, say=said.append) == OLD_KEY
    assert len(said) == 1  # said once


def test_a_key_file_init_made_gives_way_to_the_key_the_log_used(
    store: Store, tmp_path: Path
) -> None:
    (tmp_path / ".steadyml").mkdir()
    (tmp_path / KEY_FILE).write_text("cd" * 32)
    (tmp_path / KEY_FILE).chmod(0o600)
    put_secret(store, OLD_KEY_ROW, OLD_KEY)
    said: list[str] = []
    assert pii_key(tmp_path, store, env={}, say=said.append) == OLD_KEY
    assert (tmp_path / ".steadyml" / "pii.key.unused").read_text() == "cd" * 32
    assert "never used" in said[0]


def test_no_key_anywhere_makes_one_and_says_so(store: Store, tmp_path: Path) -> None:
    said: list[str] = []
    key = pii_key(tmp_path, store, env={}, say=said.append)
    assert (tmp_path / KEY_FILE).read_text().strip() == key and len(key) == 64
    assert "Created the key" in said[0]
    assert _secrets(store) == {OLD_KEY_ROW: None, KEY_ID_ROW: key_id(key)}
    # the store's raw values hold no key: it cannot be used by whoever reads the store
    assert key not in json.dumps(_secrets(store))


def test_the_environment_wins_and_a_machine_without_the_key_is_refused(
    store: Store, tmp_path: Path
) -> None:
    env = {PII_KEY_ENV: "ef" * 32}
    assert pii_key(tmp_path / "a", store, env=env) == "ef" * 32
    assert not (tmp_path / "a" / KEY_FILE).exists()
    with pytest.raises(ConfigError, match="not on this machine") as none:
        pii_key(tmp_path / "b", store, env={})  # another machine, no key file, no variable
    assert PII_KEY_ENV in (none.value.hint or "")
    assert not (tmp_path / "b" / KEY_FILE).exists()  # no new key that would match nothing
    with pytest.raises(ConfigError, match="is not the one"):
        pii_key(tmp_path / "c", store, env={PII_KEY_ENV: "01" * 32})
    with pytest.raises(ConfigError, match="at least 32"):
        pii_key(tmp_path / "a", store, env={PII_KEY_ENV: "555-0100"})


def test_a_key_file_others_can_read_is_refused(store: Store, tmp_path: Path) -> None:
    pii_key(tmp_path, store, env={})
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(ConfigError, match="can be read by other users") as exc:
        pii_key(tmp_path, store, env={})
    assert exc.value.hint == f"chmod 600 {tmp_path / KEY_FILE}"


def test_hashes_made_with_the_moved_key_match_the_old_ones(store: Store, tmp_path: Path) -> None:
    put_secret(store, OLD_KEY_ROW, OLD_KEY)
    before = hmac_values(["+1-555-0100123"], OLD_KEY)
    assert hmac_values(["+1-555-0100123"], pii_key(tmp_path, store, env={})) == before


@pytest.mark.slow
def test_batch_scoring_hashes_with_the_key_file_and_keeps_no_key_in_the_store(
    trained_project_dir: Path, tmp_path: Path
) -> None:
    import pandas as pd

    import steadyml
    from steadyml.predlog import read_log

    root = trained_project_dir
    cfg = root / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\nserving:\n  pii_handling: hash\n")
    rows = pd.read_csv(root / "data" / "churn.csv", nrows=20)
    rows.to_csv(tmp_path / "in.csv", index=False)
    with steadyml.open(root, env={}) as project:
        project.score_batch(tmp_path / "in.csv", tmp_path / "out.csv", model_version=1)
        logged = pd.concat(read_log(project.store), ignore_index=True)
        assert find_secret(project.store, OLD_KEY_ROW) is None
    key = (root / KEY_FILE).read_text().strip()
    assert list(logged["email"]) == hmac_values(list(rows["email"]), key)
