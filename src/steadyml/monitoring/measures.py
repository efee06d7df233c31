"""What one window of the prediction log says about the service and its input data.

* ``system_health``: volume per route, latency percentiles, error and fallback rates;
* ``data_quality``: per feature, missing values, categories never seen in training and values
  outside the training range, each against the model version's reference;
* ``window_drift``: drift of every feature and of the predictions against that reference.

Performance, segments and fairness need labels: ``steadyml.monitoring.performance``.
Each function returns the JSON-safe block the monitoring result holds for a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.monitoring.drift import DriftSettings, drift_table, prediction_drift
from steadyml.monitoring.inputs import code_labels, numeric_values
from steadyml.monitoring.references import PredictionReference, Reference
from steadyml.monitoring.tally import SmallestLabels
from steadyml.training.reference import OTHER, category_label, category_labels

__all__ = [
    "QualityCounts",
    "data_quality",
    "feature_quality",
    "quality_counts",
    "quality_values",
    "numeric_values",
    "system_health",
    "window_drift",
]

_QUALITY_MISSING_STEP = 0.10  # missing rate this much above training: a warning
_QUALITY_UNSEEN = 0.01
_QUALITY_OUT_OF_RANGE = 0.05
_UNSEEN_SHOWN = 20  # unseen categories listed per feature (the first, in sorted order)


def system_health(rows: pd.DataFrame) -> dict[str, Any]:
    """Volume, latency and failure rates of the rows that were served (shadow rows only
    count in ``by_route``: nobody received their answers)."""
    served = rows[rows["route"] != "shadow"]
    n = len(served)
    by_route = {str(k): int(v) for k, v in rows["route"].value_counts().items()}
    latency = pd.to_numeric(served["latency_ms"], errors="coerce").dropna()
    lat = None
    if len(latency):
        p50, p95, p99 = np.percentile(latency.to_numpy(dtype=float), [50, 95, 99])
        lat = {"p50": float(p50), "p95": float(p95), "p99": float(p99)}
    errors = served["error"].notna() & ~served["fallback"].astype(bool)  # not answered
    return {
        "volume": n,
        "by_route": by_route,
        "latency_ms": lat,
        "error_rate": float(errors.mean()) if n else 0.0,
        "fallback_rate": float(served["fallback"].astype(bool).mean()) if n else 0.0,
    }


def data_quality(
    scored: pd.DataFrame,
    errors: int,
    total: int,
    reference: Mapping[str, Any],
    codes: Mapping[str, Sequence[Any]],
) -> dict[str, Any]:
    """Missing, unseen and out-of-range shares per feature of ``reference`` (the model
    version's feature summaries), and the share of ``total`` rows that broke the contract."""
    return {
        "rows": len(scored),
        "contract_violation_rate": (errors / total) if total else 0.0,
        "features": [
            _feature_quality(name, ref, scored, codes.get(name)) for name, ref in reference.items()
        ],
    }


@dataclass
class QualityCounts:
    """What a feature's quality block is made of, counted over one or more pieces of rows."""

    rows: int = 0
    missing: int = 0
    present: int = 0  # values that are not missing
    unseen: int = 0  # of the present values: categories never seen in training
    out_of_range: int = 0  # of the present values: outside the training range
    unseen_labels: SmallestLabels = field(default_factory=lambda: SmallestLabels(_UNSEEN_SHOWN))

    def add(self, other: QualityCounts) -> None:
        self.rows += other.rows
        self.missing += other.missing
        self.present += other.present
        self.unseen += other.unseen
        self.out_of_range += other.out_of_range
        self.unseen_labels.add(other.unseen_labels.labels)


def quality_values(
    ref: Mapping[str, Any], column: pd.Series, codes: Sequence[Any] | None
) -> pd.Series:
    """A feature's values as its quality is measured: numbers, or canonical labels, with the
    missing codes as missing values."""
    if ref.get("kind") == "numeric":
        return numeric_values(column, codes)
    # canonical labels, as the reference has them (steadyml.monitoring.inputs)
    values = category_labels(column)
    return values.where(~values.isin(code_labels(codes)), None)


def quality_counts(ref: Mapping[str, Any], values: pd.Series) -> QualityCounts:
    """Counts over ``values`` (``quality_values``) for the feature summary ``ref``."""
    kind = ref.get("kind")
    n = len(values)
    present_values = values.dropna()
    out = QualityCounts(rows=n, missing=n - len(present_values), present=len(present_values))
    if kind == "categorical" and len(present_values):
        known = {category_label(k) for k in ref.get("frequencies", {})}
        if OTHER not in known:
            mask = ~present_values.isin(known)
            out.unseen = int(mask.sum())
            if out.unseen:
                out.unseen_labels.add(present_values[mask].unique().tolist())
    if kind == "numeric" and len(present_values) and ref.get("min") is not None:
        low, high = float(ref["min"]), float(ref["max"])
        out.out_of_range = int(((present_values < low) | (present_values > high)).sum())
    return out


def feature_quality(
    name: str, ref: Mapping[str, Any], counts: QualityCounts, present: bool
) -> dict[str, Any]:
    """A feature's quality block from its counts; ``present``: the log has the column."""
    kind = ref.get("kind")
    n = counts.rows
    missing = counts.missing / n if n else 0.0
    ref_missing = float(ref.get("missing_rate") or 0.0)
    unseen = list(counts.unseen_labels.labels)
    unseen_rate = counts.unseen / counts.present if counts.present else 0.0
    out_of_range = counts.out_of_range / counts.present if counts.present else 0.0
    notes = []
    if not present and n:
        notes.append(f"{name} is not in the logged inputs at all")
    if missing - ref_missing > _QUALITY_MISSING_STEP:
        notes.append(f"{name} is missing in {missing:.0%} of rows (training: {ref_missing:.0%})")
    if unseen_rate > _QUALITY_UNSEEN:
        notes.append(
            f"{unseen_rate:.0%} of {name} values were never seen in training "
            f"({', '.join(unseen[:3])})"
        )
    if out_of_range > _QUALITY_OUT_OF_RANGE:
        notes.append(f"{out_of_range:.0%} of {name} values are outside the training range")
    return {
        "feature": name,
        "kind": kind,
        "missing_rate": missing,
        "reference_missing_rate": ref_missing,
        "unseen_categories": unseen,
        "unseen_rate": unseen_rate,
        "out_of_range_rate": out_of_range,
        "status": "warning" if notes else "ok",
        "message": "; ".join(notes) if notes else f"{name} looks like training data",
    }


def _feature_quality(
    name: str, ref: Mapping[str, Any], scored: pd.DataFrame, codes: Sequence[Any] | None
) -> dict[str, Any]:
    present = name in scored.columns
    column = scored[name] if present else pd.Series([None] * len(scored), dtype=object)
    counts = quality_counts(ref, quality_values(ref, column, codes))
    return feature_quality(name, ref, counts, present)


def window_drift(
    current: pd.DataFrame,
    scored: pd.DataFrame,
    references: Mapping[str, Reference],
    prediction: PredictionReference | None,
    settings: DriftSettings,
) -> dict[str, Any]:
    """Drift of each feature in ``current`` (every row that reached the service) and of the
    predictions in ``scored`` (the rows the model itself answered)."""
    present = {k: v for k, v in references.items() if k in current.columns}
    drift = drift_table(present, current, settings) if len(current) else []
    pred = None
    if prediction is not None and len(scored):
        pred = prediction_drift(prediction, scored, settings)
    return {
        "features": [d.to_dict() for d in drift],
        "prediction": None if pred is None else pred.to_dict(),
        "drifted": [d.feature for d in drift if d.drifted],
        "missing_features": [k for k in references if k not in current.columns],
    }
