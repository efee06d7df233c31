"""The statistics behind the drift tests, each exact to 1e-9 against scipy but faster.

scipy sorts and merges both samples again on every call, and monitoring compares the same
reference with many windows, so:

* ``ks_sorted`` takes both samples already sorted. With a large reference it needs only
  binary searches of the (sorted) live values in the reference.
* ``wasserstein_sorted`` integrates the difference of the two quantile functions over the
  merged grid of breakpoints ``i/n`` and ``j/m``, built chunk by chunk from integer
  arithmetic, so nothing of size n + m is sorted or held.
* ``chi_square_homogeneity`` is Pearson's test on the 2 x k table of counts (both sides are
  samples; see ``steadyml.monitoring.drift`` for why not goodness of fit).
* ``psi_index`` is the population stability index on shares, with empty shares set to
  ``PSI_EPSILON`` so the logarithm stays finite.

What the numbers mean and when they call drift is ``steadyml.monitoring.drift``'s job.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
from scipy import stats

__all__ = [
    "PSI_EPSILON",
    "chi_square_homogeneity",
    "ks_counts",
    "ks_sorted",
    "psi_index",
    "wasserstein_counts",
    "wasserstein_sorted",
]

PSI_EPSILON = 1e-4
_KS_EXACT_MAX = 10_000  # scipy's ks_2samp switches from exact to asymptotic above this
_CHUNK = 1 << 16
_WARNINGS_LOCK = threading.Lock()


def ks_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """Two-sample KS statistic and p-value of two sorted samples, equal to
    ``scipy.stats.ks_2samp`` (two-sided)."""
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


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
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


def ks_counts(ref: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[float, float]:
    """``ks_sorted(ref, np.repeat(values, counts))`` without building the repeated sample:
    ``values`` sorted and distinct, ``counts`` how often each occurs (all above zero).

    The ECDF difference only changes at the distinct values, so the same differences are
    taken as in ``ks_sorted`` (the statistic is the same float); small samples go through
    ``ks_sorted`` itself for scipy's exact p-value.
    """
    n, m = len(ref), int(counts.sum())
    if max(n, m) <= _KS_EXACT_MAX:
        return ks_sorted(ref, np.repeat(values, counts))
    right_r = np.searchsorted(ref, values, side="right") / n
    left_r = np.searchsorted(ref, values, side="left") / n
    cum = np.cumsum(counts)
    right_c = cum / m
    left_c = (cum - counts) / m
    max_s = max(float(np.max(right_r - right_c)), float(np.max(left_r - left_c)), 0.0)
    min_s = max(float(np.max(right_c - right_r)), float(np.max(left_c - left_r)), 0.0)
    d = min(min_s, 1.0) if min_s > max_s else max_s
    big, small = max(n, m), min(n, m)
    p = float(stats.kstwo.sf(d, np.round(big * small / (big + small))))
    return d, min(max(p, 0.0), 1.0)


def wasserstein_counts(u: np.ndarray, values: np.ndarray, counts: np.ndarray) -> float:
    """``wasserstein_sorted(u, np.repeat(values, counts))`` without building the repeated
    sample (equal to 1e-12): the integral of |Fu - Fv| over the merged distinct points, as
    ``scipy.stats.wasserstein_distance`` takes it with weights. Memory: O(len(u) + len(values)).
    """
    n, m = len(u), int(counts.sum())
    if n == 0 or m == 0:
        return float("nan")
    points = np.concatenate((u, values))
    points.sort(kind="mergesort")
    widths = np.diff(points)
    at = points[:-1]
    f_u = np.searchsorted(u, at, side="right") / n
    cum = np.concatenate(([0], np.cumsum(counts)))
    f_v = cum[np.searchsorted(values, at, side="right")] / m
    return float(np.sum(np.abs(f_u - f_v) * widths))


def chi_square_homogeneity(r: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """Pearson's chi-square on the 2 x k table, as ``chi2_contingency(correction=False)``."""
    keep = (r + c) > 0
    if int(keep.sum()) < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(np.vstack((r[keep], c[keep])), correction=False)
    return float(res.statistic), float(res.pvalue)


def psi_index(ref_share: np.ndarray, cur_share: np.ndarray) -> float | None:
    """The population stability index of two share vectors; None when it cannot be taken."""
    if len(ref_share) == 0 or len(cur_share) != len(ref_share) or cur_share.sum() == 0:
        return None
    r = np.where(ref_share == 0, PSI_EPSILON, ref_share)
    c = np.where(cur_share == 0, PSI_EPSILON, cur_share)
    return float(np.sum((c - r) * np.log(c / r)))
