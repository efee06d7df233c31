"""The metrics steadyml knows and which way is better: ``KNOWN_METRICS``.

A plain mapping with no imports, so that what reads it at serving time (the model card, the
rollout's guardrails) does not import scikit-learn: a packaged service whose models have a
serving form runs without scikit-learn and scipy installed. ``training.evaluate`` computes
these metrics and re-exports the mapping.
"""

from __future__ import annotations

__all__ = ["KNOWN_METRICS"]

#: metric name -> "higher_is_better" or "lower_is_better"
KNOWN_METRICS: dict[str, str] = {
    "roc_auc": "higher_is_better",
    "accuracy": "higher_is_better",
    "precision": "higher_is_better",
    "recall": "higher_is_better",
    "f1": "higher_is_better",
    "log_loss": "lower_is_better",
    "brier": "lower_is_better",
    "mae": "lower_is_better",
    "rmse": "lower_is_better",
    "r2": "higher_is_better",
    "mape": "lower_is_better",
}
