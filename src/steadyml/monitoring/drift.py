"""Drift: does a window of live data still look like the data the model learned from?

Each feature gets one test, chosen by the size of the live window (``DriftSettings``):

* fewer than ``min_samples`` values on either side: "not enough data", never drift;
* small windows (under ``large_sample`` current values) get a p-value test, drift when
  ``p < p_value``: numeric columns the two-sample Kolmogorov-Smirnov test (equal to
  ``scipy.stats.ks_2samp``), categorical columns a chi-square test of homogeneity on the
  2 x k table of counts (equal to ``scipy.stats.chi2_contingency(table, correction=False)``);
* large windows get a distance, drift when it is above ``distance``: numeric columns the
  Wasserstein distance divided by the reference's standard deviation (``np.std``, ddof=0,
  at least 0.001, as Evidently does), categorical columns the Jensen-Shannon distance of the
  category shares (natural logarithm, empty shares left at zero, as Evidently does). With
  thousands of rows every p-value test calls tiny, harmless shifts "significant"; a distance
  says how far the data moved. A distance over the line counts as drift only if the small-
  window test agrees it is not chance (KS or chi-square ``p < p_value``; ``p_value`` then
  holds that p). Near 1,000 rows a distance alone crosses 0.1 by chance far too often: 40
  categories at 1,000 rows per side, 44% of windows with no drift at all (the
  Jensen-Shannon divergence is about chi-square / (8 n m / (n + m))); numeric columns up to
  7%. With the p-value as well, false alarms stay under ``p_value``; on large windows the
  p-value is tiny for any real shift, so the distance decides. (Evidently uses the distance
  alone.)

Why homogeneity and not Evidently's chi-square: Evidently tests the live counts for goodness
of fit against the reference *shares*, as if those were known exactly. They are themselves a
sample, so at 300-1,000 rows per side that test raises false alarms 27-91% of the time
(``bench/drift.py`` measures it). The homogeneity test treats both sides as samples and keeps
its false-alarm rate at ``p_value``.

PSI (population stability index) is shown as an extra score, on the reference's ten quantile
bins with the first and last bins extended to -inf and +inf (categorical: on the category
shares); an empty bin gets the share ``PSI_EPSILON`` (1e-4) so the logarithm stays finite. A
PSI above ``settings.psi`` is flagged (``psi_flagged`` and a note in the message) but does not
decide ``drifted``: PSI has no sample-size correction, so on small windows with many bins or
categories it exceeds 0.2 by chance alone (40 categories at 300 rows: about 95% of the time
with no drift at all, measured by ``bench/drift.py``).

The statistics themselves, exact to 1e-9 against scipy but faster on a reference kept
sorted, live in ``steadyml.monitoring.drift_stats``; the references (built once from values or
from the summary stored with a model version) in ``steadyml.monitoring.references``. Missing
values (None, NaN) and infinities are left out of the tests (data quality reports them); the
``n_reference`` and ``n_current`` counts are of the values tested. Categorical values are
compared by their canonical labels (``steadyml.training.reference.category_label``: 1, 1.0,
"1" and "1.0" are one category), on both sides; ``steadyml.monitoring.inputs`` first reads
logged values in the contract's type.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import distance

from steadyml.monitoring.drift_stats import (
    PSI_EPSILON,
    chi_square_homogeneity,
    ks_counts,
    ks_sorted,
    psi_index,
    wasserstein_counts,
    wasserstein_sorted,
)
from steadyml.monitoring.references import (
    CategoricalReference,
    NumericReference,
    PredictionReference,
    bin_shares,
    category_counts,
    finite_values,
)
from steadyml.monitoring.tally import REPEAT_MAX, ValueCounts
from steadyml.training.reference import OTHER, category_labels

__all__ = [
    "DriftSettings",
    "FeatureDrift",
    "NumericReference",
    "CategoricalReference",
    "numeric_drift",
    "categorical_drift",
    "drift_table",
    "prediction_drift",
    "PSI_EPSILON",
]

_MIN_STD = 0.001  # Evidently's floor for the Wasserstein normalisation
_HISTOGRAM_CATEGORIES = 30
_REST = "(all other categories)"
_SUPPORT = {"wasserstein": "KS", "jensen_shannon": "chi-square"}


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds for the drift tests; see the module docstring for what each one means."""

    p_value: float = 0.01
    distance: float = 0.1
    psi: float = 0.2
    min_samples: int = 200
    large_sample: int = 1000

    def __post_init__(self) -> None:
        if not 0.0 < self.p_value < 1.0:
            raise ValueError(f"p_value must be between 0 and 1. Got {self.p_value!r} instead.")
        for name in ("distance", "psi"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be above 0. Got {getattr(self, name)!r} instead.")
        if self.min_samples < 1 or self.large_sample < 1:
            raise ValueError(
                "min_samples and large_sample must be at least 1. "
                f"Got {self.min_samples!r} and {self.large_sample!r} instead."
            )


@dataclass
class FeatureDrift:
    """The drift verdict for one feature, with what a chart and a sentence need."""

    feature: str
    kind: str
    test: str | None
    statistic: float | None
    p_value: float | None
    threshold: float
    threshold_kind: str
    drifted: bool | None
    n_reference: int
    n_current: int
    psi: float | None
    status: str
    message: str
    histogram: dict[str, Any] = field(default_factory=dict)
    psi_flagged: bool | None = None  # PSI above settings.psi; None when not computed

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: plain floats and ints, None for NaN."""
        return _plain(asdict(self))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the tests


def numeric_drift(
    name: str, ref: NumericReference, current: Any, settings: DriftSettings
) -> FeatureDrift:
    """Compare one numeric live column with its reference (KS or normalised Wasserstein).

    ``current``: the values, or their ``ValueCounts`` (a window read a piece at a time; the
    numbers are the same).
    """
    if isinstance(current, ValueCounts) and len(current) > REPEAT_MAX:
        return _numeric_drift_counts(name, ref, current, settings)
    if isinstance(current, ValueCounts):
        cur = current.sorted_values()
        cur = cur[np.isfinite(cur)]
    else:
        cur = finite_values(current)
        cur.sort()
    n, m = len(ref.values), len(cur)
    histogram = _numeric_histogram(ref, cur)
    psi = psi_index(np.asarray(histogram["reference"]), np.asarray(histogram["current"]))
    if min(n, m) < settings.min_samples:
        return _not_enough(name, "numeric", n, m, settings, histogram)
    if m >= settings.large_sample:
        wd = wasserstein_sorted(ref.values, cur) / max(ref.std, _MIN_STD)
        # the KS p-value confirms a distance over the line is not chance; below it, skip
        p_ks = ks_sorted(ref.values, cur)[1] if wd > settings.distance else None
        return _verdict(name, "numeric", "wasserstein", wd, p_ks, n, m, psi, settings, histogram)
    statistic, p = ks_sorted(ref.values, cur)
    return _verdict(name, "numeric", "ks", statistic, p, n, m, psi, settings, histogram)


def _numeric_drift_counts(
    name: str, ref: NumericReference, current: ValueCounts, settings: DriftSettings
) -> FeatureDrift:
    """``numeric_drift`` on counts of many values, without repeating them."""
    values, counts = current.distinct()
    finite = np.isfinite(values)
    values, counts = values[finite], counts[finite]
    n, m = len(ref.values), int(counts.sum())
    histogram = _numeric_histogram(ref, np.empty(0), (values, counts))
    psi = psi_index(np.asarray(histogram["reference"]), np.asarray(histogram["current"]))
    if min(n, m) < settings.min_samples:
        return _not_enough(name, "numeric", n, m, settings, histogram)
    if m >= settings.large_sample:
        wd = wasserstein_counts(ref.values, values, counts) / max(ref.std, _MIN_STD)
        p_ks = ks_counts(ref.values, values, counts)[1] if wd > settings.distance else None
        return _verdict(name, "numeric", "wasserstein", wd, p_ks, n, m, psi, settings, histogram)
    statistic, p = ks_counts(ref.values, values, counts)
    return _verdict(name, "numeric", "ks", statistic, p, n, m, psi, settings, histogram)


def categorical_drift(
    name: str, ref: CategoricalReference, current: Any, settings: DriftSettings
) -> FeatureDrift:
    """Compare one categorical live column with its reference (chi-square or Jensen-Shannon).

    ``current``: the values, or their counts per canonical label (a mapping).
    """
    live = dict(current) if isinstance(current, Mapping) else category_counts(current)
    if ref.has_other:
        folded: dict[str, int] = {}
        for label, count in live.items():
            key = label if label in ref.counts else OTHER
            folded[key] = folded.get(key, 0) + count
        live = folded
    labels = list(ref.counts) + [k for k in live if k not in ref.counts]
    r = np.array([ref.counts.get(k, 0) for k in labels], dtype=float)
    c = np.array([live.get(k, 0) for k in labels], dtype=float)
    n, m = int(r.sum()), int(c.sum())
    r_share = r / n if n else r
    c_share = c / m if m else c
    histogram = _categorical_histogram(labels, r_share, c_share)
    psi = psi_index(r_share, c_share) if n and m else None
    if min(n, m) < settings.min_samples:
        return _not_enough(name, "categorical", n, m, settings, histogram)
    statistic, p = chi_square_homogeneity(r, c)
    if m >= settings.large_sample:
        js = float(distance.jensenshannon(r_share, c_share))
        return _verdict(
            name, "categorical", "jensen_shannon", js, p, n, m, psi, settings, histogram
        )
    return _verdict(name, "categorical", "chi_square", statistic, p, n, m, psi, settings, histogram)


def drift_table(
    references: Mapping[str, NumericReference | CategoricalReference],
    current: pd.DataFrame,
    settings: DriftSettings,
    *,
    threads: int | None = None,
) -> list[FeatureDrift]:
    """One verdict per reference column present in ``current``, in the order of ``references``.

    Columns run in parallel threads (numpy and scipy release the GIL while they sort and
    search); ``threads`` defaults to the number of CPU cores.
    """
    names = [name for name in references if name in current.columns]

    def one(name: str) -> FeatureDrift:
        ref = references[name]
        if isinstance(ref, NumericReference):
            return numeric_drift(name, ref, current[name], settings)
        return categorical_drift(name, ref, current[name], settings)

    workers = max(1, min(threads or os.cpu_count() or 1, len(names)))
    if workers == 1:
        return [one(name) for name in names]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, names))


def prediction_drift(
    reference: PredictionReference, scored: pd.DataFrame, settings: DriftSettings
) -> FeatureDrift:
    """Compare the model's answers in ``scored`` (prediction log rows) with its training
    answers: a numeric reference reads its column as numbers, a categorical one as labels."""
    column = scored[reference.column]
    if isinstance(reference.reference, NumericReference):
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        return numeric_drift(reference.name, reference.reference, values, settings)
    labels = category_labels(column)
    return categorical_drift(reference.name, reference.reference, labels, settings)


# ---------------------------------------------------------------- verdicts and messages


def _verdict(
    name: str,
    kind: str,
    test: str,
    statistic: float,
    p: float | None,
    n: int,
    m: int,
    psi: float | None,
    settings: DriftSettings,
    histogram: dict[str, Any],
) -> FeatureDrift:
    if test in ("wasserstein", "jensen_shannon"):
        threshold, threshold_kind = settings.distance, "distance"
        test_drift = statistic > threshold and p is not None and p < settings.p_value
        if test == "wasserstein":
            what = f"Wasserstein distance {statistic:.2g} of a standard deviation"
        else:
            what = f"Jensen-Shannon distance {statistic:.2g} between the category shares"
        reading = f"{what} (line: {threshold:g})"
        if statistic > threshold and p is not None and not test_drift:
            reading += (
                f", but with {m:,} values a distance this size can be chance "
                f"({_SUPPORT[test]} p = {p:.2g}, line: {settings.p_value:g})"
            )
    else:
        threshold, threshold_kind = settings.p_value, "p_value"
        test_drift = p is not None and p < threshold
        label = "KS" if test == "ks" else "chi-square"
        reading = (
            f"the {label} test gives p = {p:.2g} (line: {threshold:g}); a small p means a "
            "difference this large is unlikely to be chance"
        )
    psi_flagged = psi is not None and psi > settings.psi
    drifted = bool(test_drift)
    verb = "moved" if drifted else "looks stable"
    message = f"{name} {verb}: {reading}"
    if psi_flagged:
        message += f"; its PSI {psi:.2g} is above {settings.psi:g}, worth a look"
    return FeatureDrift(
        feature=name,
        kind=kind,
        test=test,
        statistic=float(statistic),
        p_value=p,
        threshold=threshold,
        threshold_kind=threshold_kind,
        drifted=drifted,
        n_reference=n,
        n_current=m,
        psi=psi,
        status="drift" if drifted else "ok",
        message=message + ".",
        histogram=histogram,
        psi_flagged=psi_flagged if psi is not None else None,
    )


def _not_enough(
    name: str, kind: str, n: int, m: int, settings: DriftSettings, histogram: dict[str, Any]
) -> FeatureDrift:
    side, count = ("live", m) if m < settings.min_samples else ("reference", n)
    large = m >= settings.large_sample
    return FeatureDrift(
        feature=name,
        kind=kind,
        test=None,
        statistic=None,
        p_value=None,
        threshold=settings.distance if large else settings.p_value,
        threshold_kind="distance" if large else "p_value",
        drifted=None,
        n_reference=n,
        n_current=m,
        psi=None,
        status="not enough data",
        message=(
            f"{name} was not tested: it has {count} {side} values and a drift test needs "
            f"at least {settings.min_samples}."
        ),
        histogram=histogram,
    )


# ---------------------------------------------------------------- helpers


def _numeric_histogram(
    ref: NumericReference, cur: np.ndarray, counted: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, Any]:
    if len(ref.edges) == 0:
        return {"edges": [], "reference": [], "current": []}
    edges = [float(e) for e in ref.edges]
    if len(ref.shares) == 3 and len(edges) <= 2:  # constant reference: below, at, above
        edges = [edges[0]] * 4
    shares = (
        bin_shares(cur, ref.edges)
        if counted is None
        else bin_shares(counted[0], ref.edges, counted[1])
    )
    return {
        "edges": edges,
        "reference": [float(s) for s in ref.shares],
        "current": [float(s) for s in shares],
    }


def _categorical_histogram(
    labels: list[str], ref_share: np.ndarray, cur_share: np.ndarray
) -> dict[str, Any]:
    order = sorted(range(len(labels)), key=lambda i: (-max(ref_share[i], cur_share[i]), labels[i]))
    shown, rest = order[:_HISTOGRAM_CATEGORIES], order[_HISTOGRAM_CATEGORIES:]
    categories = [labels[i] for i in shown]
    reference = [float(ref_share[i]) for i in shown]
    current = [float(cur_share[i]) for i in shown]
    if rest:
        categories.append(_REST)
        reference.append(float(sum(ref_share[i] for i in rest)))
        current.append(float(sum(cur_share[i] for i in rest)))
    return {"categories": categories, "reference": reference, "current": current}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value
