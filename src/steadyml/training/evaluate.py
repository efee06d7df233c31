"""Grade a fitted pipeline: metrics, metrics per segment, and how fast it answers.

Every number returned here is a plain ``float`` (or ``None`` when it cannot be computed, with
the reason in ``notes``), so a result can be written to JSON, stored and compared later.

Binary classification needs a *positive* class — the one the metrics are about (precision,
recall, the probability that is thresholded). The rule, in order: ``1`` when the classes are
0 and 1; ``True`` when they are booleans; a label that reads like yes (``yes``, ``y``,
``true``, ``1``, ``positive``, ``pos``); otherwise the rarer class (ties: the later one in
sorted order). The rule is applied to the training target and reported with the metrics.
"""

from __future__ import annotations

import statistics
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from steadyml.config.metrics import KNOWN_METRICS  # re-exported: defined without scikit-learn
from steadyml.errors import DataError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.training.estimators import Task

__all__ = [
    "KNOWN_METRICS",
    "MIN_SEGMENT_ROWS",
    "check_primary_metric",
    "choose_positive_label",
    "evaluate",
    "group_labels",
    "json_safe",
    "measure_latency",
    "predict_scores",
    "predicted_labels",
    "score_predictions",
    "segment_metrics",
]

_TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier"),
    "regression": ("mae", "rmse", "r2", "mape"),
}
MIN_SEGMENT_ROWS = 30
_MAX_SEGMENT_VALUES = 50
_YES_WORDS = ("yes", "y", "true", "1", "positive", "pos")


def check_primary_metric(primary_metric: str, task: Task, direction: str) -> None:
    """Refuse a metric that does not exist for ``task`` or is read the wrong way round."""
    available = _TASK_METRICS.get(task, ())
    if primary_metric not in available:
        raise SteadyMLError(
            f"Metric {primary_metric!r} cannot grade a {task} model. Metrics available for "
            f"{task}: {', '.join(available)}.",
            hint="Set project.success_metric.name in steadyml.yaml to one of these.",
        )
    expected = KNOWN_METRICS[primary_metric]
    if direction != expected:
        raise SteadyMLError(
            f"{primary_metric} is {expected.replace('_', ' ')}; the project file says "
            f"{direction!r}.",
            hint=f"Set project.success_metric.direction to {expected} in steadyml.yaml.",
        )


def choose_positive_label(y: pd.Series) -> Any | None:
    """The positive class of a binary target (see the module docstring); None otherwise."""
    counts = y.dropna().value_counts()
    if len(counts) != 2:
        return None
    labels = list(counts.index)
    if {_plain(v) for v in labels} == {0, 1}:
        return next(v for v in labels if _plain(v) == 1)
    for v in labels:
        if str(v).strip().lower() in _YES_WORDS:
            return v
    rarest = counts.min()
    tied = [v for v in labels if counts[v] == rarest]
    return sorted(tied, key=str)[-1]


def predict_scores(pipeline: Pipeline, X: pd.DataFrame, task: Task) -> dict[str, Any]:
    """Predictions (and class probabilities with their classes, for classification)."""
    if task == "classification":
        proba = np.asarray(pipeline.predict_proba(X), dtype=float)
        return {"proba": proba, "classes": np.asarray(pipeline.classes_)}
    return {"values": np.asarray(pipeline.predict(X), dtype=float)}


def evaluate(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    task: Task,
    *,
    positive_label: Any = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """The metrics of a fitted pipeline on rows ``X`` with true answers ``y``."""
    scores = predict_scores(pipeline, X, task)
    return score_predictions(
        np.asarray(y), scores, task, positive_label=positive_label, threshold=threshold
    )


def score_predictions(
    y_true: np.ndarray,
    scores: dict[str, Any],
    task: Task,
    *,
    positive_label: Any = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Metrics from predictions already made (see ``predict_scores``)."""
    if task == "regression":
        return _regression_metrics(np.asarray(y_true, dtype=float), scores["values"])
    return _classification_metrics(
        np.asarray(y_true), scores["proba"], scores["classes"], positive_label, threshold
    )


def predicted_labels(
    scores: dict[str, Any], positive_label: Any = None, threshold: float = 0.5
) -> np.ndarray:
    """The class each row is given (``forms.decision.decide``, the rule every route uses): the
    positive class when its probability ≥ threshold; with more classes the most probable."""
    from steadyml.forms.decision import decide

    labels = np.asarray(scores["classes"])
    chosen, _ = decide(scores["proba"], labels.tolist(), positive_label, threshold)
    # keep the classes' own dtype (sklearn's metrics compare predictions with true labels)
    return np.asarray(chosen, dtype=labels.dtype)


def _classification_metrics(
    y: np.ndarray, proba: np.ndarray, classes: np.ndarray, pos: Any, threshold: float
) -> dict[str, Any]:
    notes: list[str] = []
    classes = np.asarray(classes)
    binary = len(classes) == 2
    if binary and pos is None:
        pos = classes[1]
    # keep the true labels in their own dtype: object arrays of numbers confuse sklearn
    y_pred = predicted_labels({"proba": proba, "classes": classes}, pos, threshold)
    unknown = sorted({str(v) for v in np.unique(y).tolist()} - {str(c) for c in classes})
    if unknown:
        raise DataError(
            f"The rows hold answer(s) {', '.join(unknown[:5])} that the model never saw in "
            "training, so they cannot be graded.",
            hint="Use a stratified split, or drop classes with very few rows.",
        )
    out: dict[str, Any] = {"n": len(y), "accuracy": _f(skm.accuracy_score(y, y_pred))}
    if binary:
        avg: dict[str, Any] = {"average": "binary", "pos_label": pos}
    else:
        avg = {"average": "macro", "labels": classes}
    out["precision"] = _f(skm.precision_score(y, y_pred, zero_division=0, **avg))
    out["recall"] = _f(skm.recall_score(y, y_pred, zero_division=0, **avg))
    out["f1"] = _f(skm.f1_score(y, y_pred, zero_division=0, **avg))
    present = {str(v) for v in np.unique(y).tolist()}
    if len(present) < 2:
        out["roc_auc"] = None
        notes.append("roc_auc needs both answers among the rows; only one class is present.")
    elif binary:
        out["roc_auc"] = _f(skm.roc_auc_score(y == pos, proba[:, _index(classes, pos)]))
    elif present == {str(c) for c in classes}:
        out["roc_auc"] = _f(
            skm.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes)
        )
    else:
        out["roc_auc"] = None
        notes.append("roc_auc (one-vs-rest) needs every class among the rows; some are absent.")
    out["log_loss"] = _f(skm.log_loss(y, proba, labels=classes))
    if binary:
        out["brier"] = _f(skm.brier_score_loss(y == pos, proba[:, _index(classes, pos)]))
        out["threshold"] = float(threshold)
        out["positive_label"] = json_safe(pos)
    else:
        out["brier"] = None
        out["threshold"] = None
        out["positive_label"] = None
        notes.append("brier and the decision threshold apply to two classes only.")
    matrix = skm.confusion_matrix(y, y_pred, labels=classes)
    out["confusion_matrix"] = {
        "labels": [json_safe(c) for c in classes],
        "matrix": matrix.astype(int).tolist(),
    }
    out["notes"] = notes
    return out


def _regression_metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    notes: list[str] = []
    out: dict[str, Any] = {
        "n": len(y),
        "mae": _f(skm.mean_absolute_error(y, pred)),
        "rmse": _f(np.sqrt(skm.mean_squared_error(y, pred))),
    }
    if len(y) < 2:
        out["r2"] = None
        notes.append("r2 needs at least two rows.")
    else:
        out["r2"] = _f(skm.r2_score(y, pred))
    if np.any(y == 0):
        out["mape"] = None
        notes.append(
            "mape is left out: some true values are 0, so a percentage error is undefined."
        )
    else:
        out["mape"] = _f(skm.mean_absolute_percentage_error(y, pred))
    out["notes"] = notes
    return out


def segment_metrics(
    y_true: np.ndarray,
    scores: dict[str, Any],
    segments: pd.DataFrame,
    task: Task,
    *,
    positive_label: Any = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Metrics per value of each segment column, so a weak group is not hidden by the average.

    Missing values form the segment ``"(missing)"``. Segments with fewer than 30 rows are
    marked ``"too_few": true``: their numbers are noise more than signal. Only the 50 most
    common values of a column are graded.
    """
    out: dict[str, Any] = {}
    for col in segments.columns:
        groups = group_labels(segments[col])
        counts = groups.value_counts(sort=True)
        per_value: dict[str, Any] = {}
        for value in sorted(counts.index[:_MAX_SEGMENT_VALUES].tolist(), key=str):
            mask = (groups == value).to_numpy()
            sub = _subset_scores(scores, mask)
            m = score_predictions(
                y_true[mask], sub, task, positive_label=positive_label, threshold=threshold
            )
            m.pop("confusion_matrix", None)
            m["too_few"] = bool(mask.sum() < MIN_SEGMENT_ROWS)
            per_value[str(value)] = m
        out[str(col)] = {
            "values": per_value,
            "graded_values": len(per_value),
            "distinct_values": len(counts),
        }
    return out


def group_labels(values: pd.Series) -> pd.Series:
    """Group names as strings; missing values are the group ``"(missing)"``."""
    labels = values.astype(object).map(str)
    return labels.where(values.notna().to_numpy(), "(missing)")


def _subset_scores(scores: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    if "proba" in scores:
        return {"proba": scores["proba"][mask], "classes": scores["classes"]}
    return {"values": scores["values"][mask]}


def measure_latency(
    pipeline: Pipeline, X: pd.DataFrame, *, single_calls: int = 30, batch_calls: int = 5
) -> dict[str, float]:
    """Median milliseconds to predict one row, and to predict 1,000 rows, on one thread.

    Native thread pools (BLAS, OpenMP) are limited to one thread while measuring, so the
    numbers describe one request on one core and are comparable between runs.
    """
    if len(X) == 0:
        raise DataError("Cannot measure prediction time on an empty table of rows.")
    singles: list[float] = []
    batches: list[float] = []
    batch = X.iloc[np.resize(np.arange(len(X)), 1000)]
    with threadpool_limits(limits=1):
        pipeline.predict(X.iloc[[0]])  # warm-up: first calls pay one-off costs
        for i in range(single_calls):
            row = X.iloc[[i % len(X)]]
            start = time.perf_counter()
            pipeline.predict(row)
            singles.append((time.perf_counter() - start) * 1000)
        for _ in range(batch_calls):
            start = time.perf_counter()
            pipeline.predict(batch)
            batches.append((time.perf_counter() - start) * 1000)
    return {
        "one_row_ms": round(statistics.median(singles), 3),
        "thousand_rows_ms": round(statistics.median(batches), 3),
    }


def json_safe(value: Any) -> Any:
    """A value that ``json.dumps`` accepts: numpy scalars become Python ones, NaN None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _f(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def _index(classes: np.ndarray, label: Any) -> int:
    return int(classes.tolist().index(label))


def _f(value: Any) -> float | None:
    number = float(value)
    return number if np.isfinite(number) else None


def _plain(value: Any) -> Any:
    """0/1 and False/True as Python numbers, so {0, 1} and {False, True} compare alike."""
    if isinstance(value, bool | np.bool_):
        return None  # booleans are handled by the yes-word rule ("True")
    if isinstance(value, int | np.integer | float | np.floating):
        return float(value)
    return None
