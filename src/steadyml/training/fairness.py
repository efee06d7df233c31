"""Does the model treat groups of people alike? Numbers per group, and the largest gap.

Sensitive columns (gender, age band, ...) are usually *not* model inputs, but they are kept
to check the model's behaviour per group on the test rows. The numbers come from fairlearn's
``MetricFrame`` and its ready-made differences:

* two classes — per group: rows, selection rate (share predicted positive), true positive
  rate and false positive rate; for the column: the demographic parity difference (largest
  gap in selection rate) and the equalized odds difference (largest gap in TPR or FPR). The
  column's ``gap`` is the larger of the two.
* more classes — accuracy per group; ``gap`` is the best group's minus the worst group's.
* regression — mean absolute error per group; ``gap`` is the worst minus the best, and
  ``relative_gap`` is that gap as a share of the worst group's error (between 0 and 1).

Groups with fewer than 30 rows (for two classes: or fewer than 20 positives or negatives) are
listed with ``"too_few": true`` and left out of the gaps: with so few rows a difference is
mostly chance. Missing values form the group ``"(missing)"``.
``largest_gap`` is what the ``max_fairness_gap`` gate compares: the largest ``gap`` over the
columns (``relative_gap`` for regression, so the same 0–1 threshold fits every task).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, mean_absolute_error

from steadyml.errors import SteadyMLError
from steadyml.training.estimators import Task
from steadyml.training.evaluate import MIN_SEGMENT_ROWS, group_labels

__all__ = ["fairness_report"]

MIN_CLASS_ROWS = 20  # binary: positives and negatives a group needs for its TPR and FPR


def fairness_report(
    y_true: Any,
    y_pred: Any,
    sensitive: pd.DataFrame,
    task: Task,
    positive_label: Any,
) -> dict[str, Any]:
    """Per-group metrics and gaps for each sensitive column (see the module docstring)."""
    yt, yp = np.asarray(y_true), np.asarray(y_pred)
    if not len(yt) == len(yp) == len(sensitive):
        raise SteadyMLError(
            f"y_true, y_pred and the sensitive columns must have the same rows. Got "
            f"{len(yt)}, {len(yp)} and {len(sensitive)} instead."
        )
    kind = _kind(task, yt, positive_label)
    if kind == "binary":
        yt = (yt == positive_label).astype(int)
        yp = (yp == positive_label).astype(int)
    warnings: list[str] = []
    columns: dict[str, Any] = {}
    for col in sensitive.columns:
        groups = group_labels(sensitive[col]).to_numpy(dtype=object)
        columns[str(col)] = _column_report(str(col), yt, yp, groups, kind, warnings)
    measure = "relative_gap" if kind == "regression" else "gap"
    gaps = {c: r[measure] for c, r in columns.items() if r[measure] is not None}
    worst = max(gaps, key=lambda c: gaps[c]) if gaps else None
    return {
        "kind": kind,
        "positive_label": _plain(positive_label) if kind == "binary" else None,
        "min_group_rows": MIN_SEGMENT_ROWS,
        "columns": columns,
        "largest_gap": gaps[worst] if worst is not None else None,
        "largest_gap_column": worst,
        "largest_gap_measure": measure,
        "warnings": warnings,
    }


def _kind(task: Task, y_true: np.ndarray, positive_label: Any) -> str:
    if task == "regression":
        return "regression"
    if task != "classification":
        raise SteadyMLError(f"Task must be 'classification' or 'regression'. Got {task!r} instead.")
    return "binary" if positive_label is not None else "multiclass"


def _column_report(
    col: str,
    yt: np.ndarray,
    yp: np.ndarray,
    groups: np.ndarray,
    kind: str,
    warnings: list[str],
) -> dict[str, Any]:
    metrics: dict[str, Any]
    if kind == "binary":
        metrics = {
            "n": count,
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
        }
    elif kind == "multiclass":
        metrics = {"n": count, "accuracy": accuracy_score}
    else:
        metrics = {"n": count, "mae": mean_absolute_error}
    frame = MetricFrame(metrics=metrics, y_true=yt, y_pred=yp, sensitive_features=groups)
    by_group = frame.by_group
    report: dict[str, Any] = {"groups": {}}
    compared: list[str] = []
    for group, row in by_group.iterrows():
        n = int(row["n"])
        entry = {"n": n, **{k: _plain(row[k]) for k in metrics if k != "n"}}
        entry["too_few"] = n < MIN_SEGMENT_ROWS
        if kind == "binary":
            # TPR rests on the group's positives and FPR on its negatives: a rate from a
            # handful of rows is mostly chance, so such a group is not compared either.
            in_group = groups == group
            positives = int(yt[in_group].sum())
            entry["positives"] = positives
            entry["too_few"] = entry["too_few"] or min(positives, n - positives) < MIN_CLASS_ROWS
        report["groups"][str(group)] = entry
        if not entry["too_few"]:
            compared.append(str(group))
    few = [g for g, e in report["groups"].items() if e["too_few"]]
    if few:
        extra = f" (or fewer than {MIN_CLASS_ROWS} of either outcome)" if kind == "binary" else ""
        warnings.append(
            f"Fairness for '{col}': group(s) {', '.join(few)} have fewer than "
            f"{MIN_SEGMENT_ROWS} test rows{extra} and are left out of the gap."
        )
    report["compared_groups"] = compared
    if len(compared) < 2:
        warnings.append(
            f"Fairness for '{col}': fewer than two groups have {MIN_SEGMENT_ROWS} or more "
            "test rows, so no gap could be measured."
        )
        report["gap"] = None
        if kind == "binary":
            report["demographic_parity_difference"] = None
            report["equalized_odds_difference"] = None
        if kind == "regression":
            report["relative_gap"] = None
        return report
    keep = np.isin(groups, compared)
    if kind == "binary":
        dpd = float(
            demographic_parity_difference(yt[keep], yp[keep], sensitive_features=groups[keep])
        )
        eod = float(equalized_odds_difference(yt[keep], yp[keep], sensitive_features=groups[keep]))
        report["demographic_parity_difference"] = dpd
        report["equalized_odds_difference"] = eod
        report["gap"] = max(dpd, eod)
        return report
    key = "accuracy" if kind == "multiclass" else "mae"
    values = [report["groups"][g][key] for g in compared]
    gap = float(max(values) - min(values))
    report["gap"] = gap
    if kind == "regression":
        worst = float(max(values))
        report["relative_gap"] = gap / worst if worst > 0 else 0.0
    return report


def _plain(value: Any) -> Any:
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if np.isfinite(number) else None
    return value
