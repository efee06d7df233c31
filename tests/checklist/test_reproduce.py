"""The reproducibility check compares every numeric metric both runs hold, skipping counts
and settings; the latest ``reproduce`` job decides "Training is reproducible"."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import steadyml
from steadyml.flows.checklist_repro import compare_metrics


def test_compare_metrics_takes_the_largest_difference_of_measurements_only() -> None:
    recorded = {"n": 100, "roc_auc": 0.81, "recall": 0.4, "threshold": 0.2, "brier": math.nan,
                "notes": [], "positive_label": 1}  # fmt: skip
    again = {"n": 200, "roc_auc": 0.8100001, "recall": 0.45, "threshold": 0.9,
             "brier": math.nan}  # fmt: skip
    worst, names = compare_metrics(recorded, again)
    assert names == ["roc_auc", "recall", "brier"]
    assert worst == pytest.approx(0.05)


@pytest.mark.slow  # trains once more (~5 s)
def test_the_same_snapshot_reproduces_exactly_and_a_failed_check_fails_infra_1(
    trained_project_dir: Path,
) -> None:
    path = trained_project_dir / "steadyml.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nlaunch:\n  reproduce_tolerance: 0\n",
                    encoding="utf-8")  # fmt: skip
    with steadyml.open(trained_project_dir, env={}) as project:
        job = project.reproduce()
        # the same snapshot and seed: identical to the last digit even with no tolerance
        assert job.ok and job.summary["max_difference"] == 0 and job.summary["run"] == 1
        (infra1,) = [t for t in project.checklist().tests if t.id == "infra-1"]
        assert infra1.status == "pass" and "tolerance 0" in infra1.evidence
        project.store.finish_job(project.store.start_job("reproduce"), ok=False,
                                 summary={"run": 1, "dataset_version": 1},
                                 error="metrics differ by up to 0.01 (tolerance 0)")  # fmt: skip
        (infra1,) = [t for t in project.checklist().tests if t.id == "infra-1"]
        assert infra1.status == "fail" and "metrics differ by up to 0.01" in infra1.evidence
