"""The metadata store, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from steadyml.errors import NotFoundError, StoreVersionError
from steadyml.store import open_store
from steadyml.store.db import _normalise_url, head_revision


def _add(store, h: str = "a"):  # type: ignore[no-untyped-def]
    return store.add_dataset_version(
        content_hash=h * 64,
        rows=10,
        columns=3,
        schema_hash="s",
        source="d.csv",
        artifact_digest=None,
    )


def test_first_use_creates_the_schema_at_head(store_url: str) -> None:
    store = open_store(store_url, project="p")
    insp = inspect(store.engine)
    assert {"dataset_versions", "data_checks", "artifacts", "alembic_version"} <= set(
        insp.get_table_names()
    )
    with store.engine.connect() as conn:
        assert (
            conn.execute(text("select version_num from alembic_version")).scalar()
            == head_revision()
        )
    store.close()


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.db"), project="p")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    store.close()


def test_same_content_gives_same_version_and_no_new_row(store_url: str) -> None:
    store = open_store(store_url, project="p")
    v1, created1 = _add(store, "a")
    v1b, created1b = _add(store, "a")
    v2, created2 = _add(store, "b")
    assert (created1, created1b, created2) == (True, False, True)
    assert v1 == v1b
    assert (v1.version, v2.version) == (1, 2)
    assert [v.version for v in store.list_dataset_versions()] == [1, 2]
    store.close()


def test_projects_share_a_database_without_mixing(store_url: str) -> None:
    a = open_store(store_url, project="a")
    b = open_store(store_url, project="b")
    _add(a, "a")
    assert b.list_dataset_versions() == []
    assert _add(b, "a")[0].version == 1
    a.close()
    b.close()


def test_concurrent_snapshots_of_the_same_content_record_one_version(store_url: str) -> None:
    open_store(store_url, project="p").close()  # migrate once
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            s = open_store(store_url, project="p")
            results.append(_add(s, "c")[0].version)
            s.close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [1] * 6
    store = open_store(store_url, project="p")
    assert len(store.list_dataset_versions()) == 1
    store.close()


def test_unknown_version_names_what_exists(store_url: str) -> None:
    store = open_store(store_url, project="p")
    _add(store, "a")
    _add(store, "b")
    with pytest.raises(NotFoundError, match=r"has no dataset version 9\. Versions: 1–2"):
        store.get_dataset_version(9)
    store.close()


def test_database_newer_than_the_code_is_refused(store_url: str) -> None:
    open_store(store_url, project="p").close()
    engine = create_engine(_normalise_url(store_url))
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '9999_future'"))
    engine.dispose()
    with pytest.raises(StoreVersionError, match="newer steadyml") as info:
        open_store(store_url, project="p")
    assert "9999_future" in info.value.message
    assert "Upgrade steadyml" in (info.value.hint or "")


def test_checks_and_artifacts_are_recorded(store_url: str) -> None:
    store = open_store(store_url, project="p")
    rec = store.add_check(
        kind="data_check",
        source="d.csv",
        content_hash="h",
        passed=False,
        errors=2,
        warnings=1,
        summary={"rules": ["x"]},
    )
    assert store.list_checks() == [rec]
    a1 = store.add_artifact(digest="d" * 64, size=5_000_000_000, kind="dataset")
    a2 = store.add_artifact(digest="d" * 64, size=5_000_000_000, kind="dataset")
    assert a1 == a2 and a1.size == 5_000_000_000
    store.close()


def test_prediction_log_round_trips_on_both_databases(store_url: str) -> None:
    import datetime as dt

    from steadyml.entities import PredictionRecord

    store = open_store(store_url, project="p")
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    written = [
        PredictionRecord(
            request_id=f"r{i}",
            at=at,
            model_version=2,
            route="batch",
            inputs={"x": i, "y": None, "z": "a|b"},
            prediction="yes" if i else 0,
            score=0.25,
            latency_ms=None,
            fallback=bool(i % 2),
            error=None,
            row_key=f"C{i}",
        )
        for i in range(3)
    ]
    assert store.add_predictions(written) == 3
    assert store.count_predictions(route="batch") == 3
    back = {p.request_id: p for p in store.list_predictions()}
    for rec in written:
        got = back[rec.request_id]
        assert got == rec, (got, rec)
    stored, unknown = store.add_feedback([("C1", 1), ("C1", 0), ("nobody", 1)])
    assert (stored, unknown) == (3, ["nobody"])
    assert store.get_feedback("C1") == (0, 2)  # the last label wins; repeats are counted
    store.close()
