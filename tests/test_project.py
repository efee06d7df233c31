"""The Project handle on a real sample project: check, snapshot, lineage, tampering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import steadyml
from steadyml.errors import DataError, IntegrityError


def test_open_accepts_folder_or_file(project_dir: Path) -> None:
    with (
        steadyml.open(project_dir, env={}) as a,
        steadyml.open(project_dir / "steadyml.yaml", env={}) as b,
    ):
        assert a.name == b.name == "churn"
        assert a.root == b.root == project_dir


def test_first_check_infers_contract_and_catches_the_planted_leak(project) -> None:  # type: ignore[no-untyped-def]
    assert not project.contract_path.exists()
    result = project.check_data()
    assert result.contract_created
    assert project.contract_path.exists()
    assert result.contract_report.passed
    errors = [f for f in result.findings if f.severity == "error"]
    assert [(f.check, f.rule, f.column) for f in errors] == [
        ("leakage", "single_column_predictor", "cancellation_reason")
    ]
    assert not result.passed
    sentinel = [f for f in result.quality.findings if f.rule == "sentinel_code"]
    assert [(f.column, f.details["code"]) for f in sentinel] == [("support_calls", -1)]
    # the check is recorded in the metadata store
    (record,) = project.store.list_checks()
    assert (record.passed, record.errors) == (False, 1)
    assert record.content_hash == result.content_hash


def test_no_clean_column_is_flagged_once_the_leak_is_dropped(project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known after churn}")
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(project_dir, env={}) as project:
        result = project.check_data()
    assert result.passed, [f.message for f in result.findings if f.severity == "error"]
    assert [f for f in result.leakage if f.severity != "info"] == []


def test_later_check_validates_another_file_against_the_contract(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.check_data()
    frame = pd.read_csv(project.data_path())
    frame.loc[3, "contract"] = "three-year"
    frame.loc[7, "tenure_months"] = -5
    bad = tmp_path / "new.csv"
    frame.to_csv(bad, index=False)
    result = project.check_data(bad)
    assert not result.contract_created
    found = {(v.column, v.rule, v.examples[0]["row"]) for v in result.contract_report.violations}
    assert found == {("contract", "allowed", 4), ("tenure_months", "range", 8)}


def test_snapshot_is_idempotent_and_reloads_the_exact_data(project) -> None:  # type: ignore[no-untyped-def]
    first = project.snapshot()
    again = project.snapshot()
    assert first.created and not again.created
    assert again.version == first.version
    assert [v.version for v in project.dataset_versions()] == [1]
    original = project.load_data().frame.drop(columns=["email", "phone"])  # never stored
    restored = project.load_snapshot(1)
    pd.testing.assert_frame_equal(restored, original, check_dtype=False)


def test_changed_data_gets_a_new_version(project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project.snapshot()
    frame = project.load_data().frame.head(100)
    path = tmp_path / "subset.parquet"
    frame.to_parquet(path, index=False)
    second = project.snapshot(path)
    assert second.created and second.version.version == 2
    assert second.version.rows == 100


def test_tampered_snapshot_is_refused(project) -> None:  # type: ignore[no-untyped-def]
    snap = project.snapshot()
    digest = snap.version.artifact_digest
    Path(project.artifacts.path_for(digest)).write_bytes(b"not the data")
    with pytest.raises(IntegrityError, match="data snapshot v1"):
        project.load_snapshot(1)


def test_missing_codes_are_treated_as_missing(project_dir: Path) -> None:
    cfg = project_dir / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(
        "  columns:\n", "  missing_codes: {support_calls: [-1]}\n  columns:\n", 1
    )
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(project_dir, env={}) as project:
        data = project.load_data()
        assert (data.frame["support_calls"] == -1).sum() == 0
        assert any("missing_codes" in n for n in data.notes)
        result = project.check_data()
        assert not [f for f in result.quality.findings if f.rule == "sentinel_code"]


def test_store_url_from_environment(project_dir: Path, store_url: str) -> None:
    with steadyml.open(project_dir, env={"STEADYML_STORE_URL": store_url}) as project:
        project.snapshot()
        assert project.store.dialect in ("sqlite", "postgresql")
        assert [v.version for v in project.dataset_versions()] == [1]
    if "://" not in store_url:
        assert Path(store_url).exists()
        assert not (project_dir / ".steadyml" / "store.db").exists()


def test_unreadable_source_is_a_data_error(project_dir: Path) -> None:
    (project_dir / "data" / "churn.csv").unlink()
    with steadyml.open(project_dir, env={}) as project, pytest.raises(DataError):
        project.check_data()
