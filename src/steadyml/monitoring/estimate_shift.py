"""The bias a window's covariate shift gives an estimate, measured on reweighted held-out rows.

``training.shift_table`` keeps the held-out rows' realised and expected positives and
negatives per feature slice and score bin. For a window, ``shift_bias`` reweights each
feature's slices to the window's share of rows there (its counted values: distinct numbers
with counts, category counts; slices the window has no count for, such as missing values,
keep their weight) and computes, on the held-out rows so reweighted, each metric as CBPE
expects it and as it was realised. The change of their gap from the unweighted one is the
bias a shift like the window's along that feature gives the estimate; the largest over the
features, on each side, is returned. ``widen`` moves the interval's bound on that side by
it, and ``assess`` (``monitoring.estimate``) marks the estimate unreliable when it is as large
as half the interval it widened.

The reweighting sees one feature at a time: a shift in a combination of features, or a
change in what the features mean (concept drift), is not seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["MIN_BIAS", "MIN_MATERIAL", "NOISE_LINE", "shift_bias", "shift_problems", "widen"]

MIN_BIAS = 0.005  # a smaller bias is not applied (the reweighting's own noise)
MIN_MATERIAL = 0.01  # a bias at least this and half the interval's width: unreliable
NOISE_LINE = 2.5  # ... and at least this many of its rough standard errors


def _metrics(hist: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    """Realised and expected metrics from score-bin sums ``hist`` (bins x 4)."""
    out: dict[str, dict[str, float]] = {}
    for kind, pos, neg in (("realised", hist[:, 0], hist[:, 1]),
                           ("expected", hist[:, 2], hist[:, 3])):  # fmt: skip
        tp, fp = pos[pred].sum(), neg[pred].sum()
        fn, tn = pos[~pred].sum(), neg[~pred].sum()
        n = tp + fp + fn + tn
        above = pos[::-1].cumsum()[::-1] - pos
        both = pos.sum() * neg.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            out[kind] = {
                "accuracy": (tp + tn) / n,
                "precision": tp / (tp + fp),
                "recall": tp / (tp + fn),
                "f1": 2 * tp / (2 * tp + fp + fn),
                "roc_auc": (neg * (above + 0.5 * pos)).sum() / both if both else np.nan,
            }
    return out


def _gap(hist: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    m = _metrics(hist, pred)
    return {k: float(m["expected"][k] - m["realised"][k]) for k in m["expected"]}


def _window_weights(
    block: Mapping[str, Any],
    numeric: Mapping[str, Any],
    categories: Mapping[str, Mapping[str, int]],
    name: str,
) -> np.ndarray | None:
    """Per slice of the feature ``name``: the window's share over the held-out share (the
    missing slice, which the window's counts do not show, keeps weight 1)."""
    rows = np.asarray(block["rows"], dtype=float)
    k = len(rows)
    counts = np.zeros(k)
    if block["kind"] == "numeric":
        tally = numeric.get(name)
        if tally is None:
            return None
        values, n = tally.distinct() if hasattr(tally, "distinct") else tally
        values = np.asarray(values, dtype=float)
        n = np.asarray(n, dtype=float)
        if not len(values):
            return None
        slot = np.searchsorted(np.asarray(block["edges"], dtype=float), values, side="right")
        counts[: k - 1] = np.bincount(slot, weights=n, minlength=k - 1)[: k - 1]
    else:
        counted = categories.get(name)
        if not counted:
            return None
        order = {c: i for i, c in enumerate(block["categories"])}
        for label, c in counted.items():
            counts[order.get(str(label), k - 2)] += c
    present = rows[: k - 1].sum()  # the held-out rows with a value (the last slice: missing)
    seen = counts[: k - 1].sum()
    if present == 0 or seen == 0:
        return None
    w = np.ones(k)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            rows[: k - 1] > 0, (counts[: k - 1] / seen) / (rows[: k - 1] / present), 0.0
        )
    w[: k - 1] = share
    return w


def shift_bias(
    table: Mapping[str, Any] | None,
    numeric: Mapping[str, Any],
    categories: Mapping[str, Mapping[str, int]],
) -> dict[str, dict[str, Any]]:
    """Per metric: ``{"high": (bias, feature, noise), "low": (...)}`` — the largest
    amount by which a shift like the window's along one feature made CBPE too high (and too
    low) on the held-out rows; sides with no bias above ``MIN_BIAS`` are left out."""
    if not table or not table.get("features"):
        return {}
    cuts = np.asarray(table["score_cuts"], dtype=float)
    pred = np.r_[False, cuts >= float(table["threshold"])]
    found: dict[str, dict[str, Any]] = {}
    for name, block in table["features"].items():
        w = _window_weights(block, numeric, categories, name)
        if w is None:
            continue
        hist = np.asarray(block["hist"], dtype=float)  # slices x bins x 4
        base = _gap(hist.sum(axis=0), pred)
        weighted = np.tensordot(w, hist, axes=1)
        moved = _gap(weighted, pred)
        noise = _noise(w, np.asarray(block["rows"], dtype=float), weighted, pred)
        for metric, value in moved.items():
            bias = value - base[metric]
            if not np.isfinite(bias) or abs(bias) < MIN_BIAS:
                continue
            side = "high" if bias > 0 else "low"
            best = found.setdefault(metric, {}).get(side)
            if best is None or abs(bias) > abs(best[0]):
                found[metric][side] = (float(bias), name, noise.get(metric, float("inf")))
    return found


def _noise(
    w: np.ndarray, rows: np.ndarray, weighted: np.ndarray, pred: np.ndarray
) -> dict[str, float]:
    """A rough standard error of each metric's bias from the labels' chance on the
    reweighted held-out rows: their effective number (few when the window sits in a thin
    slice, such as one year of eight) times the share each metric divides by."""
    n_eff = float((w * rows).sum() ** 2 / max(float((w * w * rows).sum()), 1e-12))
    total = float(weighted[:, :2].sum())
    if total <= 0 or n_eff <= 0:
        return {}
    positives = float(weighted[:, 0].sum()) / total
    answered = float(weighted[pred, :2].sum()) / total
    share = {
        "accuracy": 1.0,
        "precision": answered,
        "recall": positives,
        "f1": (positives + answered) / 2,
        "roc_auc": 2 * min(positives, 1 - positives),
    }
    return {k: float(np.sqrt(0.25 / (n_eff * d))) if d > 0 else float("inf")
            for k, d in share.items()}  # fmt: skip


def widen(metrics: dict[str, Any], bias: Mapping[str, Mapping[str, Any]]) -> None:
    """Move each interval's bound by the bias on its side (``shift_bias``), within [0, 1]:
    an estimate found too high under such a shift gets a lower lower bound."""
    for name, sides in bias.items():
        block = metrics.get(name)
        if not block or block.get("lower") is None:
            continue
        half = (block["upper"] - block["lower"]) / 2
        notes = []
        if "high" in sides:
            b, feature, _ = sides["high"]
            block["lower"] = max(0.0, block["lower"] - b)
            notes.append(f"{b:.3f} lower for the shift in {feature}")
        if "low" in sides:
            b, feature, _ = sides["low"]
            block["upper"] = min(1.0, block["upper"] - b)
            notes.append(f"{-b:.3f} higher for the shift in {feature}")
        block["shift_bias"] = {
            side: {"bias": b, "feature": f, "noise": se} for side, (b, f, se) in sides.items()
        }
        block["shift_half_width"] = half
        block["shift_note"] = " and ".join(notes)
        block["interval"] = (
            f"{block.get('interval', '')}, bound moved {' and '.join(notes)} (held-out rows "
            "reweighted to this window)"
        )


def shift_problems(metrics: Mapping[str, Any]) -> list[str]:
    """A sentence per metric whose shift bias is material and not noise: at least
    ``MIN_MATERIAL``, at least half the width of the interval before it was widened (the
    estimate would likely have missed), and at least ``NOISE_LINE`` of its rough standard
    errors (a window in a thin slice reweights few held-out rows: its bias still moves the
    interval, but alone it marks nothing unreliable)."""
    out = []
    for name, block in metrics.items():
        sides = block.get("shift_bias") or {}
        for side, found in sides.items():
            b = abs(float(found["bias"]))
            noise = NOISE_LINE * float(found.get("noise", 0.0))
            if b >= max(MIN_MATERIAL, float(block.get("shift_half_width") or 0.0), noise):
                way = "too high" if side == "high" else "too low"
                out.append(
                    f"a shift like this window's in {found['feature']} makes the {name} "
                    f"estimate {b:.3f} {way} on the held-out rows (the interval was moved by "
                    "that; its labels will tell)"
                )
    return out
