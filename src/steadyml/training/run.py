"""Train a model the same way every time: split, choose, refit, grade, gate.

``train_model`` is the whole training step of the workflow, as ordered steps that never
change and never depend on hidden state:

1. drop rows without an answer (the target), and say how many;
2. split the rest into training and test rows (``training.split``); the test rows are
   touched only to grade the final model;
3. hold out a validation share of the *training* rows (the latest rows for a time split),
   fit every candidate on the rest and keep the best by the primary metric;
4. refit the chosen candidate on all training rows, and fit the baseline beside it;
5. grade both on the test rows: metrics, metrics per segment, fairness per sensitive group,
   prediction time; record reference statistics for monitoring; check the release gates.

The same frame, roles, settings and seed always give the same model and the same metrics.
"""

from __future__ import annotations

import warnings as pywarnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from steadyml.config import TrainingSection
from steadyml.data.split import split_rows
from steadyml.entities import Roles
from steadyml.errors import DataError, SteadyMLError
from steadyml.training.calibration import fit_estimation
from steadyml.training.estimators import Task, make_baseline, make_estimator
from steadyml.training.evaluate import (
    check_primary_metric,
    choose_positive_label,
    json_safe,
    measure_latency,
    predict_scores,
    predicted_labels,
    score_predictions,
    segment_metrics,
)
from steadyml.training.fairness import fairness_report
from steadyml.training.features import build_pipeline, check_columns, check_target
from steadyml.training.gates import GateResult, check_gates
from steadyml.training.reference import reference_stats

__all__ = [
    "REFERENCE_PREDICTION_ROWS",
    "SELECTION_FIT_ROWS",
    "SELECTION_VALIDATION_ROWS",
    "TrainOutcome",
    "train_model",
]

SELECTION_FIT_ROWS = 50_000  # candidates are compared on at most this many training rows ...
SELECTION_VALIDATION_ROWS = 20_000  # ... and graded on at most this many validation rows
REFERENCE_PREDICTION_ROWS = 50_000  # training rows whose predictions form the reference
_VALIDATION_SHARE = 0.2


@dataclass(frozen=True)
class TrainOutcome:
    """Everything a training run produced. ``to_dict()`` is the JSON-safe record."""

    task: Task
    model_name: str
    pipeline: Pipeline
    baseline: Pipeline
    features: list[str]
    classes: list[Any] | None
    positive_label: Any
    split: dict[str, Any]
    params: dict[str, Any]
    candidates: dict[str, Any]
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    segments: dict[str, Any]
    fairness: dict[str, Any]
    latency: dict[str, float]
    gates: GateResult
    reference: dict[str, Any]
    warnings: list[str]
    error_model: Any = None  # regression: the error model for estimates (its own artifact)

    def to_dict(self) -> dict[str, Any]:
        """The run as plain data (no fitted pipelines)."""
        return {
            "task": self.task,
            "model_name": self.model_name,
            "features": list(self.features),
            "classes": json_safe(self.classes),
            "positive_label": json_safe(self.positive_label),
            "split": json_safe(self.split),
            "params": json_safe(self.params),
            "candidates": json_safe(self.candidates),
            "metrics": json_safe(self.metrics),
            "baseline_metrics": json_safe(self.baseline_metrics),
            "segments": json_safe(self.segments),
            "fairness": json_safe(self.fairness),
            "latency": json_safe(self.latency),
            "gates": self.gates.to_dict(),
            "reference": json_safe(self.reference),
            "warnings": list(self.warnings),
        }


def train_model(
    frame: pd.DataFrame,
    roles: Roles,
    training: TrainingSection,
    *,
    task: Literal["classification", "regression"],
    primary_metric: str,
    direction: Literal["higher_is_better", "lower_is_better"],
    missing_codes: Mapping[str, Sequence[Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    test_index: pd.Index | None = None,
) -> TrainOutcome:
    """Split, choose a model, refit it, grade it against the baseline and check the gates.

    ``test_index``: the test rows, given (a retrain keeps the champion's test rows, so no
    row the champion was graded on is learned from); every other row with a target trains.
    """
    say = progress or _silent
    check_primary_metric(primary_metric, task, direction)
    features = list(roles.features)
    check_columns(frame, roles, training.segments)
    notes: list[str] = []
    data, dropped = _rows_with_target(frame, roles.target, notes)
    check_target(data[roles.target], roles.target, task)

    method = training.split.method
    if task == "regression" and method == "stratified":
        method = "random"
        notes.append("A regression target cannot be stratified; the split is random instead.")
    say(f"Splitting {len(data):,} rows {_by(method)}")
    if test_index is None:
        train_idx, test_idx = _split(data, roles, training, method)
    else:
        test_idx = data.index.intersection(test_index)
        train_idx = data.index.difference(test_idx, sort=False)
    train, test = data.loc[train_idx], data.loc[test_idx]
    y_train, y_test = train[roles.target], test[roles.target]
    positive = choose_positive_label(y_train) if task == "classification" else None
    _check_test_classes(train, test, roles.target, task)
    split = _split_record(training, method, train, test, dropped, roles)

    chosen, candidates, threshold = _choose(
        train, roles, features, training, task, method, primary_metric, direction,
        missing_codes, positive, say, notes,
    )  # fmt: skip
    say(f"Refitting {chosen} on all {len(train):,} training rows")
    estimator = make_estimator(chosen, task, training.seed, n_rows=len(train))
    pipeline = build_pipeline(roles, estimator, missing_codes)
    _fit(pipeline, train[features], y_train, chosen, notes)
    say("Fitting the baseline")
    baseline = build_pipeline(roles, make_baseline(task), missing_codes)
    _fit(baseline, train[features], y_train, "baseline", notes)

    say(f"Scoring {len(test):,} test rows")
    y_true = y_test.to_numpy()
    scores = predict_scores(pipeline, test[features], task)
    metrics = score_predictions(y_true, scores, task, positive_label=positive, threshold=threshold)
    base_scores = predict_scores(baseline, test[features], task)
    baseline_metrics = score_predictions(y_true, base_scores, task, positive_label=positive)
    if training.segments:
        say("Measuring segments")
    segments = segment_metrics(
        y_true, scores, test[list(training.segments)], task, positive_label=positive
    )
    say("Measuring fairness")
    answers = (
        predicted_labels(scores, positive, threshold)
        if task == "classification"
        else scores["values"]
    )
    fairness = fairness_report(y_true, answers, test[list(roles.sensitive)], task, positive)
    notes.extend(fairness["warnings"])
    say("Measuring prediction time")
    latency = measure_latency(pipeline, test[features])
    say("Recording reference statistics")
    sample = _subsample(train.index, REFERENCE_PREDICTION_ROWS, training.seed, y_train, task)
    train_scores = predict_scores(pipeline, train.loc[sample, features], task)
    reference = reference_stats(
        train[features],
        roles,
        train_scores["proba"] if task == "classification" else train_scores["values"],
        task,
        classes=list(train_scores["classes"]) if task == "classification" else None,
        positive_label=positive,
        missing_codes=missing_codes,
    )
    say("Checking calibration on the test rows (for estimates before labels arrive)")
    groups = (
        test[training.split.column]
        if method == "group" and training.split.column in test.columns
        else None
    )
    reference["estimation"], error_model = fit_estimation(
        task, test[features], y_true, scores, positive=positive, threshold=threshold,
        roles=roles, seed=training.seed, missing_codes=missing_codes, groups=groups,
    )  # fmt: skip
    say("Checking gates")
    gates = check_gates(
        training.gates,
        primary_metric=primary_metric,
        direction=direction,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        fairness=fairness,
        latency=latency,
    )
    params = json_safe(estimator.get_params(deep=False))
    params["candidates"] = list(candidates)
    classes = json_safe(list(estimator.classes_)) if task == "classification" else None
    return TrainOutcome(
        task=task,
        model_name=chosen,
        pipeline=pipeline,
        baseline=baseline,
        features=features,
        classes=classes,
        positive_label=json_safe(positive),
        split=split,
        params=params,
        candidates=candidates,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        segments=segments,
        fairness=fairness,
        latency=latency,
        gates=gates,
        reference=reference,
        warnings=notes,
        error_model=error_model,
    )


def _silent(_message: str) -> None:
    return None


def _by(method: str) -> str:
    return {
        "time": "by time",
        "stratified": "keeping class shares",
        "random": "at random",
        "column": "as the data's split column says",
        "group": "keeping each group's rows together",
    }[method]


def _split(
    data: pd.DataFrame, roles: Roles, training: TrainingSection, method: str
) -> tuple[pd.Index, pd.Index]:
    """The train and test rows; a split column (``method: column`` or ``group``) is never a
    feature."""
    config = training.split
    if method == "group" and config.column in roles.features:
        raise DataError(
            f"Column '{config.column}' names the groups of the split (training.split.column) "
            "and is also a feature: the model would learn answers per group, which it cannot "
            "use on the new groups it is tested on (and meets live).",
            hint=f"Make it the id (`id: {config.column}` under data) or move it to drop in "
            f"steadyml.yaml: `drop: {{{config.column}: whose row it is}}`.",
        )
    if method == "column" and config.column in roles.features:
        raise DataError(
            f"Column '{config.column}' holds the train/test split (training.split.column) and "
            "is also a feature, so the model would learn which rows are test rows.",
            hint=f"Move it to drop in steadyml.yaml: `drop: {{{config.column}: the train/test "
            "split}`.",
        )
    return split_rows(
        data,
        roles,
        method,  # type: ignore[arg-type]
        config.test_size,
        training.seed,
        column=config.column,
        test_values=config.test_values,
    )


def _rows_with_target(frame: pd.DataFrame, target: str, notes: list[str]) -> tuple[Any, int]:
    has_answer = frame[target].notna()
    dropped = int((~has_answer).sum())
    if dropped:
        notes.append(
            f"{dropped:,} row(s) without a value in the target '{target}' were left out of "
            "training and testing."
        )
    return frame.loc[has_answer], dropped


def _check_test_classes(train: pd.DataFrame, test: pd.DataFrame, target: str, task: Task) -> None:
    if task != "classification":
        return
    if train[target].nunique() < 2:
        raise DataError(
            f"All training rows have the same target value ({train[target].iloc[0]!r}).",
            hint="Use a stratified split, or more rows with other outcomes.",
        )
    unseen = sorted(set(map(str, test[target].unique())) - set(map(str, train[target].unique())))
    if unseen:
        raise DataError(
            f"The test rows hold target value(s) {', '.join(unseen[:5])} that no training row "
            "has, so the model could never predict them.",
            hint="Use split_method 'stratified', or drop or merge classes with very few rows.",
        )


def _split_record(
    training: TrainingSection,
    method: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    dropped: int,
    roles: Roles,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "method": method,
        "requested_method": training.split.method,
        "test_size": training.split.test_size,
        "seed": training.seed,
        "train_rows": len(train),
        "test_rows": len(test),
        "dropped_rows": dropped,
    }
    if method == "column":
        record["column"] = training.split.column
        record["test_values"] = list(training.split.test_values)
    if method == "group":
        column = str(training.split.column)
        record["column"] = column
        record["train_groups"] = int(train[column].astype("string").nunique(dropna=False))
        record["test_groups"] = int(test[column].astype("string").nunique(dropna=False))
    if method == "time" and roles.timestamp:
        record["last_train_timestamp"] = _stamp(train[roles.timestamp].pipe(_times).max())
        record["first_test_timestamp"] = _stamp(test[roles.timestamp].pipe(_times).min())
    return record


def _times(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="coerce", utc=True, format="mixed")


def _stamp(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return json_safe(value)


def _choose(
    train: pd.DataFrame,
    roles: Roles,
    features: list[str],
    training: TrainingSection,
    task: Task,
    method: str,
    metric: str,
    direction: str,
    missing_codes: Mapping[str, Sequence[Any]] | None,
    positive: Any,
    say: Callable[[str], None],
    notes: list[str],
) -> tuple[str, dict[str, Any], float]:
    """Fit each candidate on part of the training rows; keep the best on the rest.

    For a binary target the decision threshold is chosen on the same validation rows: the
    one that maximises F1 for the positive class, so a rare class is not ignored the way a
    fixed 0.5 ignores it. The test rows never influence it.
    """
    names = list(dict.fromkeys(training.models))
    if not names:
        raise SteadyMLError(
            "training.models is empty, so there is no model to train.",
            hint="List at least one of linear, random_forest, hist_gradient_boosting.",
        )
    fit_rows, val_rows = _validation_split(
        train, roles, task, method, training.seed, notes, column=training.split.column
    )
    y = train[roles.target]
    fit_rows = _subsample(fit_rows, SELECTION_FIT_ROWS, training.seed, y, task)
    val_rows = _subsample(val_rows, SELECTION_VALIDATION_ROWS, training.seed, y, task)
    if task == "classification":  # grade only answers the candidates could have learned
        seen = set(map(str, y.loc[fit_rows].unique()))
        val_rows = val_rows[y.loc[val_rows].map(str).isin(seen).to_numpy()]
    if len(val_rows) == 0:
        raise DataError("No validation rows are left to compare candidate models.")
    say(f"Comparing {len(names)} candidate(s) on {len(fit_rows):,} training rows")
    results: dict[str, Any] = {}
    val_scores: dict[str, dict[str, Any]] = {}
    for name in names:
        say(f"Fitting {name}")
        model = make_estimator(name, task, training.seed, n_rows=len(fit_rows))
        pipe = build_pipeline(roles, model, missing_codes)
        _fit(pipe, train.loc[fit_rows, features], y.loc[fit_rows], name, notes)
        scores = predict_scores(pipe, train.loc[val_rows, features], task)
        m = score_predictions(y.loc[val_rows].to_numpy(), scores, task, positive_label=positive)
        m.pop("confusion_matrix", None)
        results[name] = m
        val_scores[name] = scores
    ranked = [n for n in names if results[n].get(metric) is not None]
    if not ranked:
        notes.append(f"{metric} could not be computed on the validation rows; kept {names[0]}.")
        best = names[0]
    else:
        sign = 1.0 if direction == "higher_is_better" else -1.0
        best = max(ranked, key=lambda n: (sign * results[n][metric], -names.index(n)))
    threshold = _best_threshold(y.loc[val_rows].to_numpy(), val_scores[best], positive)
    return best, results, threshold


def _best_threshold(y: np.ndarray, scores: dict[str, Any], positive: Any) -> float:
    """The probability cut-off with the best F1 on validation rows (0.5 when not binary)."""
    if "proba" not in scores or len(scores["classes"]) != 2 or positive is None:
        return 0.5
    labels = list(np.asarray(scores["classes"]).tolist())
    if positive not in labels:
        return 0.5
    p = np.asarray(scores["proba"])[:, labels.index(positive)]
    truth = np.asarray([v == positive for v in y.tolist()])
    if truth.sum() == 0 or truth.all():
        return 0.5
    best_t, best_f1 = 0.5, -1.0
    for t in np.unique(np.round(np.quantile(p, np.linspace(0.01, 0.99, 99)), 4)):
        pred = p >= t
        tp = float(np.sum(pred & truth))
        f1 = 2 * tp / (float(pred.sum()) + float(truth.sum())) if pred.any() else 0.0
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = float(t), f1
    return best_t


def _validation_split(
    train: pd.DataFrame,
    roles: Roles,
    task: Task,
    method: str,
    seed: int,
    notes: list[str],
    *,
    column: str | None = None,
) -> tuple[pd.Index, pd.Index]:
    inner = "time" if method == "time" else ("stratified" if task == "classification" else "random")
    if method == "group":
        inner = "group"  # candidates are compared on groups they did not learn from too
    try:
        return split_rows(train, roles, inner, _VALIDATION_SHARE, seed, column=column)  # type: ignore[arg-type]
    except DataError as exc:
        notes.append(
            f"Could not hold out validation rows {_by(inner)} ({exc.message}); used a random "
            "share instead."
        )
        return split_rows(train, roles, "random", _VALIDATION_SHARE, seed)


def _subsample(rows: pd.Index, limit: int, seed: int, y: pd.Series, task: Task) -> pd.Index:
    """At most ``limit`` of ``rows``, the same ones every time, keeping their order."""
    if len(rows) <= limit:
        return rows
    positions = np.arange(len(rows))
    picked: np.ndarray | None = None
    if task == "classification":
        try:
            picked, _ = train_test_split(
                positions, train_size=limit, random_state=seed, stratify=y.loc[rows].to_numpy()
            )
        except ValueError:
            picked = None
    if picked is None:
        picked = np.random.default_rng(seed).choice(len(rows), size=limit, replace=False)
    return rows[np.sort(picked)]


def _fit(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series, name: str, notes: list[str]) -> None:
    """Fit, turning a model that did not fully converge into a recorded warning."""
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always", ConvergenceWarning)
        try:
            pipeline.fit(X, y)
        except ValueError as exc:
            raise SteadyMLError(
                f"Fitting {name} failed: {exc}",
                hint="Check the column types in steadyml.yaml (a text column needs words; "
                "a numeric column needs numbers).",
            ) from exc
    for w in caught:
        note = f"{name}: {str(w.message).splitlines()[0]}"
        if note not in notes:
            notes.append(note)
