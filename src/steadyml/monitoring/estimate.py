"""Performance before the labels arrive: estimates with intervals, and when to distrust them.

Classification (a yes/no model): confidence-based performance estimation (CBPE, as NannyML
0.13 computes it). With calibrated scores ``p`` (the calibrator fitted at training time on
held-out rows, ``steadyml.training.calibration``) each row is positive with chance ``p``, so
the expected confusion matrix is ``TP = Σ p`` and ``FP = Σ (1 - p)`` over the rows predicted
positive, ``FN = Σ p`` and ``TN = Σ (1 - p)`` over the others; accuracy, precision, recall and
F1 follow, and ROC AUC is the area under the expected ROC curve. Intervals (95 %): accuracy
and precision exact (Poisson-binomial: the number of right answers is a sum of independent
coins), recall, F1 and ROC AUC by a parametric bootstrap of the labels
(``estimate_stats``). A cross-check: average thresholded confidence (ATC, Garg et al.),
reported where it disagrees with the accuracy estimate.

Regression: the error model's predicted absolute and squared errors (DLE), averaged; the
interval from the cross-fitted spread of its misses on held-out rows.

Every estimate carries its assumptions (``assess``): the model's calibration error on
held-out rows, the share of live rows outside what the reference covered, and the window's
size. When one fails the estimate is marked unreliable (``reliable: false`` with the
reasons); alert rules never raise a critical alert on an unreliable estimate alone.

The inputs are scores as distinct values with counts, so a window of a million rows is
estimated from its counts (``stream.WindowStats.prediction_values``), vectorised.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import numpy as np

from steadyml.monitoring.estimate_stats import (
    BOOTSTRAP_GROUPS,
    accuracy_precision_intervals,
    bootstrap_labels,
)
from steadyml.training.calibration import apply_calibration

__all__ = [
    "CLASSIFICATION_METRICS",
    "MAX_CALIBRATION_ERROR",
    "MAX_OUTSIDE_SUPPORT",
    "MIN_ESTIMATE_ROWS",
    "assess",
    "calibration_spread",
    "cbpe",
    "estimate_logged",
    "error_bins",
    "estimate_regression",
    "estimate_regression_sums",
    "expected_roc_auc",
    "score_groups",
]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
MAX_CALIBRATION_ERROR = 0.05  # ECE of the scores used (held-out rows) above this: unreliable
MAX_OUTSIDE_SUPPORT = 0.05  # share of live rows outside the reference above this: unreliable
MIN_ESTIMATE_ROWS = 100  # a window with fewer scored rows: unreliable
ATC_TOLERANCE = 0.02  # ATC and CBPE accuracy further apart than this (and the interval):
# reported as a disagreement


def expected_roc_auc(p: np.ndarray, counts: np.ndarray) -> float:
    """The area under the expected ROC curve: each row is a positive with weight ``p`` and a
    negative with weight ``1 - p``; rows ordered by ``p``, ties counted half (the trapezoid
    through every distinct threshold, from (0, 0) to (1, 1)). ``p`` sorted ascending."""
    if not len(p):
        return float("nan")
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    pos = np.add.reduceat(counts * p, starts)
    neg = np.add.reduceat(counts, starts) - pos
    above = pos[::-1].cumsum()[::-1] - pos
    total = pos.sum() * neg.sum()
    return float((neg * (above + 0.5 * pos)).sum() / total) if total > 0 else float("nan")


def _sorted_scores(
    scores: np.ndarray, counts: np.ndarray | None, calibration: Mapping[str, Any] | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(scores, counts, calibrated chances)`` sorted by score; one sort at most. The
    counts stay None when every value is one row (no array of ones is made), unless the
    rows repeat few distinct scores: then each distinct score is one group with its count."""
    s = np.asarray(scores, dtype=float)
    c = None if counts is None else np.asarray(counts, dtype=float)
    keep = np.isfinite(s) if c is None else np.isfinite(s) & (c > 0)
    if not keep.all():
        s = s[keep]
        c = None if c is None else c[keep]
    if len(s) > 1 and not (s[1:] >= s[:-1]).all():
        if c is None:
            s = np.sort(s)  # every count is one: the values alone
        else:
            order = np.argsort(s)
            s, c = s[order], c[order]
    if c is None and len(s) > 1:
        starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        if len(starts) * 4 < len(s):  # few distinct scores (a forest's): rows to counts
            c = np.diff(np.r_[starts, len(s)]).astype(float)
            s = s[starts]
    return s, c, apply_calibration(dict(calibration) if calibration else None, s)


def _runs(
    key: np.ndarray, c: np.ndarray | None, p: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    breaks = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    if 0 < k < len(key):
        breaks[k] = True
    starts = np.flatnonzero(breaks)
    if c is None:
        counts = np.diff(np.r_[starts, len(key)]).astype(float)
    else:
        counts = np.add.reduceat(c, starts) if len(starts) else c
    return p[starts], counts, starts >= k


def _score_bins(
    s: np.ndarray, c: np.ndarray | None, p: np.ndarray, k: int, limit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rows of each side (answered negative: ``[:k]``, positive: ``[k:]``) in at most
    ``limit`` bins of neighbouring scores each, never splitting equal scores: ``(mean
    chance, rows, pred, mean score)`` per bin, in score order. What the label bootstrap
    draws from (and the resampled calibration maps are applied to)."""
    chances, weights, sides, mean_scores = [], [], [], []
    for lo, hi, side in ((0, k, False), (k, len(s), True)):
        if hi <= lo:
            continue
        if c is None:
            cuts = lo + (np.arange(limit) * (hi - lo)) // limit
        else:
            cum = np.cumsum(c[lo:hi])
            cuts = lo + np.searchsorted(cum, np.arange(limit) * cum[-1] / limit, side="right")
        cuts = np.minimum(cuts, hi - 1)
        cuts = np.unique(lo + np.searchsorted(s[lo:hi], s[cuts], side="left"))
        at = cuts - lo
        if c is None:
            w = np.diff(np.r_[cuts, hi]).astype(float)
            total = np.add.reduceat(p[lo:hi], at)
            total_s = np.add.reduceat(s[lo:hi], at)
        else:
            w = np.add.reduceat(c[lo:hi], at)
            total = np.add.reduceat(c[lo:hi] * p[lo:hi], at)
            total_s = np.add.reduceat(c[lo:hi] * s[lo:hi], at)
        chances.append(total / w)
        weights.append(w)
        sides.append(np.full(len(w), side))
        mean_scores.append(total_s / w)
    if not chances:
        return np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0)
    return (
        np.concatenate(chances),
        np.concatenate(weights),
        np.concatenate(sides),
        np.concatenate(mean_scores),
    )


def calibration_spread(
    calibration: Mapping[str, Any] | None, s: np.ndarray, w: np.ndarray, pred: np.ndarray
) -> dict[str, float]:
    """The standard deviation of each estimate across the calibrator's bootstrap refits
    (``training.calibration.resampled_maps``): groups of rows at mean score ``s`` (in score
    order) with ``w`` rows each, answered positive where ``pred``. Empty without refits."""
    grid = (calibration or {}).get("resampled_x")
    maps = (calibration or {}).get("resampled_y")
    if not grid or not maps or len(maps) < 2 or not len(s):
        return {}
    x = np.asarray(grid, dtype=float)
    q = np.stack([np.interp(s, x, np.asarray(m, dtype=float)) for m in maps])  # (B, groups)
    pos = q * w
    neg = w - pos
    tp, fp = pos[:, pred].sum(axis=1), neg[:, pred].sum(axis=1)
    fn, tn = pos[:, ~pred].sum(axis=1), neg[:, ~pred].sum(axis=1)
    above = pos[:, ::-1].cumsum(axis=1)[:, ::-1] - pos
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {
            "accuracy": (tp + tn) / w.sum(),
            "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "roc_auc": (neg * (above + 0.5 * pos)).sum(axis=1)
            / (pos.sum(axis=1) * neg.sum(axis=1)),
        }
    out = {}
    for name, v in values.items():
        v = v[np.isfinite(v)]
        if len(v) >= 2:
            out[name] = float(np.std(v, ddof=1))
    return out


def score_groups(
    scores: np.ndarray,
    counts: np.ndarray | None,
    threshold: float,
    calibration: Mapping[str, Any] | None,
    *,
    by_score: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows as groups of one calibrated chance and one answer: ``(p, counts, pred)``, sorted
    by chance (the rows answered negative first). One sort of the scores, at most.

    ``by_score``: one group per distinct score instead (scores that calibration maps to one
    chance stay apart: the model still ranks them, and its realised ROC AUC counts that)."""
    s, c, p = _sorted_scores(scores, counts, calibration)
    k = int(np.searchsorted(s, threshold, side="left"))  # rows k.. are answered positive
    return _runs(s if by_score else p, c, p, k)


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def cbpe(
    scores: np.ndarray,
    counts: np.ndarray | None = None,
    *,
    threshold: float,
    calibration: Mapping[str, Any] | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """CBPE of the rows whose positive-class ``scores`` (distinct values, ``counts`` rows
    each; None: one row each) a model with decision ``threshold`` answered.

    Returns ``{"rows", "metrics": {name: {"value", "lower", "upper", "interval"}},
    "cross_check": {...}}``."""
    s, rows, chances = _sorted_scores(scores, counts, calibration)
    k = int(np.searchsorted(s, threshold, side="left"))  # rows k.. are answered positive
    p, c, pred = _runs(chances, rows, chances, k)
    bp, bc, bpred, bs = _score_bins(s, rows, chances, k, BOOTSTRAP_GROUPS)  # by model score
    del s, rows, chances  # the window's rows are not needed past here: memory
    n = float(c.sum())
    tp = float((c * p)[pred].sum())
    fp = float((c * (1 - p))[pred].sum())
    fn = float((c * p)[~pred].sum())
    tn = float((c * (1 - p))[~pred].sum())
    values = {
        "accuracy": _ratio(tp + tn, n),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": expected_roc_auc(p, c) if n else None,
    }
    confidence = np.where(pred, p, 1 - p)
    out: dict[str, Any] = {"rows": int(n), "metrics": {}, "expected_confusion": {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn}}  # fmt: skip
    if n == 0:
        return out
    acc, prec = accuracy_precision_intervals(p, c, pred, level)
    boot = bootstrap_labels(bp, bpred, bc, seed=seed)
    spread = calibration_spread(calibration, bs, bc, bpred)
    alpha = (1 - level) / 2
    for name, value in values.items():
        block: dict[str, Any] = {"value": value, "lower": None, "upper": None}
        if value is None or (isinstance(value, float) and math.isnan(value)):
            block["value"] = None
        elif name == "accuracy":
            block.update(lower=acc[0], upper=acc[1], interval=acc[2])
        elif name == "precision" and prec is not None:
            block.update(lower=prec[0], upper=prec[1], interval=prec[2])
        elif name in boot:
            draws = boot[name][np.isfinite(boot[name])]
            if len(draws):
                lo, hi = np.quantile(draws, [alpha, 1 - alpha])
                block.update(
                    lower=float(min(lo, value)),
                    upper=float(max(hi, value)),
                    interval=f"parametric bootstrap of the labels ({len(draws)} draws)",
                )
        if block["lower"] is not None and spread.get(name):
            _widen(block, spread[name], level, len((calibration or {})["resampled_y"]))
        out["metrics"][name] = block
    out["cross_check"] = _atc(confidence, c, calibration, out["metrics"]["accuracy"])
    return out


def _widen(block: dict[str, Any], sd: float, level: float, maps: int) -> None:
    """Each side of the labels' interval and ``z`` times the calibrator's spread ``sd``
    added in quadrature (two independent errors), within [0, 1]."""
    z = NormalDist().inv_cdf(0.5 + level / 2)
    value, extra = block["value"], z * sd
    block["lower"] = max(0.0, value - math.hypot(value - block["lower"], extra))
    block["upper"] = min(1.0, value + math.hypot(block["upper"] - value, extra))
    block["calibration_sd"] = sd
    block["interval"] = (
        f"{block['interval']}, widened by the calibrator's spread over {maps} bootstrap refits"
        " (the calibration's own uncertainty)"
    )


def _atc(
    confidence: np.ndarray,
    counts: np.ndarray,
    calibration: Mapping[str, Any] | None,
    accuracy: Mapping[str, Any],
) -> dict[str, Any]:
    line = (calibration or {}).get("atc_threshold")
    if line is None or accuracy.get("value") is None:
        return {"method": "ATC", "accuracy": None, "disagrees": False}
    # the rows above the line, and the share of those at it that the held-out rows gave
    # (1 for a version trained before it was kept: all of them, as before)
    fraction = float((calibration or {}).get("atc_tie_fraction", 1.0))
    at = np.isclose(confidence, line, rtol=0.0, atol=1e-12)
    above = (confidence > line) & ~at
    atc = float((counts[above].sum() + fraction * counts[at].sum()) / counts.sum())
    half = (accuracy["upper"] - accuracy["lower"]) / 2
    gap = atc - accuracy["value"]
    disagrees = abs(gap) > max(ATC_TOLERANCE, half)
    return {
        "method": "average thresholded confidence (ATC)",
        "accuracy": atc,
        "gap": gap,
        "disagrees": bool(disagrees),
        "message": (
            f"ATC puts accuracy at {atc:.3f}, {abs(gap):.3f} "
            f"{'above' if gap > 0 else 'below'} the estimate: the two methods read this "
            "window differently (published comparisons favour ATC under covariate shift; "
            "on other data CBPE was closer): trust neither alone until labels arrive, and "
            "see in the back-test which has been right"
        )
        if disagrees
        else "",
    }


def error_bins(record: Mapping[str, Any], predicted_abs: np.ndarray) -> np.ndarray:
    """How many rows fall in each decile of predicted |error| of ``record["bins"]``."""
    bins = record.get("bins") or {}
    k = len(bins.get("n") or [])
    if not k:
        return np.zeros(0)
    which = np.searchsorted(np.asarray(bins["edges"], dtype=float), predicted_abs, side="right")
    counts: np.ndarray = np.bincount(which, minlength=k)[:k].astype(float)
    return counts


def _spread(record: Mapping[str, Any], in_bins: np.ndarray, n: int, kind: str) -> float:
    """The standard deviation of (realised - estimated) for a window of ``n`` rows, ``in_bins``
    of them in each decile of predicted |error| (``record["bins"]``, the error model's
    cross-fitted misses on held-out rows): the window's own sampling spread and the
    reference's, plus the reference's bias there, squared (conservative)."""
    bins = record.get("bins") or {}
    if not bins.get("n") or not len(in_bins):
        sd = float(record.get(f"{kind}_residual_sd") or 0.0)
        return sd * math.sqrt(1 / n + 1 / max(int(record.get("rows") or 0), 1))
    w = in_bins / n
    ref_n = np.maximum(np.asarray(bins["n"], dtype=float), 1.0)
    spread = np.asarray(bins[f"{kind}_sd"], dtype=float)
    bias = np.asarray(bins[f"{kind}_mean"], dtype=float)
    var = float(
        (w * spread**2 / n).sum() + (w**2 * spread**2 / ref_n).sum() + (w * bias).sum() ** 2
    )
    return math.sqrt(var)


def estimate_regression(
    record: Mapping[str, Any],
    predicted_abs: np.ndarray,
    predicted_sq: np.ndarray,
    *,
    level: float = 0.95,
) -> dict[str, Any]:
    """MAE and RMSE of a window from the error model's per-row predictions (DLE), with an
    analytic interval (normal): the window's spread and the reference's per decile of
    predicted error, and the error model's bias there (``_spread``)."""
    a = np.asarray(predicted_abs, dtype=float)
    s = np.asarray(predicted_sq, dtype=float)
    return estimate_regression_sums(
        record, len(a), float(a.sum()), float(s.sum()), error_bins(record, a), level=level
    )


def estimate_regression_sums(
    record: Mapping[str, Any],
    rows: int,
    sum_abs: float,
    sum_sq: float,
    in_bins: np.ndarray,
    *,
    level: float = 0.95,
) -> dict[str, Any]:
    """``estimate_regression`` from a window's sums (what the monitor counts piece by
    piece): rows, Σ predicted |error|, Σ predicted error², rows per decile (``error_bins``)."""
    from scipy.stats import norm

    out: dict[str, Any] = {"rows": rows, "metrics": {}}
    if rows == 0:
        return out
    z = float(norm.ppf(0.5 + level / 2))
    method = "analytic (the error model's cross-fitted misses by decile, normal)"
    mae = sum_abs / rows
    half = z * _spread(record, in_bins, rows, "abs")
    out["metrics"]["mae"] = {
        "value": mae, "lower": max(0.0, mae - half), "upper": mae + half, "interval": method,
    }  # fmt: skip
    msq = sum_sq / rows
    half_sq = z * _spread(record, in_bins, rows, "sq")
    out["metrics"]["rmse"] = {
        "value": math.sqrt(msq),
        "lower": math.sqrt(max(0.0, msq - half_sq)),
        "upper": math.sqrt(msq + half_sq),
        "interval": method,
    }
    return out


def assess(
    estimation: Mapping[str, Any] | None,
    rows: int,
    quality: Mapping[str, Any] | None = None,
    shift: list[str] | None = None,
) -> dict[str, Any]:
    """The assumptions beside an estimate: the calibration error on held-out rows, the share
    of live rows outside the reference's support, the window's size; and whether they hold.

    ``quality``: the window's quality block (``measures.feature_quality`` per feature: the
    share of present values outside the training range or never seen in training). The
    window's share outside is at least the largest feature's share (a row outside in any
    feature is outside); it is reported as that lower bound with the feature that gives it.

    ``shift``: the material biases a covariate shift like the window's gives the estimates
    on reweighted held-out rows (``estimate_shift.shift_problems``), each a failed
    assumption.
    """
    estimation = estimation or {}
    problems: list[str] = []
    ece = estimation.get("ece_after")
    if estimation.get("kind") == "classification":
        if ece is None:
            problems.append("the model version has no calibration check (trained before it)")
        elif ece > MAX_CALIBRATION_ERROR:
            problems.append(
                f"the scores are not calibrated on held-out rows (ECE {ece:.3f} > "
                f"{MAX_CALIBRATION_ERROR})"
            )
    outside = 0.0
    worst = None
    by_feature: dict[str, float] = {}
    for f in (quality or {}).get("features", []):
        share = float(f.get("out_of_range_rate") or 0) + float(f.get("unseen_rate") or 0)
        share *= 1 - float(f.get("missing_rate") or 0)  # the rates are of present values
        by_feature[f["feature"]] = share
        if share > outside:
            outside, worst = share, f["feature"]
    if outside > MAX_OUTSIDE_SUPPORT:
        problems.append(
            f"{outside:.0%} of the window's rows are outside what the reference covered "
            f"({worst}; line: {MAX_OUTSIDE_SUPPORT:.0%})"
        )
    if rows < MIN_ESTIMATE_ROWS:
        problems.append(f"only {rows} scored rows (at least {MIN_ESTIMATE_ROWS} needed)")
    problems.extend(shift or [])
    return {
        "calibration": estimation.get("method"),
        "calibration_error": ece,
        "calibration_error_before": estimation.get("ece_before"),
        "calibration_rows": estimation.get("rows"),
        "outside_support": outside,
        "outside_support_feature": worst,
        "outside_support_by_feature": by_feature,
        "window_rows": rows,
        "shift_checked": bool(estimation.get("shift_table")),
        "reliable": not problems,
        "problems": problems,
    }


def estimate_logged(
    reference: Mapping[str, Any],
    scores: np.ndarray,
    *,
    threshold: float,
    metric: str,
    quality: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The estimated ``metric`` of a set of logged predictions (their positive-class
    ``scores``) of a model version whose reference statistics are ``reference``: the value,
    its interval, and whether the estimate can be trusted. Marked ``estimate: true``, for a
    canary guardrail to read before any label arrives. A regression model or a metric CBPE
    does not estimate gives ``value: None`` with the reason."""
    estimation = reference.get("estimation") or {}
    scores = np.asarray(scores, dtype=float)
    checks = assess(estimation, int(np.isfinite(scores).sum()), quality)
    out: dict[str, Any] = {"estimate": True, "metric": metric, "value": None, "lower": None,
                           "upper": None, **checks}  # fmt: skip
    if estimation.get("kind") != "classification" or metric not in CLASSIFICATION_METRICS:
        out["reason"] = f"{metric} is not estimated before labels for this model"
        out["reliable"] = False
        return out
    values, counts = np.unique(scores[np.isfinite(scores)], return_counts=True)
    found = cbpe(values, counts, threshold=threshold, calibration=estimation)
    block = found["metrics"].get(metric) or {}
    out.update(value=block.get("value"), lower=block.get("lower"), upper=block.get("upper"))
    return out
