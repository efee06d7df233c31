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

Fast paths, each exact to 1e-9 against scipy, because scipy sorts and merges both samples
again on every call and monitoring compares the same reference with many windows:

* ``NumericReference`` keeps its values sorted once. KS with a large reference then needs
  only binary searches of the (sorted) live values; Wasserstein integrates the difference of
  the two quantile functions over the merged grid of breakpoints ``i/n`` and ``j/m``, built
  chunk by chunk from integer arithmetic, so nothing of size n + m is sorted or held.
* Category counts come from one hash pass over the raw column (``value_counts``); only the
  distinct labels are turned into strings, not every value.

Missing values (None, NaN) and infinities are left out of the tests (data quality reports
them); the ``n_reference`` and ``n_current`` counts are of the values tested. Categorical
values are compared as strings. ``from_summary`` rebuilds a reference from the compact summary
stored with a model (``steadyml.training.reference``): numeric tests then use its sample of up
to 1,000 values (the bins and the standard deviation come from the full training column).
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from steadyml.training.reference import OTHER

__all__ = [
    "DriftSettings",
    "FeatureDrift",
    "NumericReference",
    "CategoricalReference",
    "numeric_drift",
    "categorical_drift",
    "drift_table",
    "PSI_EPSILON",
]

PSI_EPSILON = 1e-4
_BINS = 10
_MIN_STD = 0.001  # Evidently's floor for the Wasserstein normalisation
_KS_EXACT_MAX = 10_000  # scipy's ks_2samp switches from exact to asymptotic above this
_CHUNK = 1 << 16
_HISTOGRAM_CATEGORIES = 30
_REST = "(all other categories)"
_WARNINGS_LOCK = threading.Lock()
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


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class NumericReference:
    """A numeric reference column: its sorted values, standard deviation and quantile bins."""

    values: np.ndarray  # sorted, finite
    std: float  # ddof=0, of the full reference column
    edges: np.ndarray  # distinct 10-bin quantile edges, as in steadyml.training.reference
    shares: np.ndarray  # reference share per bin (first/last bins open-ended)

    @classmethod
    def from_values(cls, values: Any) -> NumericReference:
        """Keep the sorted finite values of the full reference column (NaN and inf ignored)."""
        present = _finite(values)
        present.sort()
        if len(present) == 0:
            empty = np.array([], dtype=float)
            return cls(present, 0.0, empty, empty)
        edges = np.unique(np.quantile(present, np.linspace(0.0, 1.0, _BINS + 1)))
        return cls(present, float(np.std(present)), edges, _bin_shares(present, edges))

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> NumericReference:
        """From ``steadyml.training.reference.numeric_summary``: the tests use its sample."""
        sample = np.sort(np.asarray(summary.get("sample") or [], dtype=float))
        edges = np.asarray(summary.get("quantiles") or [], dtype=float)
        counts = np.asarray(summary.get("bin_counts") or [], dtype=float)
        present = _present_count(summary)
        std = summary.get("std_population")
        if std is None:  # older summaries hold the sample std (ddof=1) only
            std1 = float(summary.get("std") or 0.0)
            std = std1 * math.sqrt((present - 1) / present) if present > 1 else 0.0
        if len(edges) and len(edges) == len(counts) + 1 and counts.sum() > 0:
            shares = counts / counts.sum()
            if len(edges) == 2 and edges[0] == edges[1]:  # a constant column
                shares = np.array([0.0, 1.0, 0.0])
        else:
            edges = np.array([], dtype=float)
            shares = np.array([], dtype=float)
        return cls(sample, float(std), edges, shares)


@dataclass(frozen=True)
class CategoricalReference:
    """A categorical reference column: exact counts per category (labels as strings)."""

    counts: dict[str, int]
    has_other: bool = False  # live values outside the top list fall into "__other__"

    @classmethod
    def from_values(cls, values: Any) -> CategoricalReference:
        return cls(_category_counts(values))

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> CategoricalReference:
        """From the categorical summary in ``steadyml.training.reference``.

        Uses its exact ``counts`` when present; older summaries hold only shares, which are
        turned back into counts with the number of non-missing training values.
        """
        exact = summary.get("counts")
        if exact:
            counts = {str(k): int(v) for k, v in exact.items()}
        else:
            present = _present_count(summary)
            freq = summary.get("frequencies") or {}
            counts = {str(k): round(float(v) * present) for k, v in freq.items()}
        counts = {k: v for k, v in counts.items() if v > 0}
        return cls(counts, OTHER in counts)


# ---------------------------------------------------------------- the tests


def numeric_drift(
    name: str, ref: NumericReference, current: Any, settings: DriftSettings
) -> FeatureDrift:
    """Compare one numeric live column with its reference (KS or normalised Wasserstein)."""
    cur = _finite(current)
    cur.sort()
    n, m = len(ref.values), len(cur)
    histogram = _numeric_histogram(ref, cur)
    psi = _psi(np.asarray(histogram["reference"]), np.asarray(histogram["current"]))
    if min(n, m) < settings.min_samples:
        return _not_enough(name, "numeric", n, m, settings, histogram)
    if m >= settings.large_sample:
        wd = _wasserstein_sorted(ref.values, cur) / max(ref.std, _MIN_STD)
        # the KS p-value confirms a distance over the line is not chance; below it, skip
        p_ks = _ks_sorted(ref.values, cur)[1] if wd > settings.distance else None
        return _verdict(name, "numeric", "wasserstein", wd, p_ks, n, m, psi, settings, histogram)
    statistic, p = _ks_sorted(ref.values, cur)
    return _verdict(name, "numeric", "ks", statistic, p, n, m, psi, settings, histogram)


def categorical_drift(
    name: str, ref: CategoricalReference, current: Any, settings: DriftSettings
) -> FeatureDrift:
    """Compare one categorical live column with its reference (chi-square or Jensen-Shannon)."""
    live = _category_counts(current)
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
    psi = _psi(r_share, c_share) if n and m else None
    if min(n, m) < settings.min_samples:
        return _not_enough(name, "categorical", n, m, settings, histogram)
    statistic, p = _chi_square_homogeneity(r, c)
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


# ---------------------------------------------------------------- statistics


def _ks_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value, equal to ``scipy.stats.ks_2samp`` (two-sided)."""
    n, m = len(ref), len(cur)
    if max(n, m) <= _KS_EXACT_MAX:  # exact p-value: scipy's own code, on small inputs
        # with heavy ties scipy's exact count can fail; it then warns and uses the
        # asymptotic p-value, which is the answer we want too (the lock keeps the
        # process-wide warning filters consistent across drift_table's threads)
        with _WARNINGS_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "ks_2samp: Exact calculation", RuntimeWarning)
            res = stats.ks_2samp(ref, cur)
        return float(res.statistic), float(res.pvalue)
    # the ECDF difference only changes at data points: between two live values it is largest
    # just before the next one and smallest at the current one
    right_pos = np.searchsorted(ref, cur, side="right")
    left_pos = right_pos.copy()  # differs only where a live value also occurs in ref
    tied = (right_pos > 0) & (ref[np.maximum(right_pos - 1, 0)] == cur)
    left_pos[tied] = np.searchsorted(ref, cur[tied], side="left")
    right_r, left_r = right_pos / n, left_pos / n
    left_pos, right_pos = _tie_bounds(cur)
    right_c = right_pos / m
    left_c = left_pos / m
    max_s = max(float(np.max(right_r - right_c)), float(np.max(left_r - left_c)), 0.0)
    min_s = max(float(np.max(right_c - right_r)), float(np.max(left_c - left_r)), 0.0)
    d = min(min_s, 1.0) if min_s > max_s else max_s
    big, small = max(n, m), min(n, m)
    p = float(stats.kstwo.sf(d, np.round(big * small / (big + small))))
    return d, min(max(p, 0.0), 1.0)


def _tie_bounds(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``x``: ``searchsorted(x, x, "left")`` and ``(..., "right")`` in one pass."""
    first = np.concatenate(([True], x[1:] != x[:-1]))
    starts = np.flatnonzero(first)
    if len(starts) == len(x):  # no ties
        left = np.arange(len(x))
        return left, left + 1
    group = np.cumsum(first) - 1
    ends = np.append(starts[1:], len(x))
    return starts[group], ends[group]


def _wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """W1 of two sorted samples, equal to ``scipy.stats.wasserstein_distance``.

    W1 is the integral over t in (0, 1] of |Qu(t) - Qv(t)|, where the quantile functions
    step at i/n and j/m. In units of 1/(n*m) those breakpoints are the integers i*m and j*n.
    The grid is walked in chunks; inside a chunk each breakpoint's place in the merged order
    is counted with integer arithmetic, so nothing is sorted and memory stays O(chunk).
    """
    n, m = len(u), len(v)
    total_units = n * m
    steps = max(1, -(-(n + m) // _CHUNK))
    total = 0.0
    for k in range(steps):
        lo, hi = total_units * k // steps, total_units * (k + 1) // steps
        a_u, a_v = lo // m + 1, lo // n + 1
        i = np.arange(a_u, hi // m + 1, dtype=np.int64)  # u breakpoints i*m in (lo, hi]
        j = np.arange(a_v, hi // n + 1, dtype=np.int64)  # v breakpoints j*n in (lo, hi]
        v_at_i = -(-(i * m) // n)  # v's step count at i*m (ceil), u's at j*n below
        u_at_j = -(-(j * n) // m)
        grid = np.empty(len(i) + len(j) + 1, dtype=np.int64)
        gaps = np.empty(len(grid), dtype=float)
        pos_i = (i - a_u) + (v_at_i - a_v)  # a u breakpoint goes after the v ones below it
        pos_j = (j - a_v) + ((j * n) // m - a_u + 1)  # ... and before a v one it ties with
        grid[pos_i], grid[pos_j], grid[-1] = i * m, j * n, hi
        gaps[pos_i] = np.abs(u[i - 1] - v[v_at_i - 1])
        gaps[pos_j] = np.abs(u[u_at_j - 1] - v[j - 1])
        gaps[-1] = abs(u[-(-hi // m) - 1] - v[-(-hi // n) - 1])
        widths = np.diff(grid, prepend=lo).astype(float)
        total += float(np.sum(widths * gaps))  # not np.dot: BLAS threads stall drift_table
    return total / total_units


def _chi_square_homogeneity(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square on the 2 x k table, as ``chi2_contingency(correction=False)``."""
    keep = (r + c) > 0
    if int(keep.sum()) < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(np.vstack((r[keep], c[keep])), correction=False)
    return float(res.statistic), float(res.pvalue)


def _psi(ref_share: np.ndarray, cur_share: np.ndarray) -> float | None:
    if len(ref_share) == 0 or len(cur_share) != len(ref_share) or cur_share.sum() == 0:
        return None
    r = np.where(ref_share == 0, PSI_EPSILON, ref_share)
    c = np.where(cur_share == 0, PSI_EPSILON, cur_share)
    return float(np.sum((c - r) * np.log(c / r)))


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


def _finite(values: Any) -> np.ndarray:
    """A new float array of the finite values (strings and other junk count as missing)."""
    if isinstance(values, pd.Series):
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "fiub":
            arr = values.to_numpy()  # no copy for float64
        else:
            numbers = pd.to_numeric(values, errors="coerce")
            arr = numbers.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(values)
        if arr.dtype.kind not in "fiub":
            numbers = pd.to_numeric(pd.Series(arr, dtype=object), errors="coerce")
            arr = numbers.to_numpy(dtype=float, na_value=np.nan)
    arr = np.asarray(arr, dtype=float)
    finite = np.isfinite(arr)
    kept: np.ndarray = arr.copy() if finite.all() else arr[finite]  # a copy is cheaper
    return kept


def _category_counts(values: Any) -> dict[str, int]:
    """Counts per label as a string; the hash pass runs on the raw values, not on strings."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    counts: dict[str, int] = {}
    for label, count in series.value_counts(dropna=True, sort=False).items():
        if not count:  # a pandas Categorical lists unused categories with 0
            continue
        key = str(label)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _present_count(summary: Mapping[str, Any]) -> int:
    n = int(summary.get("n") or 0)
    return round(n * (1.0 - float(summary.get("missing_rate") or 0.0)))


def _bin_index_counts(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of sorted values; first and last bins open-ended.

    A constant reference (one edge) gets three bins: below, equal to and above the value.
    """
    if len(edges) == 1 or (len(edges) == 2 and edges[0] == edges[1]):
        cut = np.searchsorted(sorted_values, [edges[0], edges[0]], side="left")
        cut[1] = np.searchsorted(sorted_values, edges[0], side="right")
    else:
        cut = np.searchsorted(sorted_values, edges[1:-1], side="right")
    return np.diff(np.concatenate(([0], cut, [len(sorted_values)])))


def _bin_shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = _bin_index_counts(sorted_values, edges).astype(float)
    return counts / max(len(sorted_values), 1)


def _numeric_histogram(ref: NumericReference, cur: np.ndarray) -> dict[str, Any]:
    if len(ref.edges) == 0:
        return {"edges": [], "reference": [], "current": []}
    edges = [float(e) for e in ref.edges]
    if len(ref.shares) == 3 and len(edges) <= 2:  # constant reference: below, at, above
        edges = [edges[0]] * 4
    return {
        "edges": edges,
        "reference": [float(s) for s in ref.shares],
        "current": [float(s) for s in _bin_shares(cur, ref.edges)],
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
