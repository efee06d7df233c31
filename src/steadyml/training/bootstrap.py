"""Metrics under resampling weights, and the paired bootstrap that compares two models.

A bootstrap resample of ``n`` rows is a vector of counts (how often each row was drawn). Every
metric steadyml reports can be written with those counts as weights: accuracy, precision,
recall, F1, log loss, Brier, MAE, RMSE, R² and MAPE are ratios of weighted sums (a matrix
product of the counts with a few per-row columns), and ROC AUC is the weighted Mann-Whitney
statistic (rows sorted by score once, ties grouped, a cumulative sum per resample). So
``resamples`` resamples of 100,000 rows are a few matrix products, not a Python loop.

*Paired*: both models are scored on the same resampled rows, so the difference's interval
reflects how the two models differ on the same cases, not two independent noises.

Nothing here reads a store or a file; the same ``(seed, resamples, n)`` always draw the same
rows (``resample_indices``), which is how the tests check the vectorised metrics against a
brute-force loop over ``sklearn.metrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from steadyml.forms.decision import decide

__all__ = [
    "Prepared",
    "paired_bootstrap",
    "paired_gap_bootstrap",
    "prepare",
    "resample_counts",
    "resample_indices",
    "weighted_metrics",
]

_CELLS = 4_000_000  # counts held at once (rows x resamples): about 32 MB of float64


@dataclass(frozen=True)
class Prepared:
    """One model's answers on a set of rows, as the per-row columns the metrics need."""

    kind: str  # "binary", "multiclass" or "regression"
    columns: np.ndarray  # (n, k): per-row values whose weighted sums give the metrics
    names: tuple[str, ...]  # what each column of ``columns`` is
    order: np.ndarray | None = None  # rows sorted by score (ROC AUC), per class for multiclass
    edges: tuple[np.ndarray, ...] = ()  # per sorted row: where its tied scores start, end
    truth: tuple[np.ndarray, ...] = ()  # 1.0 where the row is (one-vs-rest) positive, sorted
    classes: int = 0
    mape_defined: bool = True


def prepare(
    y_true: Any,
    scores: dict[str, Any],
    task: str,
    *,
    positive_label: Any = None,
    threshold: float = 0.5,
) -> Prepared:
    """The per-row columns of one model's answers (``predict_scores``'s output)."""
    y = np.asarray(y_true)
    if task == "regression":
        yf = y.astype(float)
        pred = np.asarray(scores["values"], dtype=float)
        err = pred - yf
        zero = yf == 0
        rel = np.abs(err) / np.maximum(np.abs(yf), np.finfo(float).eps)
        cols = np.column_stack([np.ones(len(yf)), np.abs(err), err**2, yf, yf**2, rel])
        return Prepared(
            "regression", cols, ("w", "ae", "se", "y", "y2", "ape"), mape_defined=not zero.any()
        )
    classes = np.asarray(scores["classes"])
    proba = np.asarray(scores["proba"], dtype=float)
    labels = classes.tolist()
    if len(labels) == 2:
        pos = positive_label if positive_label in labels else labels[1]
        p = proba[:, labels.index(pos)]
        yp = np.asarray([v == pos for v in y.tolist()], dtype=float)
        chosen, _ = decide(proba, labels, pos, threshold)
        hat = np.asarray([v == pos for v in chosen], dtype=float)
        p_true = np.where(yp == 1, p, 1 - p)
        ll = -np.log(np.clip(p_true, np.finfo(float).eps, 1))
        cols = np.column_stack(
            [np.ones(len(y)), (hat == yp).astype(float), hat * yp, hat, yp, ll, (p - yp) ** 2]
        )
        order, edges, truth = _sorted(p, yp)
        return Prepared(
            "binary",
            cols,
            ("w", "correct", "tp", "predpos", "pos", "ll", "brier"),
            order=order[None, :],
            edges=(edges,),
            truth=(truth,),
            classes=2,
        )
    k = len(labels)
    index = {str(c): i for i, c in enumerate(labels)}
    yi = np.asarray([index.get(str(v), -1) for v in y.tolist()])
    onehot = np.zeros((len(y), k))
    onehot[np.arange(len(y))[yi >= 0], yi[yi >= 0]] = 1.0
    hat = np.zeros((len(y), k))
    hat[np.arange(len(y)), proba.argmax(axis=1)] = 1.0
    p_true = np.where(yi >= 0, proba[np.arange(len(y)), np.maximum(yi, 0)], 0.0)
    ll = -np.log(np.clip(p_true, np.finfo(float).eps, 1))
    correct = (hat * onehot).sum(axis=1)
    cols = np.column_stack([np.ones(len(y)), correct, ll, onehot, hat, hat * onehot])
    orders, edge_list, truths = [], [], []
    for c in range(k):
        o, s, t = _sorted(proba[:, c], onehot[:, c])
        orders.append(o)
        edge_list.append(s)
        truths.append(t)
    return Prepared(
        "multiclass",
        cols,
        ("w", "correct", "ll", *[f"{n}{c}" for n in ("pos", "predpos", "tp") for c in range(k)]),
        order=np.vstack(orders),
        edges=tuple(edge_list),
        truth=tuple(truths),
        classes=k,
    )


def _sorted(score: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows by score; per sorted position, where its group of tied scores starts and ends
    (``edges``: shape ``(2, n)``); the truth in that order."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    group = np.cumsum(np.r_[True, s[1:] != s[:-1]]) - 1
    ends = np.r_[first[1:], len(s)]
    return order, np.vstack([first[group], ends[group]]), truth[order]


def _ratio(num: np.ndarray, den: np.ndarray, empty: float = 0.0) -> np.ndarray:
    out = np.full(num.shape, empty, dtype=float)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _auc(weights: np.ndarray, order: np.ndarray, edges: np.ndarray, truth: np.ndarray) -> Any:
    """Weighted ROC AUC per row of ``weights``: each positive counts the negatives scored
    below it, and half of those tied with it (as sklearn's)."""
    w = weights[:, order]
    neg = np.zeros((len(w), w.shape[1] + 1))
    np.cumsum(w * (1.0 - truth), axis=1, out=neg[:, 1:])
    at = np.flatnonzero(truth)  # only the positives' neighbourhoods count
    below = neg[:, edges[0, at]]
    tied = neg[:, edges[1, at]] - below
    pos_w = w[:, at]
    p, q = pos_w.sum(axis=1), neg[:, -1]
    return _ratio((pos_w * (below + 0.5 * tied)).sum(axis=1), p * q, np.nan)


def weighted_metrics(prep: Prepared, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Each metric per row of ``weights`` (shape ``(b, n)``): one value per resample."""
    sums = weights @ prep.columns
    col = {name: sums[:, i] for i, name in enumerate(prep.names)}
    w = col["w"]
    if prep.kind == "regression":
        sst = col["y2"] - _ratio(col["y"] ** 2, w)
        out = {
            "mae": _ratio(col["ae"], w, np.nan),
            "rmse": np.sqrt(_ratio(col["se"], w, np.nan)),
            "r2": 1.0 - _ratio(col["se"], sst, np.nan),
            "mape": _ratio(col["ape"], w, np.nan),
        }
        if not prep.mape_defined:
            out["mape"] = np.full(len(w), np.nan)
        return out
    out = {"accuracy": _ratio(col["correct"], w, np.nan), "log_loss": _ratio(col["ll"], w, np.nan)}
    if prep.kind == "binary":
        tp, pp, pos = col["tp"], col["predpos"], col["pos"]
        out["precision"] = _ratio(tp, pp)
        out["recall"] = _ratio(tp, pos)
        out["f1"] = _ratio(2 * tp, pp + pos)
        out["brier"] = _ratio(col["brier"], w, np.nan)
        out["roc_auc"] = _auc(weights, np.asarray(prep.order)[0], prep.edges[0], prep.truth[0])
        return out
    k = prep.classes
    pos = sums[:, 3 : 3 + k]
    pp = sums[:, 3 + k : 3 + 2 * k]
    tp = sums[:, 3 + 2 * k : 3 + 3 * k]
    out["precision"] = _ratio(tp, pp).mean(axis=1)
    out["recall"] = _ratio(tp, pos).mean(axis=1)
    out["f1"] = _ratio(2 * tp, pp + pos).mean(axis=1)
    order = np.asarray(prep.order)
    aucs = np.column_stack(
        [_auc(weights, order[c], prep.edges[c], prep.truth[c]) for c in range(k)]
    )
    out["roc_auc"] = aucs.mean(axis=1)  # NaN when a class is absent, as sklearn refuses
    return out


def resample_indices(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """The rows each resample draws (with replacement), a block of resamples at a time."""
    rng = np.random.default_rng(seed)
    block = max(1, min(resamples, _CELLS // max(n, 1)))
    done = 0
    while done < resamples:
        b = min(block, resamples - done)
        yield rng.integers(0, n, size=(b, n), dtype=np.int32)
        done += b


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """How often each row was drawn, per resample: ``(b, n)`` float weights."""
    counts = np.empty((indices.shape[0], n))
    for i, drawn in enumerate(indices):  # one resample at a time stays in the CPU cache
        counts[i] = np.bincount(drawn, minlength=n)
    return counts


def paired_bootstrap(
    champion: Prepared, challenger: Prepared, *, resamples: int, seed: int
) -> dict[str, dict[str, Any]]:
    """Per metric: both values, the difference (challenger minus champion) and its 95 %
    percentile interval over ``resamples`` paired resamples. A metric undefined on all rows
    (ROC AUC with one class present) has ``None`` values."""
    n = len(champion.columns)
    ones = np.ones((1, n))
    a = {k: float(v[0]) for k, v in weighted_metrics(champion, ones).items()}
    b = {k: float(v[0]) for k, v in weighted_metrics(challenger, ones).items()}
    diffs: dict[str, list[np.ndarray]] = {k: [] for k in a}
    with threadpool_limits(limits=1):  # small products: BLAS threads only contend
        for idx in resample_indices(n, resamples, seed):
            counts = resample_counts(idx, n)
            ma, mb = weighted_metrics(champion, counts), weighted_metrics(challenger, counts)
            for k in diffs:
                diffs[k].append(mb[k] - ma[k])
    out: dict[str, dict[str, Any]] = {}
    for k in a:
        d = np.concatenate(diffs[k]) if diffs[k] else np.array([])
        d = d[np.isfinite(d)]
        defined = np.isfinite(a[k]) and np.isfinite(b[k])
        interval = (
            [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))]
            if defined and len(d)
            else None
        )
        out[k] = {
            "champion": a[k] if defined else None,
            "challenger": b[k] if defined else None,
            "difference": b[k] - a[k] if defined else None,
            "interval": interval,
            "resamples_used": len(d),
        }
    return out


def _range(values: np.ndarray) -> Any:
    """Largest minus smallest per row, ignoring NaN (a group with no such rows in a
    resample), without numpy's all-NaN warning."""
    return np.fmax.reduce(values, axis=1) - np.fmin.reduce(values, axis=1)


def paired_gap_bootstrap(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    groups: Any,
    kind: str,
    positive_label: Any,
    *,
    resamples: int,
    seed: int,
) -> dict[str, Any] | None:
    """The fairness gap of two models' answers across ``groups``, as training's fairness
    report measures it (``steadyml.training.fairness``: groups with fewer than 30 rows, or
    for two classes fewer than 20 of either outcome, left out), and the 95 % interval of its
    widening (challenger's gap minus champion's) over paired resamples. None when fewer than
    two groups can be compared."""
    from steadyml.training.evaluate import MIN_SEGMENT_ROWS
    from steadyml.training.fairness import MIN_CLASS_ROWS

    y, a, b = np.asarray(y_true), np.asarray(pred_a), np.asarray(pred_b)
    labels = np.asarray(groups, dtype=object)
    names, codes = np.unique(labels.astype(str), return_inverse=True)
    onehot = np.zeros((len(y), len(names)))
    onehot[np.arange(len(y)), codes] = 1.0
    n_g = onehot.sum(axis=0)
    if kind == "binary":
        yt = np.asarray([v == positive_label for v in y.tolist()], dtype=float)
        ha = np.asarray([v == positive_label for v in a.tolist()], dtype=float)
        hb = np.asarray([v == positive_label for v in b.tolist()], dtype=float)
        pos_g = yt @ onehot
        keep = (n_g >= MIN_SEGMENT_ROWS) & (np.minimum(pos_g, n_g - pos_g) >= MIN_CLASS_ROWS)
        per_row = [yt, 1 - yt, ha, ha * yt, ha * (1 - yt), hb, hb * yt, hb * (1 - yt)]
    elif kind == "multiclass":
        keep = n_g >= MIN_SEGMENT_ROWS
        per_row = [(a == y).astype(float), (b == y).astype(float)]
    else:
        keep = n_g >= MIN_SEGMENT_ROWS
        yf = y.astype(float)
        per_row = [np.abs(a.astype(float) - yf), np.abs(b.astype(float) - yf)]
    if keep.sum() < 2:
        return None
    g = onehot[:, keep]
    k = g.shape[1]
    cols = np.hstack([g, *[g * v[:, None] for v in per_row]])

    def gaps(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = [sums[:, i * k : (i + 1) * k] for i in range(len(per_row) + 1)]
        n = part[0]
        if kind == "binary":
            _, pos, neg, sel_a, tp_a, fp_a, sel_b, tp_b, fp_b = part
            out = []
            for sel, tp, fp in ((sel_a, tp_a, fp_a), (sel_b, tp_b, fp_b)):
                dp = _range(_ratio(sel, n, np.nan))
                eo = np.maximum(_range(_ratio(tp, pos, np.nan)), _range(_ratio(fp, neg, np.nan)))
                out.append(np.maximum(dp, eo))
            return out[0], out[1]
        va, vb = _ratio(part[1], n, np.nan), _ratio(part[2], n, np.nan)
        if kind == "multiclass":
            return _range(va), _range(vb)
        worst_a, worst_b = np.fmax.reduce(va, axis=1), np.fmax.reduce(vb, axis=1)
        return _ratio(_range(va), worst_a), _ratio(_range(vb), worst_b)

    point_a, point_b = gaps(np.ones((1, len(y))) @ cols)
    diffs = []
    with threadpool_limits(limits=1):  # small products: BLAS threads only contend
        for idx in resample_indices(len(y), resamples, seed):
            ga, gb = gaps(resample_counts(idx, len(y)) @ cols)
            diffs.append(gb - ga)
    d = np.concatenate(diffs)
    d = d[np.isfinite(d)]
    if not (len(d) and np.isfinite(point_a[0]) and np.isfinite(point_b[0])):
        return None  # no gap to compare (never NaN in a record: PostgreSQL's JSON refuses it)
    return {
        "groups": [str(x) for x in names[keep]],
        "champion_gap": float(point_a[0]),
        "challenger_gap": float(point_b[0]),
        "widening": float(point_b[0] - point_a[0]),
        "interval": [float(np.percentile(d, 2.5)), float(np.percentile(d, 97.5))],
    }
