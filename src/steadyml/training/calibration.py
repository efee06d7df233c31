"""Calibration of a yes/no model's scores, fitted at training time on held-out rows.

Performance estimation before labels arrive (``steadyml.monitoring.estimate``) reads each
score as the chance that the row is positive, which holds only for calibrated scores.
``fit_calibration`` checks that on the test rows (never learned from) and fits an isotonic
calibrator there, used only when it lowers the expected calibration error (ECE), as NannyML
does: the calibrated ECE is measured on rows the calibrator did not see (ten 90/10 splits),
so a calibrator never looks better than it is.

The calibrator is itself fitted on finitely many rows: ``RESAMPLED_MAPS`` refits on
bootstrap resamples of the held-out rows are kept too (each evaluated on a grid of
``RESAMPLED_GRID`` score quantiles), so an estimate can count the calibrator's own spread
beside the labels' chance (``monitoring.estimate``). They are kept as well when the scores
are used as they are (no calibrator helped): that the scores are calibrated is known only as
well as the held-out rows show it, and the refits' spread is that uncertainty. (Without it,
a logistic model's ROC AUC on 14,272 rows of a public data set was estimated at 0.878,
interval 0.873 to 0.884, and came out at 0.870.)

The record is plain JSON (the isotonic map is its knots; applying it is ``np.interp``), kept
in the model version's reference statistics under ``estimation``. Serving never reads it:
the model's answers and scores do not change.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ECE_BINS",
    "MIN_CALIBRATION_ROWS",
    "RESAMPLED_GRID",
    "RESAMPLED_MAPS",
    "apply_calibration",
    "atc_line",
    "atc_threshold",
    "expected_calibration_error",
    "fit_calibration",
    "fit_estimation",
    "resampled_maps",
]

ECE_BINS = 10  # equal-count bins of the sorted scores, as NannyML's ECE
MIN_CALIBRATION_ROWS = 100  # fewer held-out rows: no calibrator, the raw ECE is reported
_SPLITS = 10
RESAMPLED_MAPS = 20  # bootstrap refits of the calibrator kept with the record
RESAMPLED_GRID = 200  # score quantiles each refit is evaluated at


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """The ECE as NannyML computes it: rows sorted by score cut into ``bins`` bins of
    ``n // bins`` rows (the last takes the rest; fewer bins for fewer than ``2 * bins``
    rows); the gap between each bin's mean score and its share of positives, weighted by
    the bin's share of rows."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    n = len(p)
    if n < 4:
        return float("nan")
    if n <= 2 * bins:
        bins = n // 2
    edges = np.arange(0, n + 1, n // bins)
    edges[-1] = n
    order = np.argsort(p, kind="stable")
    sp, sy = np.cumsum(np.r_[0.0, p[order]]), np.cumsum(np.r_[0.0, y[order]])
    gaps = np.abs(np.diff(sp[edges]) - np.diff(sy[edges]))  # per bin: rows x |gap|
    return float(gaps.sum() / n)


def apply_calibration(record: dict[str, Any] | None, scores: np.ndarray) -> np.ndarray:
    """Scores through the fitted calibrator (isotonic: its knots, clipped at the ends);
    unchanged when there is none or it was not used."""
    scores = np.asarray(scores, dtype=float)
    if not record or record.get("method") != "isotonic":
        return scores
    x = np.asarray(record["x"], dtype=float)
    y = np.asarray(record["y"], dtype=float)
    calibrated: np.ndarray = np.interp(scores, x, y)
    return calibrated


def _isotonic(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
    iso.fit(p, y)
    return np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float)


def _resample(rng: np.random.Generator, n: int, groups: np.ndarray | None) -> np.ndarray:
    """Row positions of a bootstrap resample: rows, or whole groups (each drawn group's rows
    all in), so rows of one person are not taken for independent evidence."""
    if groups is None:
        return rng.integers(0, n, n)
    distinct, inverse = np.unique(groups, return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    drawn = rng.integers(0, len(distinct), len(distinct))
    return np.concatenate([members[g] for g in drawn])


def resampled_maps(
    y: np.ndarray,
    p: np.ndarray,
    *,
    seed: int,
    maps: int = RESAMPLED_MAPS,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """The calibrator refitted on ``maps`` bootstrap resamples of the held-out rows (of
    their ``groups`` where rows belong to groups), each evaluated at the same grid of score
    quantiles: ``{"resampled_x": grid, "resampled_y": [map, ...]}`` (applying map b is
    ``np.interp(score, grid, map_b)``)."""
    rng = np.random.default_rng(seed)
    grid = np.unique(np.quantile(p, np.linspace(0.0, 1.0, RESAMPLED_GRID)))
    out = []
    for _ in range(maps):
        rows = _resample(rng, len(p), groups)
        x, v = _isotonic(p[rows], y[rows].astype(float))
        out.append([round(float(a), 6) for a in np.interp(grid, x, v)])
    return {"resampled_x": [float(a) for a in grid], "resampled_y": out}


def atc_threshold(y: np.ndarray, p: np.ndarray, pred: np.ndarray) -> float:
    """Average thresholded confidence (Garg et al., ICLR 2022): the confidence line that as
    many held-out rows clear as the model got right. A row's confidence is the probability
    of the class it was given (``p`` where ``pred`` says positive, else ``1 - p``)."""
    return atc_line(y, p, pred)[0]


def atc_line(y: np.ndarray, p: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """``(line, share of the rows at the line that count)``. Calibrated scores take few
    distinct values (isotonic steps), so many rows share the line's confidence: counting all
    of them (or none) misses the accuracy by the step's mass (0.1 on a public data set, on
    every window). The rows above the line count, and this share of those at it, so that on
    the held-out rows the ATC estimate equals the accuracy exactly."""
    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=float)
    pred = np.asarray(pred, dtype=bool)
    if not len(p):
        return 0.5, 1.0
    confidence = np.where(pred, p, 1.0 - p)
    accuracy = float(np.mean(pred == y))
    # the share of rows with confidence >= t equals the accuracy: t is that quantile
    line = float(np.quantile(confidence, 1.0 - accuracy))
    at = np.isclose(confidence, line, rtol=0.0, atol=1e-12)
    above = float(np.mean(confidence > line + 1e-12))
    tied = float(np.mean(at))
    fraction = min(1.0, max(0.0, (accuracy - above) / tied)) if tied else 1.0
    return line, fraction


def fit_calibration(
    y: np.ndarray,
    p: np.ndarray,
    *,
    cut: float,
    seed: int = 42,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Check and (where it helps) fix the calibration of the scores ``p`` of held-out rows
    whose truth is ``y`` (True: positive). Returns the JSON record ``apply_calibration``
    reads, with ``ece_before``, ``ece_after`` (of the scores the estimates use), ``method``
    (``isotonic`` or ``none``), the rows and the ATC confidence line.

    ``groups`` (one code per row: a person, a customer) when rows belong to groups: the
    cross-fitted check holds out whole groups and the bootstrap refits draw whole groups,
    so a person's other rows never vouch for the calibration on that person (on a public
    panel, the row-wise check reported ECE 0.015 where new people showed 0.030)."""
    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=float)
    if groups is not None and len(np.unique(groups)) < 20:
        groups = None  # too few groups to hold some out: rows, as without groups
    n = len(p)
    before = expected_calibration_error(y, p)
    raw_line = atc_line(y, p, p >= cut)
    record: dict[str, Any] = {
        "method": "none",
        "rows": int(n),
        "bins": ECE_BINS,
        "ece_before": before,
        "ece_after": before,
        "threshold": float(cut),
        "atc_threshold": raw_line[0],
        "atc_tie_fraction": raw_line[1],
        "reason": "",
    }
    from sklearn.metrics import roc_auc_score

    if n < MIN_CALIBRATION_ROWS or y.all() or not y.any():
        record["reason"] = (
            f"only {n} held-out rows" if n < MIN_CALIBRATION_ROWS else "one class only"
        ) + ": no calibrator was fitted"
        return record
    if roc_auc_score(y, p) > 0.999:  # as NannyML: nothing for a calibrator to learn
        record["reason"] = "the scores separate the classes (ROC AUC > 0.999): used as they are"
        return record
    from sklearn.model_selection import StratifiedShuffleSplit

    truth: list[np.ndarray] = []
    raw: list[np.ndarray] = []
    fixed: list[np.ndarray] = []
    if groups is None:
        splits = StratifiedShuffleSplit(n_splits=_SPLITS, test_size=0.1, random_state=seed)
        pairs = splits.split(p.reshape(-1, 1), y)
    else:
        from sklearn.model_selection import GroupShuffleSplit

        record["groups"] = len(np.unique(groups))
        pairs = GroupShuffleSplit(n_splits=_SPLITS, test_size=0.1, random_state=seed).split(
            p.reshape(-1, 1), y, groups
        )
    for fit_rows, check_rows in pairs:
        x, v = _isotonic(p[fit_rows], y[fit_rows].astype(float))
        truth.append(y[check_rows])
        raw.append(p[check_rows])
        fixed.append(np.interp(p[check_rows], x, v))
    vanilla = expected_calibration_error(np.concatenate(truth), np.concatenate(raw))
    calibrated = expected_calibration_error(np.concatenate(truth), np.concatenate(fixed))
    record["ece_before_split"] = vanilla
    record["ece_after_split"] = calibrated
    if calibrated < vanilla:
        x, v = _isotonic(p, y.astype(float))
        line = atc_line(y, np.interp(p, x, v), p >= cut)
        record.update(
            method="isotonic",
            x=[float(a) for a in x],
            y=[float(b) for b in v],
            ece_after=calibrated,
            **resampled_maps(y, p, seed=seed, groups=groups),
            atc_threshold=line[0],
            atc_tie_fraction=line[1],
            reason="isotonic calibration lowered the ECE on rows it did not see "
            f"({vanilla:.3f} -> {calibrated:.3f})",
        )
    else:
        record.update(
            # the scores are used as they are, but "calibrated" is known only as well as
            # the held-out rows show it: the refits' spread is that uncertainty too
            **resampled_maps(y, p, seed=seed, groups=groups),
            reason=(
                f"the scores are as calibrated as isotonic calibration makes them "
                f"(ECE {vanilla:.3f}; calibrated {calibrated:.3f}): used as they are"
            ),
        )
    return record


def fit_estimation(
    task: str,
    X: Any,
    y_true: np.ndarray,
    scores: dict[str, Any],
    *,
    positive: Any,
    threshold: float,
    roles: Any,
    seed: int,
    missing_codes: Any = None,
    groups: Any = None,
) -> tuple[dict[str, Any], Any]:
    """What estimation before labels needs, fitted on the held-out (test) rows: the JSON
    record for the model version's reference statistics, and the regression error model
    (None for classification) to store as its own artifact."""
    if task == "regression":
        from steadyml.training.error_model import fit_error_model

        model, record = fit_error_model(
            X, y_true, scores["values"], roles, seed=seed, missing_codes=missing_codes
        )
        return record, model
    classes = list(np.asarray(scores.get("classes", [])).tolist())
    if len(classes) != 2 or positive not in classes:
        return {
            "kind": "classification",
            "method": "none",
            "reason": "estimates before labels need a yes/no model (the log keeps only the "
            "predicted class of a model with more classes)",
        }, None
    p = np.asarray(scores["proba"], dtype=float)[:, classes.index(positive)]
    truth = np.asarray([v == positive for v in np.asarray(y_true).tolist()], dtype=bool)
    codes = None
    if groups is not None:
        from steadyml.data.split import group_codes

        codes = group_codes(pd.Series(np.asarray(groups, dtype=object)))
    record = {
        "kind": "classification",
        **fit_calibration(truth, p, cut=threshold, seed=seed, groups=codes),
    }
    if len(p) >= MIN_CALIBRATION_ROWS and truth.any() and not truth.all():
        from steadyml.training.shift_table import MAX_FEATURES, shift_table

        features = [c for c in getattr(roles, "features", X.columns) if c in X.columns]
        features = features[:MAX_FEATURES]
        categorical = set(getattr(roles, "categorical", ())) | set(getattr(roles, "sensitive", ()))
        record["shift_table"] = shift_table(
            X, truth, p, apply_calibration(record, p), threshold,
            numeric=[c for c in features if c in set(getattr(roles, "numeric", ()))],
            categorical=[c for c in features if c in categorical],
        )  # fmt: skip
    return record, None
