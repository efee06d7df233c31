"""Training: one pipeline from raw rows to predictions, graded, gated and recorded.

``train_model`` is the entry point; the other names are the building blocks it uses, public
so that serving, monitoring and the registry read the same definitions.

The estimator families, the fairness report and the training run are imported on first use
(PEP 562): a server that only unpickles a fitted pipeline and compiles it
(``training.compiled``) does not pay for every model family scikit-learn has (about 0.2 s of
its cold start). ``evaluate`` is imported at once: it is also a submodule's name, and a lazy
name would lose to the submodule once that is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from steadyml.training.evaluate import KNOWN_METRICS, evaluate, measure_latency
from steadyml.training.features import PrepareColumns, build_pipeline
from steadyml.training.gates import GateCheck, GateResult, check_gates
from steadyml.training.reference import reference_stats

if TYPE_CHECKING:
    from steadyml.training.estimators import MODEL_CHOICES, make_baseline, make_estimator
    from steadyml.training.fairness import fairness_report
    from steadyml.training.run import TrainOutcome, train_model

_WHERE = {
    "MODEL_CHOICES": "estimators",
    "make_baseline": "estimators",
    "make_estimator": "estimators",
    "fairness_report": "fairness",
    "TrainOutcome": "run",
    "train_model": "run",
}

__all__ = [
    "KNOWN_METRICS",
    "MODEL_CHOICES",
    "GateCheck",
    "GateResult",
    "PrepareColumns",
    "TrainOutcome",
    "build_pipeline",
    "check_gates",
    "evaluate",
    "fairness_report",
    "make_baseline",
    "make_estimator",
    "measure_latency",
    "reference_stats",
    "train_model",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'steadyml.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"steadyml.training.{module}"), name)
    globals()[name] = value
    return value
