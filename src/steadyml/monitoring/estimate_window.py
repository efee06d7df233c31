"""A monitor window's estimated performance: the ``estimate`` block of each window.

``Estimator.of`` reads, once per monitor run, what the model version keeps for estimation
(the calibration record in its reference statistics, ``training.calibration``), the decision
threshold and the training metrics. ``Estimator.window`` turns a window's counted scores
(``stream.WindowStats.prediction_values``: each distinct score and its count) and its quality
block into the block the CLI, the JSON, the HTML report and the alert rules read:

``{"status", "rows", "metrics": {name: {value, lower, upper, interval}}, "success_metric",
"drop", "drop_share", "reliable", "problems", "assumptions": {...}, "cross_check": {...},
"realised": {name: value} | None, "errors": {name: |estimated - realised|},
"covered": {name: bool}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from steadyml.monitoring.estimate import (
    assess,
    cbpe,
    error_bins,
    estimate_regression_sums,
)
from steadyml.monitoring.estimate_shift import shift_bias, shift_problems, widen
from steadyml.monitoring.tally import ValueCounts
from steadyml.training.evaluate import KNOWN_METRICS

__all__ = ["ErrorTally", "ErrorTallier", "Estimator", "estimate_block"]


@dataclass
class ErrorTally:
    """A regression window's predicted errors, as sums (added a piece of the log at a time)."""

    rows: int = 0
    sum_abs: float = 0.0
    sum_sq: float = 0.0
    in_bins: np.ndarray = field(default_factory=lambda: np.zeros(0))
    failed: str | None = None

    def merge(self, other: ErrorTally) -> ErrorTally:
        if not len(other.in_bins):
            bins = self.in_bins
        elif not len(self.in_bins):
            bins = other.in_bins
        else:
            bins = self.in_bins + other.in_bins
        return ErrorTally(
            self.rows + other.rows,
            self.sum_abs + other.sum_abs,
            self.sum_sq + other.sum_sq,
            bins,
            self.failed or other.failed,
        )


@dataclass(frozen=True)
class ErrorTallier:
    """The version's error model (``training.error_model``), run over each piece's answered
    rows by ``stream.WindowStats.add``."""

    model: Any
    record: Mapping[str, Any]

    def add(self, tally: ErrorTally | None, rows: Any) -> ErrorTally:
        tally = tally or ErrorTally()
        if tally.failed or not len(rows):
            return tally
        try:
            a, s = self.model.predict(rows)
        except (KeyError, ValueError, TypeError) as exc:  # a log without the features
            return ErrorTally(failed=f"the error model could not score the logged rows: {exc}")
        return tally.merge(
            ErrorTally(len(a), float(a.sum()), float(s.sum()), error_bins(self.record, a))
        )


@dataclass(frozen=True)
class Estimator:
    """What a model version keeps for estimating its windows' performance."""

    estimation: Mapping[str, Any]
    threshold: float
    training: Mapping[str, Any]
    success: str
    task: str
    uses_scores: bool  # the window counts positive-class scores (binary, with a score sample)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        reference: Mapping[str, Any] | None,
        *,
        task: str,
        threshold: float,
        training: Mapping[str, Any],
        success: str,
        uses_scores: bool,
    ) -> Estimator:
        return cls(
            estimation=dict((reference or {}).get("estimation") or {}),
            threshold=threshold,
            training=dict(training),
            success=success,
            task=task,
            uses_scores=uses_scores,
        )

    def window(
        self,
        scores: ValueCounts,
        quality: Mapping[str, Any],
        performance: Mapping[str, Any],
        errors: ErrorTally | None = None,
        *,
        numeric: Mapping[str, Any] | None = None,
        categories: Mapping[str, Mapping[str, int]] | None = None,
    ) -> dict[str, Any]:
        """The window's estimate block (see the module's docstring). ``numeric`` and
        ``categories``: the window's counted feature values, for the shift check."""
        if self.task == "regression":
            return _regression_block(self, errors, quality, performance)
        values, counts = scores.distinct()
        return estimate_block(
            self, values, counts, quality, performance, numeric=numeric, categories=categories
        )


def _not_estimated(reason: str, rows: int) -> dict[str, Any]:
    return {
        "status": "not estimated",
        "reason": reason,
        "rows": rows,
        "metrics": {},
        "reliable": False,
        "problems": [reason],
        "drop": None,
        "drop_share": None,
        "realised": None,
    }


def _regression_block(
    est: Estimator,
    errors: ErrorTally | None,
    quality: Mapping[str, Any],
    performance: Mapping[str, Any],
) -> dict[str, Any]:
    record = est.estimation
    if record.get("method") != "dle":
        reason = record.get("reason") or (
            "this model version has no error model (trained before steadyml kept one: retrain)"
        )
        return _not_estimated(str(reason), 0)
    if errors is None:
        return _not_estimated("the error model was not loaded (no artifact store given)", 0)
    if errors.failed:
        return _not_estimated(errors.failed, errors.rows)
    if errors.rows == 0:
        return _not_estimated("no scored rows in the window", 0)
    found = estimate_regression_sums(
        record, errors.rows, errors.sum_abs, errors.sum_sq, errors.in_bins
    )
    checks = assess(record, errors.rows, quality)
    return _finish(est, found["metrics"], checks, errors.rows, performance, "mae", {})


def _finish(
    est: Estimator,
    metrics: dict[str, Any],
    checks: Mapping[str, Any],
    rows: int,
    performance: Mapping[str, Any],
    fallback: str,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    name = est.success if est.success in metrics else fallback
    block: dict[str, Any] = {
        "status": "ok",
        "rows": rows,
        "metrics": metrics,
        "success_metric": name,
        "drop": None,
        "drop_share": None,
        "reliable": checks["reliable"],
        "problems": list(checks["problems"]),
        "assumptions": {k: v for k, v in checks.items() if k not in ("reliable", "problems")},
        **extra,
    }
    value, trained = (metrics.get(name) or {}).get("value"), est.training.get(name)
    if value is not None and trained is not None:
        higher = KNOWN_METRICS.get(name) == "higher_is_better"
        block["drop"] = float(trained - value) if higher else float(value - trained)
        block["drop_share"] = block["drop"] / abs(float(trained)) if trained else None
    block.update(_realised(metrics, performance))
    return block


def estimate_block(
    est: Estimator,
    values: np.ndarray,
    counts: np.ndarray,
    quality: Mapping[str, Any],
    performance: Mapping[str, Any],
    *,
    numeric: Mapping[str, Any] | None = None,
    categories: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """The estimate block from a window's distinct scores and their counts; with the
    window's counted feature values, the intervals moved by the shift check
    (``estimate_shift``)."""
    rows = int(np.asarray(counts).sum()) if len(counts) else 0
    kind = est.estimation.get("kind")
    if kind != "classification" or est.estimation.get("method") is None:
        return _not_estimated(
            str(est.estimation.get("reason") or "this model version was trained before "
                "steadyml kept what estimates need (retrain to get them)"),
            rows,
        )  # fmt: skip
    if not est.uses_scores:
        return _not_estimated("the log of this version keeps no positive-class scores", rows)
    if rows == 0:
        return _not_estimated("no scored rows in the window", 0)
    found = cbpe(values, counts, threshold=est.threshold, calibration=est.estimation)
    table = est.estimation.get("shift_table")
    if table and (numeric or categories):
        widen(found["metrics"], shift_bias(table, numeric or {}, categories or {}))
    checks = assess(est.estimation, rows, quality, shift_problems(found["metrics"]))
    extra = {
        "cross_check": found.get("cross_check"),
        "expected_confusion": found.get("expected_confusion"),
    }
    return _finish(est, found["metrics"], checks, rows, performance, "accuracy", extra)


def _realised(metrics: Mapping[str, Any], performance: Mapping[str, Any]) -> dict[str, Any]:
    """Once the window's labels are in: the realised values beside the estimates, how far
    apart they are, and whether each interval held the realised value."""
    if performance.get("status") != "ok":
        return {"realised": None, "errors": {}, "covered": {}}
    live = performance.get("metrics") or {}
    realised = {k: live[k] for k in metrics if live.get(k) is not None}
    errors: dict[str, float] = {}
    covered: dict[str, bool] = {}
    for k, real in realised.items():
        m = metrics[k]
        if m.get("value") is None:
            continue
        errors[k] = abs(float(m["value"]) - float(real))
        if m.get("lower") is not None and m.get("upper") is not None:
            covered[k] = bool(m["lower"] - 1e-12 <= real <= m["upper"] + 1e-12)
    return {
        "realised": realised,
        "labelled": performance.get("labelled"),
        "errors": errors,
        "covered": covered,
    }
