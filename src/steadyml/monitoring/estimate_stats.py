"""The statistics under performance estimation: exact Poisson-binomial quantiles and a
parametric bootstrap of the labels, both over scores given as distinct values with counts.

Under calibration each row's label is an independent coin with its own chance: the number of
right answers in a window is Poisson-binomial (Kivimäki et al. 2024, arXiv 2407.08649).
``poisson_binomial_interval`` computes its quantiles exactly: rows sharing a chance form one
binomial, the binomials are convolved (FFT) one after another, each kept to its mean ± 12
standard deviations (the mass left out is below 1e-30). Isotonic calibration leaves a few
hundred distinct chances at most; with more than ``EXACT_GROUPS`` distinct chances the
refined normal approximation (Volkova 1996; error of order 1/n: with more than 4,096
distinct chances there are more than 4,096 rows) is used instead, and the method says so.
``accuracy_precision_intervals`` gives both intervals from one computation: the true
positives' distribution is precision's, and convolved with the true negatives' (the mirror of
the false negatives') it is accuracy's.

``bootstrap_labels`` draws the labels of bins of neighbouring scores; a bin whose binomial has
a variance of at least ``NORMAL_DRAW_VARIANCE`` is drawn from the normal with its mean and
variance (numpy draws a binomial with a small failure count by inversion, a loop per draw:
2.7 of the 4.2 ms of a million-row window), the others exactly.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "BOOTSTRAP_DRAWS",
    "EXACT_GROUPS",
    "NORMAL_DRAW_VARIANCE",
    "accuracy_precision_intervals",
    "bootstrap_labels",
    "grouped",
    "poisson_binomial_interval",
    "poisson_binomial_pmf",
]

EXACT_GROUPS = 4096
BOOTSTRAP_DRAWS = 300
BOOTSTRAP_GROUPS = 250
NORMAL_DRAW_VARIANCE = 4.0  # a bin whose binomial has a variance of at least this: normal draws
_K = 12.0


def grouped(values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``values`` (sorted) and the summed ``counts`` of each."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, np.bincount(inverse, weights=counts, minlength=len(distinct))


def _binomial_window(c: int, q: float) -> tuple[int, np.ndarray]:
    """The Binomial(c, q) probabilities over its mean ± 12 sd, from log-gamma (one ufunc
    call per term: scipy.stats' ``binom.pmf`` spends more time checking its arguments than
    computing; the values agree to about 1e-9 relative at a million rows)."""
    from scipy.special import gammaln

    mean, sd = c * q, math.sqrt(c * q * (1 - q))
    lo = max(0, math.floor(mean - _K * sd - 1))
    hi = min(c, math.ceil(mean + _K * sd + 1))
    k = np.arange(lo, hi + 1, dtype=float)
    log = gammaln(c + 1.0) - gammaln(k + 1.0) - gammaln(c - k + 1.0)
    log += k * math.log(q) + (c - k) * math.log1p(-q)
    return lo, np.exp(log)


def _coins(q: np.ndarray, width: int = 64) -> list[tuple[int, np.ndarray, float, float]]:
    """Single rows (one coin each) multiplied in pairs, all pairs of a level at once, until
    each product spans ``width`` counts: a few parts for the tree to merge, not thousands."""
    if not len(q):
        return []
    polys = np.stack([1.0 - q, q], axis=1)
    while len(polys) > 1 and polys.shape[1] < width:
        if len(polys) % 2:  # the identity polynomial pairs the last one
            one = np.zeros((1, polys.shape[1]))
            one[0, 0] = 1.0
            polys = np.vstack([polys, one])
        a, b = polys[0::2], polys[1::2]
        size = polys.shape[1]
        out = np.zeros((len(a), 2 * size - 1))
        for j in range(size):
            out[:, j : j + size] += a[:, j : j + 1] * b
        polys = out
    means = polys @ np.arange(polys.shape[1])
    second = polys @ np.arange(polys.shape[1]) ** 2
    return [
        (0, polys[i], float(means[i]), float(second[i] - means[i] ** 2)) for i in range(len(polys))
    ]


def _exact_cdf(q: np.ndarray, c: np.ndarray) -> tuple[int, np.ndarray]:
    """(offset, pmf) of the Poisson-binomial sum, over its mean ± 12 sd: one binomial per
    distinct chance, merged in pairs (a balanced tree of FFT convolutions)."""
    from scipy.signal import fftconvolve

    parts: list[tuple[int, np.ndarray, float, float]] = []  # offset, pmf, mean, variance
    ci_all = c.astype(np.int64)
    certain = int(ci_all[(q >= 1.0) & (ci_all > 0)].sum())
    coin = (ci_all == 1) & (q > 0.0) & (q < 1.0)  # single rows: merged in batches first
    parts.extend(_coins(q[coin]))
    for qi, ci in zip(q[~coin].tolist(), ci_all[~coin].tolist(), strict=True):
        if ci == 0 or qi <= 0.0 or qi >= 1.0:
            continue
        a, pmf = _binomial_window(ci, qi)
        parts.append((a, pmf, ci * qi, ci * qi * (1 - qi)))
    if not parts:
        return certain, np.ones(1)
    while len(parts) > 1:
        merged = []
        for i in range(0, len(parts) - 1, 2):
            (a1, f1, m1, v1), (a2, f2, m2, v2) = parts[i], parts[i + 1]
            big = len(f1) * len(f2) > 4096
            pmf = np.clip(fftconvolve(f1, f2) if big else np.convolve(f1, f2), 0.0, None)
            lo, mean, var = a1 + a2, m1 + m2, v1 + v2
            sd = math.sqrt(var)
            keep_lo = max(lo, math.floor(mean - _K * sd - 1))
            keep_hi = min(lo + len(pmf) - 1, math.ceil(mean + _K * sd + 1))
            merged.append((keep_lo, pmf[keep_lo - lo : keep_hi - lo + 1], mean, var))
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    lo, pmf, _, _ = parts[0]
    return lo + certain, pmf / pmf.sum()


def poisson_binomial_pmf(q: np.ndarray, counts: np.ndarray) -> tuple[int, np.ndarray] | None:
    """``(offset, pmf)`` of the number of successes Σ Bernoulli(q_i) over rows given as
    chances ``q`` with ``counts`` (exact), or None with more than ``EXACT_GROUPS`` chances."""
    q = np.asarray(q, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if len(q) > EXACT_GROUPS:
        return None
    q, counts = grouped(q, counts)
    return _exact_cdf(q, counts)


def _quantiles(lo: int, pmf: np.ndarray, n: float, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    cdf = np.cumsum(pmf)
    first = lo + int(np.searchsorted(cdf, alpha - 1e-12, side="left"))
    last = lo + int(np.searchsorted(cdf, 1 - alpha - 1e-12, side="left"))
    return first / n, min(last, int(n)) / n


def _convolve(a: tuple[int, np.ndarray], b: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
    from scipy.signal import fftconvolve

    (lo_a, f_a), (lo_b, f_b) = a, b
    big = len(f_a) * len(f_b) > 4096
    pmf = np.clip(fftconvolve(f_a, f_b) if big else np.convolve(f_a, f_b), 0.0, None)
    return lo_a + lo_b, pmf / pmf.sum()


def poisson_binomial_interval(
    q: np.ndarray, counts: np.ndarray, level: float = 0.95
) -> tuple[float, float, str]:
    """The central ``level`` interval of (Σ Bernoulli(q_i)) / n, rows given as distinct
    chances ``q`` with ``counts``. Returns (lower, upper, method)."""
    q = np.asarray(q, dtype=float)
    counts = np.asarray(counts, dtype=float)
    n = float(counts.sum())
    if n == 0:
        return float("nan"), float("nan"), "none"
    exact = poisson_binomial_pmf(q, counts)
    if exact is not None:
        return (*_quantiles(exact[0], exact[1], n, level), "exact Poisson-binomial")
    return _refined_normal(q, counts, n, level)


def accuracy_precision_intervals(
    p: np.ndarray, counts: np.ndarray, pred: np.ndarray, level: float = 0.95
) -> tuple[tuple[float, float, str], tuple[float, float, str] | None]:
    """The intervals of accuracy and precision of rows with calibrated chances ``p`` (groups
    of ``counts`` rows, answered positive where ``pred``), as ``poisson_binomial_interval``
    gives them, from one computation: the true positives' distribution (precision's) is
    convolved with the true negatives' (the mirror of the false negatives') for accuracy."""
    p = np.asarray(p, dtype=float)
    counts = np.asarray(counts, dtype=float)
    pred = np.asarray(pred, dtype=bool)
    n, n_pos = float(counts.sum()), float(counts[pred].sum())
    if len(p) > EXACT_GROUPS or n == 0:
        acc = poisson_binomial_interval(np.where(pred, p, 1 - p), counts, level)
        prec = poisson_binomial_interval(p[pred], counts[pred], level) if n_pos else None
        return acc, prec
    method = "exact Poisson-binomial"
    tp = poisson_binomial_pmf(p[pred], counts[pred]) if n_pos else (0, np.ones(1))
    fn = poisson_binomial_pmf(p[~pred], counts[~pred]) if n_pos < n else (0, np.ones(1))
    assert tp is not None and fn is not None  # at most EXACT_GROUPS chances on each side
    n_neg = round(n - n_pos)
    tn = (n_neg - (fn[0] + len(fn[1]) - 1), fn[1][::-1])  # TN = negatives - FN
    prec = (*_quantiles(tp[0], tp[1], n_pos, level), method) if n_pos else None
    lo, pmf = _convolve(tp, tn)
    return (*_quantiles(lo, pmf, n, level), method), prec


def _refined_normal(
    q: np.ndarray, counts: np.ndarray, n: float, level: float
) -> tuple[float, float, str]:
    from scipy.stats import norm

    alpha = (1 - level) / 2
    mean = float((q * counts).sum())
    var = float((q * (1 - q) * counts).sum())
    if var == 0:
        return mean / n, mean / n, "exact Poisson-binomial"
    sd = math.sqrt(var)
    gamma = float((q * (1 - q) * (1 - 2 * q) * counts).sum()) / sd**3

    def quantile(p: float) -> float:
        # invert the refined normal approximation G(x) = Φ(x) + γ(1 - x²)φ(x)/6 by Newton
        x = float(norm.ppf(p))
        for _ in range(20):
            g = norm.cdf(x) + gamma * (1 - x * x) * norm.pdf(x) / 6 - p
            dg = norm.pdf(x) * (1 + gamma * (x**3 - 3 * x) / 6)
            x -= g / dg if dg else 0.0
        return mean + sd * x - 0.5

    lower = max(0.0, float(math.ceil(quantile(alpha))))
    upper = min(n, float(math.ceil(quantile(1 - alpha))))
    return lower / n, upper / n, "refined normal approximation of the Poisson-binomial"


def _bins(p: np.ndarray, c: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` groups: equal-count bins of sorted ``p``, each at its mean chance."""
    if len(p) <= limit:
        return p, c
    ends = np.cumsum(c)
    bin_of = np.minimum((ends - c / 2) * limit / ends[-1], limit - 1).astype(int)
    weight = np.bincount(bin_of, weights=c, minlength=limit)
    mean = np.bincount(bin_of, weights=c * p, minlength=limit)
    used = weight > 0
    return mean[used] / weight[used], weight[used]


def _draw_binomials(
    rng: np.random.Generator, w: np.ndarray, q: np.ndarray, draws: int
) -> np.ndarray:
    """``draws`` rows of Binomial(w_j, q_j), one column per bin. A bin whose variance is at
    least ``NORMAL_DRAW_VARIANCE`` is drawn from the normal of the same mean and variance
    (kept within [0, w]): five times cheaper, and the sums and ranks the bootstrap takes of
    hundreds of bins do not tell the two apart; the other bins are drawn exactly."""
    var = w * q * (1 - q)
    big = var >= NORMAL_DRAW_VARIANCE
    if not big.any():
        return rng.binomial(w.astype(np.int64), q, size=(draws, len(q))).astype(float)
    out = np.empty((draws, len(q)))
    if not big.all():
        small = ~big
        out[:, small] = rng.binomial(
            w[small].astype(np.int64), q[small], size=(draws, int(small.sum()))
        )
    noise = rng.standard_normal((draws, int(big.sum())))
    noise *= np.sqrt(var[big])
    noise += w[big] * q[big]
    out[:, big] = np.clip(noise, 0.0, w[big])
    return out


def bootstrap_labels(
    p: np.ndarray, pred: np.ndarray, counts: np.ndarray, *, draws: int = BOOTSTRAP_DRAWS,
    seed: int = 0,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Recall, F1 and ROC AUC of ``draws`` sets of labels drawn from the calibrated chances
    ``p`` of groups of rows in the order of the model's scores (one group per distinct score;
    the rows predicted positive where ``pred``), with ``counts`` rows each. Beyond
    ``BOOTSTRAP_GROUPS`` groups per side, neighbours are merged into equal-count bins (a
    binomial at the bin's mean chance: a slightly wider spread than the rows' own)."""
    rng = np.random.default_rng(seed)
    p = np.asarray(p, dtype=float)
    counts = np.asarray(counts, dtype=float)
    pred = np.asarray(pred, dtype=bool)
    vn, wn = _bins(p[~pred], counts[~pred], BOOTSTRAP_GROUPS)
    vp, wp = _bins(p[pred], counts[pred], BOOTSTRAP_GROUPS)
    pos_n = _draw_binomials(rng, wn, vn, draws)
    pos_p = _draw_binomials(rng, wp, vp, draws)
    tp, fn = pos_p.sum(axis=1), pos_n.sum(axis=1)
    n_pos = float(wp.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / (tp + fn)
        f1 = 2 * tp / (n_pos + tp + fn)
    # ROC AUC over both sides in the order of the model's scores (each group one level: the
    # groups are distinct scores, or bins of neighbouring ones), ties within a group half
    w = np.concatenate([wn, wp])
    pos_g = np.concatenate([pos_n, pos_p], axis=1)
    neg_g = w[None, :] - pos_g
    above = pos_g[:, ::-1].cumsum(axis=1)[:, ::-1] - pos_g  # positives with a higher chance
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (neg_g * (above + 0.5 * pos_g)).sum(axis=1) / (pos_g.sum(axis=1) * neg_g.sum(axis=1))
    return {"recall": recall, "f1": f1, "roc_auc": auc}
