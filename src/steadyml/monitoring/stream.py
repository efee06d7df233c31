"""A window measured a piece of the log at a time, in memory that does not grow with the log.

``prepare`` reads one piece of the prediction log (a few tens of thousands of rows) once for
every window and window length it touches: labels joined, logged inputs read in the
contract's type (``steadyml.monitoring.inputs``), quality values taken. ``WindowStats.add``
then keeps, for one window, only what its numbers are made of: counts per route, of errors,
fallbacks, contract violations and repaired text; the latency values' counts; per feature the
quality counts (``measures.QualityCounts``), and for drift the counts of each distinct number
(``tally.ValueCounts``) or category label; the same for the predictions; and the labelled
rows the performance metrics need (as many as labels have arrived). ``WindowStats.result``
turns them into the window's block, number for number what ``measures`` and ``performance``
give on the whole window at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.monitoring.drift import (
    DriftSettings,
    FeatureDrift,
    categorical_drift,
    numeric_drift,
)
from steadyml.monitoring.inputs import typed_inputs
from steadyml.monitoring.measures import (
    QualityCounts,
    feature_quality,
    quality_counts,
    quality_values,
)
from steadyml.monitoring.performance import LabelInfo, measure_performance
from steadyml.monitoring.references import (
    NumericReference,
    PredictionReference,
    Reference,
)
from steadyml.monitoring.tally import REPEAT_MAX, ValueCounts, merge_counts
from steadyml.monitoring.windows import window_label
from steadyml.predlog.reader import REPAIRED
from steadyml.training.reference import OTHER, category_label, category_labels, label_counts

__all__ = ["Baseline", "Labels", "Piece", "WindowStats", "prepare"]

_PERCENTILES = (50, 95, 99)


@dataclass(frozen=True)
class Baseline:
    """Everything a window is measured against, read once per run."""

    features: Mapping[str, Mapping[str, Any]]  # the feature summaries, canonical labels
    types: Mapping[str, str]  # each column's type in the model version's contract
    references: Mapping[str, Reference]
    prediction: PredictionReference | None
    codes: Mapping[str, list[Any]]  # data.missing_codes
    settings: DriftSettings
    labels: LabelInfo
    training_metrics: Mapping[str, Any]
    success: str
    segments: list[str]
    sensitive: list[str]
    errors: Any = None  # regression: estimate_window.ErrorTallier (estimates before labels)

    def input_columns(self) -> list[str]:
        """The logged inputs a window's numbers read."""
        return list(dict.fromkeys([*self.features, *self.segments, *self.sensitive]))


class Labels:
    """True labels by key (request id or row id), looked up a column at a time."""

    def __init__(self, feedback: Mapping[str, tuple[Any, int, dt.datetime]]) -> None:
        self.keys = pd.Index(list(feedback))
        values = np.empty(len(feedback) + 1, dtype=object)  # the last one: "no label"
        values[:-1] = [v[0] for v in feedback.values()]
        values[-1] = None
        self.values = values

    def of(self, request_ids: pd.Series, row_keys: pd.Series) -> np.ndarray:
        """Each row's label: by request id first, then by row id (text only); else None."""
        if not len(self.keys):
            return np.full(len(request_ids), None, dtype=object)
        usable = pd.notna(self.values)  # the last entry ("no label") is not
        by_request = self.keys.get_indexer(request_ids)
        by_row = self.keys.get_indexer(row_keys)  # the keys are text: None never matches
        chosen: np.ndarray = self.values[np.where(usable[by_request], by_request, by_row)]
        return chosen


@dataclass
class Piece:
    """One piece of the log, read once: arrays over all its rows and over its served rows."""

    rows: int
    route: np.ndarray  # every row
    served: np.ndarray  # bool, every row: not a shadow answer
    repaired: np.ndarray  # bool, every row
    error: np.ndarray  # bool, served rows: not answered, no fallback either
    fallback: np.ndarray  # bool, served rows
    violation: np.ndarray  # bool, served rows: broke the contract
    latency: np.ndarray  # float, served rows
    answered: np.ndarray  # bool, served rows: the model itself answered
    quality: dict[str, pd.Series]  # served rows, per feature: values as quality reads them
    current: pd.DataFrame  # served rows, inputs in the contract's type, label, prediction
    coded: dict[str, Coded]  # categorical features read once per distinct value (not in
    # ``quality``; in ``current`` as logged)


@dataclass
class Coded:
    """A categorical feature of a piece as codes into its distinct values, each read once:
    ``typed`` (its canonical label in the contract's type, None when missing) and ``quality``
    (as quality reads it); the last entry of each stands for a missing value (code -1)."""

    codes: np.ndarray  # served rows
    typed: np.ndarray
    quality: np.ndarray
    unseen: np.ndarray  # bool per distinct value: a category training never saw

    @classmethod
    def of(cls, name: str, column: pd.Series, ref: Mapping[str, Any], base: Baseline) -> Coded:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        distinct = pd.DataFrame({name: pd.Series(uniques, dtype=column.dtype)})
        typed_inputs(distinct, {name: ref}, base.codes, base.types)  # as for every row
        typed = np.empty(len(distinct) + 1, dtype=object)  # the last: a missing value
        typed[:-1] = distinct[name].to_numpy(dtype=object)
        quality = quality_values(ref, pd.Series(typed, dtype=object), base.codes.get(name))
        present = quality.notna().to_numpy()
        unseen = np.zeros(len(typed), dtype=bool)
        known = {category_label(k) for k in ref.get("frequencies", {})}
        if OTHER not in known:
            unseen = present & ~quality.isin(known).to_numpy()
        return cls(codes, typed, quality.to_numpy(dtype=object), unseen)

    def tally(self, rows: np.ndarray | None) -> np.ndarray:
        """How many of the rows (all: None) hold each distinct value (the last: missing)."""
        codes = self.codes if rows is None else self.codes[rows]
        places = np.where(codes < 0, len(self.typed) - 1, codes)
        tally: np.ndarray = np.bincount(places, minlength=len(self.typed))
        return tally


def prepare(frame: pd.DataFrame, base: Baseline, labels: Labels) -> Piece:
    """Read one piece of the log (with its ``time`` column) for ``WindowStats.add``."""
    n = len(frame)
    route = frame["route"].to_numpy(dtype=object)
    served_mask = route != "shadow"
    served = frame[served_mask] if not served_mask.all() else frame
    fallback = served["fallback"].astype(bool).to_numpy()
    has_error = served["error"].notna().to_numpy()
    violation = np.zeros(len(served), dtype=bool)
    if has_error.any():
        errors = served["error"][has_error].astype(str)
        violation[has_error] = errors.str.startswith("contract:").to_numpy(dtype=bool)
    latency = pd.to_numeric(served["latency_ms"], errors="coerce").to_numpy(dtype=float)
    repaired = (
        frame[REPAIRED].fillna(False).astype(bool).to_numpy()
        if REPAIRED in frame.columns
        else np.zeros(n, dtype=bool)
    )
    keep = [c for c in ("prediction", "score", *base.input_columns()) if c in served.columns]
    current = served[keep].copy()
    current["label"] = labels.of(served["request_id"], served["row_key"])
    # a categorical column of one type (not object: True and 1 hash alike there) is read
    # once per distinct value
    coded = {
        name: Coded.of(name, current[name], ref, base)
        for name, ref in base.features.items()
        if ref.get("kind") == "categorical"
        and name in current.columns
        and current[name].dtype != object
    }
    rest = {k: v for k, v in base.features.items() if k not in coded}
    typed_inputs(current, rest, base.codes, base.types)
    quality = {}
    for name, ref in rest.items():
        column = (
            current[name]
            if name in current.columns
            else pd.Series([None] * len(current), dtype=object, index=current.index)
        )
        quality[name] = quality_values(ref, column, base.codes.get(name))
    return Piece(
        rows=n,
        route=route,
        served=served_mask,
        repaired=repaired,
        error=has_error & ~fallback,
        fallback=fallback,
        violation=violation,
        latency=latency,
        answered=~has_error & ~fallback,
        quality=quality,
        current=current,
        coded=coded,
    )


@dataclass
class WindowStats:
    """One window's sufficient statistics, added a piece at a time."""

    base: Baseline
    by_route: dict[str, int] = field(default_factory=dict)
    volume: int = 0
    errors: int = 0
    fallbacks: int = 0
    violations: int = 0
    repaired: int = 0
    scored: int = 0
    latency: ValueCounts = field(default_factory=ValueCounts)
    quality: dict[str, QualityCounts] = field(default_factory=dict)
    numeric: dict[str, ValueCounts] = field(default_factory=dict)
    categories: dict[str, dict[str, int]] = field(default_factory=dict)
    prediction_values: ValueCounts = field(default_factory=ValueCounts)
    prediction_labels: dict[str, int] = field(default_factory=dict)
    labelled: list[pd.DataFrame] = field(default_factory=list)
    estimated: Any = None  # regression: estimate_window.ErrorTally of the answered rows

    def add(self, piece: Piece, rows: np.ndarray | None) -> None:
        """Add the rows of ``piece`` selected by ``rows`` (bool over every row; None: all)."""
        base = self.base
        if rows is None:
            route, served = piece.route, None
            self.repaired += int(piece.repaired.sum())
        else:
            route = piece.route[rows]
            served = rows[piece.served]
            self.repaired += int(piece.repaired[rows].sum())
        routes = pd.Series(route, dtype=object).value_counts(sort=False)
        merge_counts(self.by_route, {str(k): int(v) for k, v in routes.items()})

        def pick(values: Any) -> Any:
            return values if served is None else values[served]

        n = len(pick(piece.fallback))
        if n == 0:
            return
        self.volume += n
        self.errors += int(pick(piece.error).sum())
        self.fallbacks += int(pick(piece.fallback).sum())
        self.violations += int(pick(piece.violation).sum())
        self.latency.add(pick(piece.latency))
        current = piece.current if served is None else piece.current[served]
        tallies = {name: coded.tally(served) for name, coded in piece.coded.items()}
        for name, ref in base.features.items():
            if name in piece.coded:
                counts = _coded_quality(piece.coded[name], tallies[name])
            else:
                counts = quality_counts(ref, pick(piece.quality[name]))
            self.quality.setdefault(name, QualityCounts()).add(counts)
        for name, reference in base.references.items():
            if name not in current.columns:
                continue
            if name in piece.coded:
                live = _coded_labels(piece.coded[name], tallies[name])
                merge_counts(self.categories.setdefault(name, {}), live)
            elif isinstance(reference, NumericReference):
                numbers = current[name].to_numpy(dtype=float, na_value=np.nan)
                self.numeric.setdefault(name, ValueCounts()).add(numbers)
            else:
                merge_counts(self.categories.setdefault(name, {}), label_counts(current[name]))
        answered = pick(piece.answered)
        scored = current[answered] if not answered.all() else current
        self.scored += len(scored)
        if base.prediction is not None and len(scored):
            column = scored[base.prediction.column]
            if isinstance(base.prediction.reference, NumericReference):
                numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
                self.prediction_values.add(numbers)
            else:
                merge_counts(self.prediction_labels, label_counts(category_labels(column)))
        if base.errors is not None and len(scored):  # predicted errors, for estimates
            self.estimated = base.errors.add(self.estimated, scored)
        has_label = scored["label"].notna().to_numpy()
        if has_label.any():
            labelled = scored[has_label].copy()
            served_at = np.arange(len(piece.fallback))
            if served is not None:
                served_at = served_at[served]
            at = served_at[answered][has_label]  # their places among the served rows
            for name, coded in piece.coded.items():
                labelled[name] = coded.typed[coded.codes[at]]
            self.labelled.append(labelled)

    def merge(self, other: WindowStats) -> None:
        """Add what ``other`` counted (the rows read after this one's, for the same window)."""
        merge_counts(self.by_route, other.by_route)
        self.volume += other.volume
        self.errors += other.errors
        self.fallbacks += other.fallbacks
        self.violations += other.violations
        self.repaired += other.repaired
        self.scored += other.scored
        self.latency.merge(other.latency)
        for name, counts in other.quality.items():
            self.quality.setdefault(name, QualityCounts()).add(counts)
        for name, values in other.numeric.items():
            self.numeric.setdefault(name, ValueCounts()).merge(values)
        for name, labels in other.categories.items():
            merge_counts(self.categories.setdefault(name, {}), labels)
        self.prediction_values.merge(other.prediction_values)
        merge_counts(self.prediction_labels, other.prediction_labels)
        self.labelled.extend(other.labelled)
        if other.estimated is not None:
            mine = self.estimated
            self.estimated = other.estimated if mine is None else mine.merge(other.estimated)

    def result(self, start: dt.datetime, end: dt.datetime, columns: set[str]) -> dict[str, Any]:
        """The window's block; ``columns``: every column the log read in this run holds."""
        base = self.base
        quality = {
            "rows": self.volume,
            "contract_violation_rate": self.violations / self.volume if self.volume else 0.0,
            "features": [
                feature_quality(name, ref, self._counts(name), name in columns)
                for name, ref in base.features.items()
            ],
            "text_repaired": self.repaired,
        }
        perf, segs, fair = measure_performance(
            self._labelled(columns), base.labels, base.training_metrics, base.success,
            base.segments, base.sensitive,
        )  # fmt: skip
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "label": window_label(start, end),
            "system": self._system(),
            "quality": quality,
            "drift": self._drift(columns),
            "performance": perf,
            "segments": segs,
            "fairness": fair,
        }

    def _counts(self, name: str) -> QualityCounts:
        return self.quality.get(name) or QualityCounts()

    def _system(self) -> dict[str, Any]:
        n = self.volume
        order = sorted(self.by_route.items(), key=lambda kv: -kv[1])
        lat = None
        if len(self.latency):
            p50, p95, p99 = _percentiles(self.latency)
            lat = {"p50": p50, "p95": p95, "p99": p99}
        return {
            "volume": n,
            "by_route": dict(order),
            "latency_ms": lat,
            "error_rate": self.errors / n if n else 0.0,
            "fallback_rate": self.fallbacks / n if n else 0.0,
        }

    def _drift(self, columns: set[str]) -> dict[str, Any]:
        base = self.base
        drift: list[FeatureDrift] = []
        if self.volume:
            for name, reference in base.references.items():
                if name not in columns:
                    continue
                if isinstance(reference, NumericReference):
                    values = self.numeric.get(name, ValueCounts())
                    drift.append(numeric_drift(name, reference, values, base.settings))
                else:
                    counts = self.categories.get(name, {})
                    drift.append(categorical_drift(name, reference, counts, base.settings))
        pred = None
        if base.prediction is not None and self.scored:
            ref = base.prediction.reference
            if isinstance(ref, NumericReference):
                pred = numeric_drift(base.prediction.name, ref, self.prediction_values,
                                     base.settings)  # fmt: skip
            else:
                pred = categorical_drift(base.prediction.name, ref, self.prediction_labels,
                                         base.settings)  # fmt: skip
        return {
            "features": [d.to_dict() for d in drift],
            "prediction": None if pred is None else pred.to_dict(),
            "drifted": [d.feature for d in drift if d.drifted],
            "missing_features": [k for k in base.references if k not in columns],
        }

    def _labelled(self, columns: set[str]) -> pd.DataFrame:
        """The labelled answered rows, with every segment and sensitive column the log has."""
        if not self.labelled:
            return pd.DataFrame({"label": pd.Series([], dtype=object)})
        frame = self.labelled[0] if len(self.labelled) == 1 else pd.concat(self.labelled)
        for name in (*self.base.segments, *self.base.sensitive):
            if name in columns and name not in frame.columns:
                frame[name] = None
        return frame


def _coded_quality(coded: Coded, tally: np.ndarray) -> QualityCounts:
    """``quality_counts`` of a coded feature's rows, from how many hold each value."""
    rows = int(tally.sum())
    present_values = pd.notna(coded.quality)
    present = int(tally[present_values].sum())
    out = QualityCounts(rows=rows, missing=rows - present, present=present)
    out.unseen = int(tally[coded.unseen].sum())
    if out.unseen:
        out.unseen_labels.add(coded.quality[coded.unseen & (tally > 0)].tolist())
    return out


def _coded_labels(coded: Coded, tally: np.ndarray) -> dict[str, int]:
    """``label_counts`` of a coded feature's typed values, from how many hold each value."""
    counts: dict[str, int] = {}
    for label, count in zip(coded.typed.tolist(), tally.tolist(), strict=True):
        if label is None or not count:
            continue
        key = category_label(label)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _percentiles(counts: ValueCounts) -> list[float]:
    """``np.percentile(values, [50, 95, 99])`` of the counted values."""
    if len(counts) <= REPEAT_MAX:
        return [float(v) for v in np.percentile(counts.sorted_values(), _PERCENTILES)]
    values, how_many = counts.distinct()
    ends = np.cumsum(how_many)
    n = int(ends[-1])
    out = []
    for q in _PERCENTILES:  # numpy's "linear" method, its own arithmetic
        quantile = q / 100
        virtual = n * quantile + (1 + quantile * -1) - 1
        below = int(np.floor(virtual))
        gamma = virtual - below
        lo, hi = min(max(below, 0), n - 1), min(max(below + 1, 0), n - 1)
        a = values[np.searchsorted(ends, lo, side="right")]
        b = values[np.searchsorted(ends, hi, side="right")]
        diff = b - a
        out.append(float(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma))
    return out
