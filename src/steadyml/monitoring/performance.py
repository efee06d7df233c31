"""How good the model's answers in a window were, once their true labels have arrived.

``measure_performance`` takes the window's scored rows (the model itself answered them) with a
``label`` column and returns three blocks: the metrics against the training scores (and the
drop of the success metric), the same metrics per segment column, and the fairness gap per
sensitive column. Fewer than ``MIN_LABELS`` labelled rows give no numbers, only a status.
The metrics are the ones training reports (``steadyml.training.evaluate``), computed the same
way, so a live score and its training score can be compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from steadyml.training.estimators import Task
from steadyml.training.evaluate import KNOWN_METRICS, score_predictions, segment_metrics
from steadyml.training.fairness import fairness_report

__all__ = ["MIN_LABELS", "LabelInfo", "measure_performance"]

MIN_LABELS = 30  # fewer labelled predictions than this: "not enough labels", no metrics

_FAIRNESS_MEASURE = {"binary": "tpr", "multiclass": "accuracy", "regression": "mae"}


@dataclass(frozen=True)
class LabelInfo:
    """What the training run knew about the labels: the task, classes and decision rule."""

    task: str
    classes: list[Any]
    positive_label: Any
    threshold: float


@dataclass(frozen=True)
class _Scored:
    """The labelled rows that can be scored, as the metric functions take them."""

    frame: pd.DataFrame
    y: np.ndarray
    scores: dict[str, Any]
    y_pred: np.ndarray


def measure_performance(
    scored: pd.DataFrame,
    info: LabelInfo,
    training: Mapping[str, Any],
    success: str,
    segments: Sequence[str],
    sensitive: Sequence[str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(performance, segments, fairness)`` of the labelled rows of ``scored``."""
    labelled = scored[scored["label"].notna()] if "label" in scored.columns else scored.iloc[0:0]
    n = len(labelled)
    perf: dict[str, Any] = {
        "status": "ok", "labelled": n, "metrics": {}, "drop": None, "drop_share": None,
    }  # fmt: skip
    if n == 0:
        perf["status"] = "waiting for labels"
        return perf, {}, {}
    if n < MIN_LABELS:
        perf["status"] = "not enough labels"
        return perf, {}, {}
    rows = _scorable(labelled, info)
    if len(rows.frame) < MIN_LABELS:
        perf.update(status="not enough labels", labelled=len(rows.frame))
        return perf, {}, {}
    task = cast(Task, info.task)
    metrics = score_predictions(
        rows.y, rows.scores, task, positive_label=info.positive_label, threshold=info.threshold
    )
    metrics.pop("confusion_matrix", None)
    perf["labelled"] = len(rows.frame)
    perf["metrics"] = {k: v for k, v in metrics.items() if k in KNOWN_METRICS}
    live, trained = perf["metrics"].get(success), training.get(success)
    if live is not None and trained is not None:
        higher = KNOWN_METRICS.get(success) == "higher_is_better"
        perf["drop"] = float(trained - live) if higher else float(live - trained)
        # the drop as a share of the training value: a line that means the same for an error
        # in dollars as for a score between 0 and 1
        perf["drop_share"] = perf["drop"] / abs(float(trained)) if trained else None
    return perf, _segments(rows, info, segments), _fairness(rows, info, sensitive)


def _coerce_labels(labels: pd.Series, classes: Sequence[Any]) -> pd.Series:
    """Labels as the model's class values (JSON may turn 1 into "1" or 1.0)."""
    by_text = {str(c): c for c in classes}
    by_text.update({str(float(c)): c for c in classes if isinstance(c, int | float)})
    return labels.map(lambda v: by_text.get(str(v), v))


def _scorable(labelled: pd.DataFrame, info: LabelInfo) -> _Scored:
    """The rows whose label is usable (a number, or one of the model's classes), with the
    true values, the scores the metrics need and the predicted values."""
    if info.task == "regression":
        y = pd.to_numeric(labelled["label"], errors="coerce").to_numpy(dtype=float)
        values = pd.to_numeric(labelled["prediction"], errors="coerce").to_numpy(dtype=float)
        keep = np.isfinite(y) & np.isfinite(values)
        return _Scored(labelled[keep], y[keep], {"values": values[keep]}, values[keep])
    y_obj = _coerce_labels(labelled["label"], info.classes)
    keep = y_obj.isin(info.classes).to_numpy()
    frame = labelled[keep]
    y = np.asarray(y_obj[keep].tolist())
    classes = np.asarray(info.classes)
    chosen = _coerce_labels(frame["prediction"], info.classes).tolist()
    if len(info.classes) == 2 and frame["score"].notna().all():
        pos = info.positive_label if info.positive_label is not None else info.classes[1]
        p = frame["score"].to_numpy(dtype=float)
        cols = [p if c == pos else 1 - p for c in info.classes]
        scores = {"proba": np.column_stack(cols), "classes": classes}
    else:  # multiclass: only the predicted class is logged: one-hot "probabilities"
        onehot = np.array([[1.0 if c == p else 0.0 for c in info.classes] for p in chosen])
        scores = {"proba": onehot.reshape(len(chosen), len(info.classes)), "classes": classes}
    return _Scored(frame, y, scores, np.asarray(chosen))


def _segments(rows: _Scored, info: LabelInfo, segments: Sequence[str]) -> dict[str, Any]:
    """Per segment column and value: the labelled count and the metrics."""
    present = [c for c in segments if c in rows.frame.columns]
    if not present:
        return {}
    seg = segment_metrics(
        rows.y,
        rows.scores,
        rows.frame[present].reset_index(drop=True),
        cast(Task, info.task),
        positive_label=info.positive_label,
        threshold=info.threshold,
    )
    return {
        col: {
            value: {
                "labelled": int(m.get("n", 0)),
                "too_few": bool(m.get("too_few")),
                "metrics": {k: v for k, v in m.items() if k in KNOWN_METRICS},
            }
            for value, m in block["values"].items()
        }
        for col, block in seg.items()
    }


def _fairness(rows: _Scored, info: LabelInfo, sensitive: Sequence[str]) -> dict[str, Any]:
    """Per sensitive column: the measure per group (groups with too few rows left out) and
    the gap between groups, as training's fairness report defines it."""
    attrs = [c for c in sensitive if c in rows.frame.columns]
    if not attrs:
        return {}
    positive = info.positive_label if len(info.classes) == 2 else None
    frame = rows.frame[attrs].reset_index(drop=True)
    report = fairness_report(rows.y, rows.y_pred, frame, cast(Task, info.task), positive)
    measure = _FAIRNESS_MEASURE[report["kind"]]
    out: dict[str, Any] = {}
    for col, block in report["columns"].items():
        gap = block.get("relative_gap") if report["kind"] == "regression" else block.get("gap")
        out[col] = {
            "metric": measure,
            "groups": {
                g: v.get(measure) for g, v in block["groups"].items() if not v.get("too_few")
            },
            "gap": gap,
        }
    return out
