"""Release gates pass and fail for the right reasons, and say why in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from steadyml.config import GatesConfig
from steadyml.training import GateResult, check_gates

FAIR = {"columns": {"gender": {"gap": 0.08}}, "largest_gap": 0.08, "largest_gap_column": "gender"}


def run(gates: GatesConfig, **overrides: Any) -> GateResult:
    args: dict[str, Any] = {
        "primary_metric": "roc_auc",
        "direction": "higher_is_better",
        "metrics": {"roc_auc": 0.81},
        "baseline_metrics": {"roc_auc": 0.5},
        "fairness": FAIR,
        "latency": {"one_row_ms": 4.0, "thousand_rows_ms": 20.0},
    }
    args.update(overrides)
    return check_gates(gates, **args)


def by_name(result: GateResult) -> dict[str, Any]:
    return {c.name: c for c in result.checks}


def test_unset_gates_leave_only_beat_baseline() -> None:
    result = run(GatesConfig())
    assert [c.name for c in result.checks] == ["beat_baseline"]
    assert result.passed


def test_all_gates_pass_with_plain_messages() -> None:
    result = run(
        GatesConfig(min_metric=0.7, beat_baseline_by=0.02, max_fairness_gap=0.1, max_latency_ms=50)
    )
    checks = by_name(result)
    assert result.passed and set(checks) == {
        "min_metric",
        "beat_baseline",
        "max_fairness_gap",
        "max_latency_ms",
    }
    assert (
        checks["beat_baseline"].message
        == "roc_auc 0.81 beats the baseline's 0.50 by 0.31 (needed 0.02)."
    )
    assert checks["min_metric"].message == "roc_auc 0.81 reaches the minimum 0.70."
    assert result.to_dict()["passed"] is True


def test_min_metric_fails_below_the_minimum() -> None:
    result = run(GatesConfig(min_metric=0.7), metrics={"roc_auc": 0.62})
    check = by_name(result)["min_metric"]
    assert not result.passed and not check.passed
    assert check.message == "roc_auc 0.62 is below the minimum 0.70."
    assert by_name(result)["beat_baseline"].passed


def test_min_metric_respects_lower_is_better() -> None:
    common = {
        "primary_metric": "mae",
        "direction": "lower_is_better",
        "baseline_metrics": {"mae": 9.0},
    }
    assert run(GatesConfig(min_metric=5.0), metrics={"mae": 4.0}, **common).passed
    failed = run(GatesConfig(min_metric=5.0), metrics={"mae": 6.0}, **common)
    assert by_name(failed)["min_metric"].message == "mae 6.00 is above the maximum 5.00."


def test_beat_baseline_fails_when_the_margin_is_too_small() -> None:
    result = run(GatesConfig(beat_baseline_by=0.05), metrics={"roc_auc": 0.53})
    check = by_name(result)["beat_baseline"]
    assert not check.passed and check.value == pytest.approx(0.03)
    assert "by only 0.03; needed 0.05" in check.message


def test_beat_baseline_fails_when_the_model_is_worse_lower_is_better() -> None:
    result = run(
        GatesConfig(),
        primary_metric="rmse",
        direction="lower_is_better",
        metrics={"rmse": 12.0},
        baseline_metrics={"rmse": 10.0},
    )
    assert not result.passed
    assert "does not beat the baseline's 10.00" in by_name(result)["beat_baseline"].message


def test_fairness_gate_fails_above_the_limit() -> None:
    result = run(GatesConfig(max_fairness_gap=0.05))
    check = by_name(result)["max_fairness_gap"]
    assert not check.passed and check.value == 0.08
    assert "0.08 for 'gender', is above the limit 0.05" in check.message


def test_fairness_gate_passes_when_there_is_nothing_to_check() -> None:
    result = run(GatesConfig(max_fairness_gap=0.05), fairness={"columns": {}, "largest_gap": None})
    check = by_name(result)["max_fairness_gap"]
    assert check.passed and "nothing to check" in check.message


def test_latency_gate_fails_when_one_prediction_is_too_slow() -> None:
    result = run(GatesConfig(max_latency_ms=2), latency={"one_row_ms": 4.0})
    check = by_name(result)["max_latency_ms"]
    assert not check.passed
    assert check.message == "One prediction takes 4.0 ms, which is above the limit of 2 ms."


def test_a_metric_that_could_not_be_computed_fails_the_gate() -> None:
    result = run(GatesConfig(min_metric=0.7), metrics={"roc_auc": None})
    assert not by_name(result)["min_metric"].passed
    assert not by_name(result)["beat_baseline"].passed
