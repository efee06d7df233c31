"""Decisive evidence: the exact tests that let a rollout guardrail FAIL before its minimum.

A step needs ``min_requests`` per arm before a check may PASS. A candidate that fails every
request, or answers the opposite of production, shows it long before: at 5 requests a second
a 10 % canary answers 500 requests in 17 minutes, while five failures in five requests already
leave no doubt. These functions say how sure such a reading is, so that a check may FAIL early
on overwhelming evidence and never on chance.

Each function returns a p-value for the null hypothesis "the candidate is within the limit",
computed exactly (no normal or chi-square approximation: those are wrong at the small counts
an early reading has, which is where an early failure would be decided):

* ``failures_beyond``: H0 "the candidate's failure rate is at most production's plus
  ``margin``", an exact unconditional test of the difference of two binomial proportions
  (Berger and Boos: the nuisance rate of production is maximised over its ``1 - gamma``
  confidence interval and ``gamma`` is added);
* ``disagreement_beyond``: H0 "the two models disagree on at most ``1 - min_agreement`` of
  the requests", a one-sided exact binomial test on the requests both answered;
* ``distance_lower_bound``: not a p-value but the lowest Jensen-Shannon distance between the
  two arms' predictions that is consistent with the counts (Clopper-Pearson intervals for
  every class and arm, Bonferroni across them, then each class against the rest, which never
  exceeds the full distance). A candidate whose true distance is within the limit has this
  bound above the limit with probability at most ``alpha``.

Used with ``ALPHA`` (1e-6), a candidate that is truly within a limit is failed early by one
reading with probability at most 1e-6 per check; a step is read once per evaluation
interval, so over the at most N readings before ``min_requests`` it is at most N x 1e-6 (the
readings share their rows, so far less in fact). The requests of a step are taken as
independent draws of the traffic: traffic that repeats one customer many times makes them
less independent than they look.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["ALPHA", "MIN_EVENTS", "disagreement_beyond", "distance_lower_bound",
           "failures_beyond"]  # fmt: skip

#: the largest p-value that fails a check before ``min_requests`` (per check, per reading)
ALPHA = 1e-6
#: the fewest failures (or disagreements) that may fail a check early: never one in three
MIN_EVENTS = 5
_GRID = 201  # production rates tried within its confidence interval
_TAIL = 1e-12  # production counts this unlikely at every rate tried are left out (and added)


def failures_beyond(cand_failed: int, cand_n: int, prod_failed: int, prod_n: int,
                    margin: float, *, gamma: float = ALPHA / 10) -> float:  # fmt: skip
    """p-value of H0 "candidate failure rate <= production's + ``margin``" (exact, one-sided).

    The statistic is the observed difference of the two shares; its tail probability is
    largest on the boundary (the candidate's rate exactly production's + ``margin``), and
    production's rate is the nuisance: the tail is maximised over a grid of rates within
    production's ``1 - gamma`` Clopper-Pearson interval, and ``gamma`` is added."""
    if cand_n <= 0 or prod_n <= 0:
        return 1.0
    observed = cand_failed / cand_n - prod_failed / prod_n
    if observed <= margin:
        return 1.0
    low, high = _clopper_pearson(prod_failed, prod_n, gamma)
    high = min(high, 1.0 - margin)
    if high < low:  # production fails so often that H0 cannot be reached: nothing to show
        return 1.0
    rates = np.linspace(low, high, _GRID)[:, None]
    # production's counts that carry the mass at any rate tried (the rest is added)
    lo = int(stats.binom.ppf(_TAIL, prod_n, low))
    hi = int(stats.binom.isf(_TAIL, prod_n, high))
    x_p = np.arange(max(lo, 0), min(hi, prod_n) + 1)[None, :]
    weights = stats.binom.pmf(x_p, prod_n, rates)
    # the candidate's failures needed to reach the observed difference, for each x_p
    need = np.ceil(cand_n * (observed + x_p / prod_n) - 1e-9)
    tail = stats.binom.sf(need - 1, cand_n, np.minimum(rates + margin, 1.0))
    worst = float(np.max(np.sum(weights * tail, axis=1))) + 2 * _TAIL
    return min(worst + gamma, 1.0)


def disagreement_beyond(disagreed: int, shared: int, min_agreement: float) -> float:
    """p-value of H0 "the models disagree on at most 1 - ``min_agreement``" (exact)."""
    if shared <= 0 or disagreed <= 0:
        return 1.0
    return float(stats.binom.sf(disagreed - 1, shared, min(1.0 - min_agreement, 1.0)))


def distance_lower_bound(cand: np.ndarray, prod: np.ndarray, alpha: float = ALPHA) -> float:
    """The smallest Jensen-Shannon distance (base 2) between the arms' true distributions
    that the counts ``cand`` and ``prod`` (per class or bin) leave open at level ``alpha``."""
    cand = np.asarray(cand, dtype=float)
    prod = np.asarray(prod, dtype=float)
    nc, np_ = int(cand.sum()), int(prod.sum())
    if nc == 0 or np_ == 0:
        return 0.0
    each = alpha / (2 * len(cand))  # Bonferroni over every class of both arms
    best = 0.0
    for c, p in zip(cand, prod, strict=True):
        lc, uc = _clopper_pearson(int(c), nc, each)
        lp, up = _clopper_pearson(int(p), np_, each)
        if uc < lp:
            a, b = uc, lp
        elif lc > up:
            a, b = lc, up
        else:
            continue  # the intervals meet: this class alone shows no distance
        best = max(best, _binary_js(a, b))
    return best


def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    """The exact two-sided ``1 - alpha`` interval of a binomial share."""
    low = 0.0 if k <= 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k >= n else float(stats.beta.isf(alpha / 2, k + 1, n - k))
    return low, high


def _binary_js(a: float, b: float) -> float:
    """The Jensen-Shannon distance (base 2) of Bernoulli(a) and Bernoulli(b)."""

    def h(x: float) -> float:
        return 0.0 if x <= 0 or x >= 1 else -(x * math.log2(x) + (1 - x) * math.log2(1 - x))

    return math.sqrt(max(h((a + b) / 2) - (h(a) + h(b)) / 2, 0.0))
