"""What a retrain records, on a real SQLite file and a real PostgreSQL database: a dataset
version's lineage (migration 0008) and a run's decision."""

from __future__ import annotations

from steadyml.store import open_store


def _run_fields() -> dict:  # type: ignore[type-arg]
    return {
        "run_key": "k" * 64, "status": "completed", "task": "classification",
        "model_type": "linear", "dataset_version": 1, "data_hash": "h" * 64,
        "config_hash": "c" * 64, "code_commit": None, "code_dirty": False, "params": {},
        "metrics": {"roc_auc": 0.8}, "baseline_metrics": {}, "gates_passed": True,
        "summary": {"split": {"test_rows": 5}}, "training_config": {}, "package_versions": {},
        "duration_s": 1.0,
    }  # fmt: skip


def test_lineage_and_decision_round_trip(store_url: str) -> None:
    store = open_store(store_url, project="p")
    try:
        lineage = {"parent_version": 1, "rows_added": 40, "rows_refused": 2,
                   "feedback_window": {"labels_since": "30d"}, "refused_reasons": {"age: type": 2}}  # fmt: skip
        plain, _ = store.add_dataset_version(content_hash="a" * 64, rows=10, columns=3,
                                             schema_hash="s", source="d.csv", artifact_digest=None)  # fmt: skip
        made, created = store.add_dataset_version(content_hash="b" * 64, rows=50, columns=3,
                                                  schema_hash="s", source="retrain",
                                                  artifact_digest=None, lineage=lineage)  # fmt: skip
        assert created and plain.lineage is None
        assert store.get_dataset_version(made.version).lineage == lineage
        assert store.find_dataset_version("b" * 64).lineage == lineage  # type: ignore[union-attr]
        again, created_again = store.add_dataset_version(
            content_hash="b" * 64, rows=50, columns=3, schema_hash="s", source="retrain",
            artifact_digest=None, lineage={"other": True},
        )  # fmt: skip
        assert not created_again and again.lineage == lineage  # the first record is kept
        run = store.add_run(**_run_fields())
        decision = {"outcome": "REJECT", "checks": [{"name": "gates", "verdict": "fail"}]}
        updated = store.set_run_decision(run.number, decision)
        assert updated.summary == {"split": {"test_rows": 5}, "decision": decision}
        assert store.get_run(run.number).summary["decision"] == decision
    finally:
        store.close()
