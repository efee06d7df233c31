"""train_model end to end: split, choose, refit, grade, gate — the same way every time."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steadyml.config import GatesConfig, SplitConfig, TrainingSection
from steadyml.entities import Roles
from steadyml.errors import DataError, SteadyMLError
from steadyml.samples.churn import make_churn_history
from steadyml.training import TrainOutcome, train_model

CHURN_ROLES = Roles(
    target="churned",
    id="customer_id",
    timestamp="snapshot_month",
    numeric=("tenure_months", "monthly_charges", "total_charges", "data_usage_gb", "support_calls"),
    categorical=("contract", "payment_method", "plan", "region"),
    sensitive=("gender", "age_band"),
    pii=("email", "phone"),
    drop={"cancellation_reason": "leak"},
)
CHURN_TRAINING = TrainingSection(
    split=SplitConfig(method="time", test_size=0.25),
    segments=["region", "contract"],
    gates=GatesConfig(
        min_metric=0.7, beat_baseline_by=0.02, max_fairness_gap=0.5, max_latency_ms=1000
    ),
)


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return make_churn_history(n_customers=1500, months=4)


def train_churn(frame: pd.DataFrame, **overrides: object) -> TrainOutcome:
    args: dict[str, object] = {
        "task": "classification",
        "primary_metric": "roc_auc",
        "direction": "higher_is_better",
        "missing_codes": {"support_calls": [-1]},
    }
    args.update(overrides)
    return train_model(frame, CHURN_ROLES, CHURN_TRAINING, **args)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def outcome(churn: pd.DataFrame) -> TrainOutcome:
    return train_churn(churn)


@pytest.mark.slow
def test_churn_model_passes_its_gates(outcome: TrainOutcome) -> None:
    assert outcome.gates.passed, outcome.gates.to_dict()
    assert [c.name for c in outcome.gates.checks] == [
        "min_metric",
        "beat_baseline",
        "max_fairness_gap",
        "max_latency_ms",
    ]
    assert outcome.metrics["roc_auc"] > 0.7 > outcome.baseline_metrics["roc_auc"]
    assert outcome.model_name in {"linear", "hist_gradient_boosting"}
    assert set(outcome.candidates) == {"linear", "hist_gradient_boosting"}
    assert outcome.positive_label == 1 and outcome.classes == [0, 1]


@pytest.mark.slow
def test_strict_gates_fail_for_the_right_reasons(churn: pd.DataFrame) -> None:
    strict = CHURN_TRAINING.model_copy(
        update={
            "gates": GatesConfig(
                min_metric=0.99,
                beat_baseline_by=0.6,
                max_fairness_gap=0.0001,
                max_latency_ms=0.0001,
            )
        }
    )
    result = train_model(
        churn,
        CHURN_ROLES,
        strict,
        task="classification",
        primary_metric="roc_auc",
        direction="higher_is_better",
    )
    assert not result.gates.passed
    assert {c.name for c in result.gates.failed} == {
        "min_metric",
        "beat_baseline",
        "max_fairness_gap",
        "max_latency_ms",
    }


@pytest.mark.slow
def test_two_runs_give_identical_results(churn: pd.DataFrame, outcome: TrainOutcome) -> None:
    again = train_churn(churn.copy())
    first, second = outcome.to_dict(), again.to_dict()
    for key in (
        "metrics",
        "baseline_metrics",
        "candidates",
        "segments",
        "fairness",
        "reference",
        "params",
        "split",
    ):
        assert first[key] == second[key], key
    np.testing.assert_array_equal(
        outcome.pipeline.predict_proba(churn), again.pipeline.predict_proba(churn)
    )


def test_time_split_puts_no_future_row_in_training(
    churn: pd.DataFrame, outcome: TrainOutcome
) -> None:
    split = outcome.split
    assert split["method"] == "time"
    assert split["last_train_timestamp"] < split["first_test_timestamp"]
    assert split["train_rows"] + split["test_rows"] == len(churn)
    cut = pd.Timestamp(split["first_test_timestamp"])
    assert split["test_rows"] == int((churn["snapshot_month"] >= cut).sum())
    assert (
        pd.Timestamp(split["last_train_timestamp"])
        == churn.loc[churn["snapshot_month"] < cut, "snapshot_month"].max()
    )


@pytest.mark.slow
def test_sensitive_and_personal_columns_are_not_features(outcome: TrainOutcome) -> None:
    for col in (
        "gender",
        "age_band",
        "email",
        "phone",
        "customer_id",
        "cancellation_reason",
        "churned",
    ):
        assert col not in outcome.features
        assert col not in outcome.reference["features"]
    assert set(outcome.fairness["columns"]) == {"gender", "age_band"}


@pytest.mark.slow
def test_record_is_json_safe_and_complete(outcome: TrainOutcome) -> None:
    record = json.loads(json.dumps(outcome.to_dict()))
    assert "pipeline" not in record and "baseline" not in record
    assert record["params"]["candidates"] == ["linear", "hist_gradient_boosting"]
    assert set(record["segments"]) == {"region", "contract"}
    assert record["latency"]["one_row_ms"] > 0
    assert record["reference"]["prediction"]["positive_label"] == 1


@pytest.mark.slow
def test_the_pipeline_scores_raw_live_rows(churn: pd.DataFrame, outcome: TrainOutcome) -> None:
    live = churn.drop(columns=["churned", "cancellation_reason"]).head(5).copy()
    live["payment_method"] = "crypto_wallet"  # never seen in training
    live.loc[live.index[0], "data_usage_gb"] = np.nan
    proba = outcome.pipeline.predict_proba(live)
    assert proba.shape == (5, 2) and np.isfinite(proba).all()


@pytest.mark.slow
def test_progress_names_the_steps(churn: pd.DataFrame) -> None:
    steps: list[str] = []
    train_churn(churn, progress=steps.append)
    assert steps[0] == f"Splitting {len(churn):,} rows by time"
    assert "Fitting hist_gradient_boosting" in steps and "Measuring fairness" in steps


@pytest.mark.slow
def test_rows_without_a_target_are_dropped_and_counted(churn: pd.DataFrame) -> None:
    frame = churn.astype({"churned": float})
    frame.loc[frame.index[:7], "churned"] = np.nan
    result = train_churn(frame)
    assert result.split["dropped_rows"] == 7
    assert any("7 row(s) without a value in the target 'churned'" in w for w in result.warnings)


def test_invalid_primary_metric_says_what_is_available(churn: pd.DataFrame) -> None:
    with pytest.raises(
        SteadyMLError, match="Metrics available for classification: roc_auc, accuracy"
    ):
        train_churn(churn, primary_metric="mae", direction="lower_is_better")


def test_unknown_segment_column_is_a_data_error(churn: pd.DataFrame) -> None:
    training = CHURN_TRAINING.model_copy(update={"segments": ["country"]})
    with pytest.raises(DataError, match="'country'"):
        train_model(
            churn,
            CHURN_ROLES,
            training,
            task="classification",
            primary_metric="roc_auc",
            direction="higher_is_better",
        )


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 200, n)
    rooms = rng.integers(1, 6, n)
    area = rng.choice(["centre", "suburb", "village"], n)
    words = np.where(
        rng.random(n) < 0.5, "bright garden renovated kitchen", "needs work small damp cellar"
    )
    price = (
        1000 * size * np.where(area == "centre", 1.5, 1.0) + 20000 * rooms + rng.normal(0, 5000, n)
    )
    price += np.where(np.char.startswith(words.astype(str), "bright"), 30000, -30000)
    return pd.DataFrame(
        {
            "size": size,
            "rooms": rooms,
            "area": area,
            "description": words,
            "owner": rng.choice(["a", "b"], n),
            "price": price,
            "band": np.select([price < 150000, price < 250000], ["cheap", "mid"], "dear"),
        }
    )


def test_regression_target_trains_and_stratified_becomes_random() -> None:
    frame = synthetic(400)
    roles = Roles(
        target="price",
        numeric=("size", "rooms"),
        categorical=("area",),
        drop={"band": "derived"},
        sensitive=("owner",),
    )
    training = TrainingSection(
        models=["linear", "random_forest"],
        segments=["area"],
        gates=GatesConfig(max_fairness_gap=1.0),
    )
    result = train_model(
        frame,
        roles,
        training,
        task="regression",
        primary_metric="rmse",
        direction="lower_is_better",
    )
    assert result.split["method"] == "random" and result.split["requested_method"] == "stratified"
    assert result.metrics["r2"] > 0.5 and result.gates.passed
    assert result.classes is None and result.fairness["largest_gap_measure"] == "relative_gap"
    assert result.reference["prediction"]["kind"] == "regression"


def test_multiclass_target_trains() -> None:
    frame = synthetic(600, seed=1)
    roles = Roles(
        target="band",
        numeric=("size", "rooms"),
        categorical=("area",),
        drop={"price": "derived"},
        sensitive=("owner",),
    )
    result = train_model(
        frame,
        roles,
        TrainingSection(),
        task="classification",
        primary_metric="accuracy",
        direction="higher_is_better",
    )
    assert sorted(result.classes or []) == ["cheap", "dear", "mid"]
    assert result.positive_label is None and result.metrics["brier"] is None
    assert result.metrics["accuracy"] > result.baseline_metrics["accuracy"]
    assert result.fairness["kind"] == "multiclass"


def test_table_with_free_text_trains_with_every_model() -> None:
    frame = synthetic(400, seed=2)
    roles = Roles(
        target="price",
        numeric=("size", "rooms"),
        categorical=("area",),
        text=("description",),
        drop={"band": "derived"},
    )
    training = TrainingSection(models=["linear", "random_forest", "hist_gradient_boosting"])
    result = train_model(
        frame, roles, training, task="regression", primary_metric="mae", direction="lower_is_better"
    )
    assert "description" in result.features
    assert result.reference["features"]["description"]["kind"] == "text"
    assert set(result.candidates) == {"linear", "random_forest", "hist_gradient_boosting"}
    assert result.metrics["mae"] < result.baseline_metrics["mae"]
