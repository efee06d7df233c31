"""Release gates: the checks a trained model must pass before anyone may ship it.

Each gate compares one number with a threshold from ``training.gates`` in steadyml.yaml and
says, in plain words, what it found. ``beat_baseline`` is always checked — a model that does
not beat "always answer the average" has learned nothing; the others only when set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from steadyml.config import GatesConfig

__all__ = ["GateCheck", "GateResult", "check_gates"]

Direction = Literal["higher_is_better", "lower_is_better"]


@dataclass(frozen=True)
class GateCheck:
    """One gate: its name, whether it passed, the value found and the threshold it needed."""

    name: str
    passed: bool
    value: float | None
    threshold: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateResult:
    """All gates of a run; ``passed`` only when every one passed."""

    passed: bool
    checks: list[GateCheck]

    @property
    def failed(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def check_gates(
    gates: GatesConfig,
    *,
    primary_metric: str,
    direction: Direction,
    metrics: dict[str, Any],
    baseline_metrics: dict[str, Any],
    fairness: dict[str, Any] | None,
    latency: dict[str, float] | None,
) -> GateResult:
    """Check every configured gate; ``beat_baseline`` always."""
    value = _number(metrics.get(primary_metric))
    checks: list[GateCheck] = []
    if gates.min_metric is not None:
        checks.append(_min_metric(primary_metric, direction, value, gates.min_metric))
    base = _number(baseline_metrics.get(primary_metric))
    checks.append(_beat_baseline(primary_metric, direction, value, base, gates.beat_baseline_by))
    if gates.max_fairness_gap is not None:
        checks.append(_fairness(fairness or {}, gates.max_fairness_gap))
    if gates.max_latency_ms is not None:
        checks.append(_latency(latency or {}, gates.max_latency_ms))
    return GateResult(passed=all(c.passed for c in checks), checks=checks)


def _min_metric(name: str, direction: Direction, value: float | None, need: float) -> GateCheck:
    if value is None:
        return GateCheck(
            "min_metric", False, None, need, f"{name} could not be computed on the test rows."
        )
    higher = direction == "higher_is_better"
    passed = value >= need if higher else value <= need
    if passed:
        word = "reaches the minimum" if higher else "is within the maximum"
        message = f"{name} {_fmt(value)} {word} {_fmt(need)}."
    else:
        word = "is below the minimum" if higher else "is above the maximum"
        message = f"{name} {_fmt(value)} {word} {_fmt(need)}."
    return GateCheck("min_metric", passed, value, need, message)


def _beat_baseline(
    name: str, direction: Direction, value: float | None, base: float | None, by: float
) -> GateCheck:
    if value is None or base is None:
        missing = "the model's" if value is None else "the baseline's"
        return GateCheck(
            "beat_baseline",
            False,
            value,
            by,
            f"{name} could not be computed for {missing} predictions, so the model cannot be "
            "compared with the baseline.",
        )
    margin = value - base if direction == "higher_is_better" else base - value
    passed = margin >= by - 1e-12
    if passed:
        verb = "beats"
        message = (
            f"{name} {_fmt(value)} {verb} the baseline's {_fmt(base)} by {_fmt(margin)} "
            f"(needed {_fmt(by)})."
        )
    elif margin > 0:
        message = (
            f"{name} {_fmt(value)} beats the baseline's {_fmt(base)} by only {_fmt(margin)}; "
            f"needed {_fmt(by)}."
        )
    else:
        message = (
            f"{name} {_fmt(value)} does not beat the baseline's {_fmt(base)} "
            f"(needed a margin of {_fmt(by)}): the model has learned nothing useful."
        )
    return GateCheck("beat_baseline", passed, margin, by, message)


def _fairness(fairness: dict[str, Any], limit: float) -> GateCheck:
    columns = fairness.get("columns") or {}
    if not columns:
        return GateCheck(
            "max_fairness_gap",
            True,
            None,
            limit,
            "No sensitive columns are named, so there was nothing to check.",
        )
    gap = _number(fairness.get("largest_gap"))
    if gap is None:
        return GateCheck(
            "max_fairness_gap",
            True,
            None,
            limit,
            "No group had enough test rows to compare, so there was nothing to check.",
        )
    where = fairness.get("largest_gap_column")
    measure = fairness.get("largest_gap_measure", "gap").replace("_", " ")
    passed = gap <= limit
    relation = "is within" if passed else "is above"
    message = (
        f"The largest fairness {measure}, {_fmt(gap)} for '{where}', {relation} the limit "
        f"{_fmt(limit)}."
    )
    return GateCheck("max_fairness_gap", passed, gap, limit, message)


def _latency(latency: dict[str, float], limit: float) -> GateCheck:
    ms = _number(latency.get("one_row_ms"))
    if ms is None:
        return GateCheck("max_latency_ms", False, None, limit, "Prediction time was not measured.")
    passed = ms <= limit
    relation = "is within" if passed else "is above"
    return GateCheck(
        "max_latency_ms",
        passed,
        ms,
        limit,
        f"One prediction takes {ms:.1f} ms, which {relation} the limit of {limit:g} ms.",
    )


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"
