"""store/pages.py on a real SQLite file and a real PostgreSQL database: pages newest first,
filters, the total count, no blobs, and the bounds a page may ask for."""

from __future__ import annotations

from typing import Any

from steadyml.store import open_store
from steadyml.store.pages import MAX_PAGE, pages_of


def _run_fields(i: int) -> dict[str, Any]:
    return {
        "run_key": f"{i:064d}", "status": "failed" if i % 5 == 0 else "completed",
        "task": "classification", "model_type": "linear" if i % 2 else "random_forest",
        "dataset_version": 1 + i % 3, "data_hash": "h" * 64, "config_hash": "c" * 64,
        "code_commit": "abc", "code_dirty": False, "params": {"C": i},
        "metrics": {"roc_auc": 0.5 + i / 100}, "baseline_metrics": {}, "gates_passed": i % 4 != 0,
        "summary": {"big": "x" * 1000}, "training_config": {}, "package_versions": {},
        "duration_s": 1.0,
    }  # fmt: skip


def _version_fields(i: int) -> dict[str, Any]:
    return {
        "run_number": i, "artifact_digest": "d" * 64, "size_bytes": 10, "model_type": "linear",
        "task": "classification", "gates_passed": True, "features": ["a", "b"],
        "dataset_version": 1, "primary_metric": "roc_auc", "primary_value": 0.7,
        "contract": {"big": "x" * 1000}, "reference": {"big": "y" * 1000},
    }  # fmt: skip


def test_pages_of_runs_versions_and_checks(store_url: str) -> None:
    store = open_store(store_url, project="p")
    try:
        for i in range(1, 21):
            store.add_run(**_run_fields(i))
        for i in range(1, 8):
            store.add_model_version(**_version_fields(i))
        store.add_check(kind="data_check", source="d.csv", content_hash="h" * 64, passed=False,
                        errors=2, warnings=1, summary={"rules": ["range"]})  # fmt: skip
        pages = pages_of(store)
        assert pages_of(store) is pages  # made once per store

        first = pages.run_page(limit=5)
        assert [r.number for r in first.items] == [20, 19, 18, 17, 16]
        assert first.total == 20 and first.has_next
        last = pages.run_page(offset=15, limit=5)
        assert [r.number for r in last.items] == [5, 4, 3, 2, 1] and not last.has_next
        failed = pages.run_page(status="failed")
        assert [r.number for r in failed.items] == [20, 15, 10, 5] and failed.total == 4
        mixed = pages.run_page(model_type="linear", gates=True, dataset_version=2)
        assert all(r.model_type == "linear" and r.gates_passed and r.dataset_version == 2
                   for r in mixed.items) and mixed.total == len(mixed.items) > 0  # fmt: skip
        assert first.items[0].metrics == {"roc_auc": 0.7}
        assert not hasattr(first.items[0], "summary") and not hasattr(first.items[0], "params")
        assert pages.run_model_types() == ["linear", "random_forest"]
        assert pages.run_page(limit=10_000).limit == MAX_PAGE
        assert pages.run_page(offset=-3, limit=0).offset == 0

        versions = pages.version_page(limit=3)
        assert [v.version for v in versions.items] == [7, 6, 5] and versions.total == 7
        assert not hasattr(versions.items[0], "reference")
        assert pages.version_page(stage="production").total == 0
        assert [v.version for v in pages.version_briefs()] == list(range(1, 8))

        checks = pages.recent_checks(5)
        assert [(c.passed, c.errors, c.summary["rules"]) for c in checks] == [(False, 2, ["range"])]
        assert pages.recent_events() == []
        assert pages.alert_page().total == 0
    finally:
        store.close()
