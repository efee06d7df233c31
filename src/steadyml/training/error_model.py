"""An error model for a regression model (DLE-style), fitted at training time on held-out rows.

Before labels arrive, a regression model's MAE and RMSE in a window are estimated from a
second model that predicts each row's absolute error (and one for its squared error) from the
features: NannyML's direct loss estimation. Both are fitted on the test rows (never learned
from by the model). Their honesty is measured there too, by two-fold cross-fitting: the spread
of ``|error| - predicted |error|`` on rows each half did not see gives the estimates' interval
(``steadyml.monitoring.estimate.estimate_regression``).

``fit_error_model`` returns the two fitted pipelines (stored as their own artifact, digest
checked) and a JSON record kept in the model version's reference statistics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from steadyml.entities import Roles

__all__ = [
    "MIN_ERROR_MODEL_ROWS",
    "ErrorModel",
    "dump_error_model",
    "fit_error_model",
    "load_error_model",
]

MIN_ERROR_MODEL_ROWS = 100
MAX_ERROR_MODEL_ROWS = 20_000
_BINS = 10


class ErrorModel:
    """The two fitted error models; ``predict(frame)`` gives (abs error, squared error)."""

    def __init__(self, absolute: Any, squared: Any, features: Sequence[str]) -> None:
        self.absolute = absolute
        self.squared = squared
        self.features = list(features)

    def predict(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        X = frame[self.features]
        a = np.clip(np.asarray(self.absolute.predict(X), dtype=float), 0.0, None)
        s = np.clip(np.asarray(self.squared.predict(X), dtype=float), 0.0, None)
        return a, s


def _pipeline(
    roles: Roles,
    seed: int,
    missing_codes: Mapping[str, Sequence[Any]] | None,
    target: np.ndarray,
) -> Any:
    """Gradient boosting with the Poisson loss (a log link) for a nonnegative error: errors
    are heavy-tailed and multiply with the row's scale, and the squared loss, started from
    the mean error and clipped at 0, put the RMSE of the cheapest fifth of a public data
    set's diamonds at twice its value (198 against 104; Poisson: 105). The squared loss is
    kept only for an all-zero target, which the Poisson loss refuses."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from steadyml.training.features import build_pipeline

    loss = "poisson" if float(np.sum(target)) > 0 else "squared_error"
    model = HistGradientBoostingRegressor(
        loss=loss, max_iter=100, learning_rate=0.1, random_state=seed
    )
    return build_pipeline(roles, model, missing_codes)


def fit_error_model(
    X: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    roles: Roles,
    *,
    seed: int = 0,
    missing_codes: Mapping[str, Sequence[Any]] | None = None,
) -> tuple[ErrorModel | None, dict[str, Any]]:
    """Fit the error models on held-out rows ``X`` (truth ``y_true``, the model's answers
    ``y_pred``). Returns ``(model, record)``; the model is None with too few rows."""
    err = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    ok = np.isfinite(err)
    X, err = X.loc[ok], err[ok]
    if len(err) > MAX_ERROR_MODEL_ROWS:  # training time: a sample of the held-out rows
        keep = np.sort(np.random.default_rng(seed).choice(len(err), MAX_ERROR_MODEL_ROWS,
                                                          replace=False))  # fmt: skip
        X, err = X.iloc[keep], err[keep]
    n = len(err)
    record: dict[str, Any] = {"kind": "regression", "method": "dle", "rows": int(n)}
    if n < MIN_ERROR_MODEL_ROWS:
        record.update(method="none", reason=f"only {n} held-out rows: no error model")
        return None, record
    absolute, squared = np.abs(err), err**2
    # two-fold cross-fitting: how far predicted errors are from the errors they predict
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % 2 == 0
    resid_a = np.empty(n)
    resid_s = np.empty(n)
    for part in (fold, ~fold):
        pa = _pipeline(roles, seed, missing_codes, absolute[~part])
        pa.fit(X.loc[~part], absolute[~part])
        ps = _pipeline(roles, seed, missing_codes, squared[~part])
        ps.fit(X.loc[~part], squared[~part])
        resid_a[part] = absolute[part] - np.clip(pa.predict(X.loc[part]), 0, None)
        resid_s[part] = squared[part] - np.clip(ps.predict(X.loc[part]), 0, None)
    pred_a = absolute - resid_a  # cross-fitted predicted |error|, per row
    pa = _pipeline(roles, seed, missing_codes, absolute).fit(X, absolute)
    ps = _pipeline(roles, seed, missing_codes, squared).fit(X, squared)
    record.update(
        bins=_bins(pred_a, resid_a, squared, resid_s),
    )
    record.update(
        mae=float(absolute.mean()),
        rmse=float(np.sqrt(squared.mean())),
        abs_residual_sd=float(resid_a.std(ddof=1)),
        sq_residual_sd=float(resid_s.std(ddof=1)),
        abs_bias=float(resid_a.mean()),
        sq_bias=float(resid_s.mean()),
        reason="error models fitted on the held-out rows; interval from two-fold cross-fitting",
    )
    return ErrorModel(pa, ps, list(X.columns)), record


def _bins(
    pred_a: np.ndarray, resid_a: np.ndarray, _squared: np.ndarray, resid_s: np.ndarray
) -> dict[str, Any]:
    """The cross-fitted misses by decile of predicted |error|: where the error model is
    biased or loose depends on where a window's rows fall (its interval uses them)."""
    edges = np.unique(np.quantile(pred_a, np.linspace(0, 1, _BINS + 1)))
    inner = edges[1:-1]
    which = np.searchsorted(inner, pred_a, side="right")
    out: dict[str, list[float]] = {k: [] for k in ("n", "abs_mean", "abs_sd", "sq_mean", "sq_sd")}
    for b in range(len(inner) + 1):
        ra, rs = resid_a[which == b], resid_s[which == b]
        out["n"].append(float(len(ra)))
        out["abs_mean"].append(float(ra.mean()) if len(ra) else 0.0)
        out["abs_sd"].append(float(ra.std(ddof=1)) if len(ra) > 1 else 0.0)
        out["sq_mean"].append(float(rs.mean()) if len(rs) else 0.0)
        out["sq_sd"].append(float(rs.std(ddof=1)) if len(rs) > 1 else 0.0)
    return {"edges": [float(e) for e in inner], **out}


def dump_error_model(model: ErrorModel) -> bytes:
    import io

    import joblib

    buf = io.BytesIO()
    joblib.dump(model, buf, compress=3)
    return buf.getvalue()


def load_error_model(data: bytes) -> ErrorModel:
    """The error model from its artifact's bytes (read through ``ArtifactStore.get_bytes``,
    which checks the digest first)."""
    import io

    import joblib

    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, ErrorModel):  # pragma: no cover - only steadyml writes these
        from steadyml.errors import SteadyMLError

        raise SteadyMLError("The error model artifact is not a steadyml error model.")
    return model
