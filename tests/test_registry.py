"""The registry on real stores: stages, approvals, rollback, one production, verified loading."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import pytest

from steadyml.artifacts import ArtifactStore
from steadyml.errors import IntegrityError, NotFoundError, SteadyMLError
from steadyml.flows import release
from steadyml.store import open_store


def _register(store, n: int, *, gates_passed: bool = True) -> list[int]:  # type: ignore[no-untyped-def]
    versions = []
    for i in range(n):
        run = store.add_run(
            run_key=f"k{i}", status="completed", task="classification", model_type="linear",
            dataset_version=1, data_hash="h" * 64, config_hash="c" * 64, code_commit=None,
            code_dirty=False, params={}, metrics={"roc_auc": 0.8}, baseline_metrics={},
            gates_passed=gates_passed,
            summary={"gates": {"passed": gates_passed, "checks": [
                {"name": "min_metric", "passed": gates_passed,
                 "message": "roc_auc 0.62 is below the minimum 0.70."}]}},
            training_config={}, package_versions={}, duration_s=1.0,
        )  # fmt: skip
        mv = store.add_model_version(
            run_number=run.number, artifact_digest=f"{i:064d}", size_bytes=10,
            model_type="external", task="classification", gates_passed=gates_passed,
            features=["a"], dataset_version=1, primary_metric="roc_auc", primary_value=0.8,
            contract={}, reference={},
        )  # fmt: skip
        versions.append(mv.version)
    return versions


# promoting a version of a family without serving forms reads no model bytes
_NO_ARTIFACTS = ArtifactStore("memory://steadyml-registry-tests")


def _production(store) -> list[int]:  # type: ignore[no-untyped-def]
    return [v.version for v in store.list_model_versions() if v.stage == "production"]


def test_promote_archives_the_previous_production_and_records_events(store_url: str) -> None:
    store = open_store(store_url, project="p")
    _register(store, 3)
    release.promote(store, _NO_ARTIFACTS, 1, "production", reason="first", by="ann")
    release.promote(store, _NO_ARTIFACTS, 2, "staging", reason="try it", by="bob")
    event = release.promote(store, _NO_ARTIFACTS, 2, "production", reason="better recall", by="cy")
    assert (event.from_version, event.to_version, event.by) == (1, 2, "cy")
    stages = {v.version: v.stage for v in store.list_model_versions()}
    assert stages == {1: "archived", 2: "production", 3: "candidate"}
    events = store.list_events()
    assert [(e.action, e.stage, e.from_version, e.to_version) for e in events] == [
        ("promote", "production", None, 1),
        ("promote", "staging", None, 2),
        ("promote", "production", 1, 2),
    ]
    assert events[-1].reason == "better recall"
    store.close()


def test_rollback_restores_the_previous_production_version(store_url: str) -> None:
    store = open_store(store_url, project="p")
    _register(store, 3)
    with pytest.raises(SteadyMLError, match="no version is in production"):
        release.rollback(store, reason="oops", by="ann")
    release.promote(store, _NO_ARTIFACTS, 1, "production", reason="a", by="ann")
    with pytest.raises(SteadyMLError, match="no earlier one to roll back to"):
        release.rollback(store, reason="oops", by="ann")
    release.promote(store, _NO_ARTIFACTS, 3, "production", reason="b", by="ann")
    event = release.rollback(store, reason="recall dropped", by="dee")
    assert (event.action, event.from_version, event.to_version) == ("rollback", 3, 1)
    assert _production(store) == [1]
    store.close()


def test_failed_gates_need_an_override_which_is_recorded(store_url: str) -> None:
    store = open_store(store_url, project="p")
    _register(store, 1, gates_passed=False)
    with pytest.raises(SteadyMLError, match="failed its gates") as info:
        release.promote(store, _NO_ARTIFACTS, 1, "production", reason="ship it", by="ann")
    assert "roc_auc 0.62 is below the minimum 0.70." in info.value.message
    assert "--override --reason 'why'" in (info.value.hint or "")
    assert _production(store) == []
    event = release.promote(
        store,
        _NO_ARTIFACTS,
        1,
        "production",
        reason="ship it",
        by="ann",
        override="pilot only, 2 weeks",
    )
    assert event.override == "pilot only, 2 weeks"
    assert store.list_events()[-1].override == "pilot only, 2 weeks"
    store.close()


def test_bad_promotions_are_explained(store_url: str) -> None:
    store = open_store(store_url, project="p")
    _register(store, 2)
    # the library speaks of its arguments (field), never of a CLI flag
    with pytest.raises(SteadyMLError, match="promoted to staging or production; got 'prod'") as e:
        release.promote(store, _NO_ARTIFACTS, 1, "prod", reason="x", by="a")
    assert e.value.field == "to" and "--" not in e.value.message
    with pytest.raises(SteadyMLError, match="needs a reason") as e:
        release.promote(store, _NO_ARTIFACTS, 1, "production", reason="  ", by="a")
    assert e.value.field == "reason"
    with pytest.raises(NotFoundError, match=r"has no version 9\. Versions: 1–2\. None is in"):
        release.promote(store, _NO_ARTIFACTS, 9, "production", reason="x", by="a")
    release.promote(store, _NO_ARTIFACTS, 1, "production", reason="x", by="a")
    with pytest.raises(SteadyMLError, match="already in production"):
        release.promote(store, _NO_ARTIFACTS, 1, "production", reason="x", by="a")
    store.close()


def test_concurrent_promotions_by_threads_leave_one_production(store_url: str) -> None:
    store = open_store(store_url, project="p")
    versions = _register(store, 8)
    store.close()
    errors: list[BaseException] = []

    def worker(v: int) -> None:
        s = open_store(store_url, project="p")
        try:
            release.promote(s, _NO_ARTIFACTS, v, "production", reason=f"thread {v}", by="t")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=worker, args=(v,)) for v in versions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    store = open_store(store_url, project="p")
    assert len(_production(store)) == 1
    events = store.list_events()
    assert len(events) == 8
    # the events form one chain: each promotion archived the one before it
    assert [e.from_version for e in events[1:]] == [e.to_version for e in events[:-1]]
    assert events[-1].to_version == _production(store)[0]
    store.close()


def _promote_in_process(url: str, version: int) -> None:
    store = open_store(url, project="p")
    release.promote(
        store, _NO_ARTIFACTS, version, "production", reason=f"process {version}", by="proc"
    )
    store.close()


@pytest.mark.slow
def test_concurrent_promotions_by_processes_leave_one_production(store_url: str) -> None:
    store = open_store(store_url, project="p")
    versions = _register(store, 6)
    store.close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_promote_in_process, args=(store_url, v)) for v in versions]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * len(procs)
    store = open_store(store_url, project="p")
    assert len(_production(store)) == 1
    assert len(store.list_events()) == 6
    store.close()


def test_the_database_refuses_a_second_production_row(store_url: str) -> None:
    """Even a writer that skips the registry cannot make two production versions."""
    from sqlalchemy import update
    from sqlalchemy.exc import IntegrityError as DbIntegrityError

    from steadyml.store.models import ModelVersionRow

    store = open_store(store_url, project="p")
    _register(store, 2)
    release.promote(store, _NO_ARTIFACTS, 1, "production", reason="x", by="a")
    with pytest.raises(DbIntegrityError), store.session() as s:
        s.execute(
            update(ModelVersionRow).where(ModelVersionRow.version == 2).values(stage="production")
        )
    assert _production(store) == [1]
    store.close()


def test_tampered_model_is_refused(trained_project) -> None:  # type: ignore[no-untyped-def]
    project = trained_project
    mv = project.model_versions()[0]
    bundle = project.load_model(mv.version)
    assert bundle.version == mv.version
    path = Path(project.artifacts.path_for(mv.artifact_digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=f"model version {mv.version}"):
        project.load_model(mv.version)
