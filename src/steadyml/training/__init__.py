"""Training: one pipeline from raw rows to predictions, graded, gated and recorded.

``train_model`` is the entry point; the other names are the building blocks it uses, public
so that serving, monitoring and the registry read the same definitions.
"""

from __future__ import annotations

from steadyml.training.estimators import MODEL_CHOICES, make_baseline, make_estimator
from steadyml.training.evaluate import KNOWN_METRICS, evaluate, measure_latency
from steadyml.training.fairness import fairness_report
from steadyml.training.features import PrepareColumns, build_pipeline
from steadyml.training.gates import GateCheck, GateResult, check_gates
from steadyml.training.reference import reference_stats
from steadyml.training.run import TrainOutcome, train_model

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
