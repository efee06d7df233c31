"""Alert rules: read each window's numbers, raise or update incidents, tell the owners.

A rule is ``metric comparison threshold`` (from ``monitoring.alerts`` in steadyml.yaml).
It is checked on every window of a monitor run whose length matches the rule's ``window``.
Small numbers are not alarms: a rate rule (errors, fallbacks, contract refusals, missing,
unseen or out-of-range values) fires only when at least ``MIN_RATE_EVENTS`` rows make the rate
(1 refused request out of 3, just after midnight, is not a 33 % error rate worth a page), a
latency rule only over at least ``MIN_LATENCY_ROWS`` answers, and a "volume below" rule only on
a window that has ended (the current window's count is not final).

The store deduplicates: the same rule on the same subject (a feature, a group) keeps one
incident open, however often the monitor runs; the channels are told only when an incident
opens. An incident stays open until a person resolves it (``steadyml alerts resolve``).
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from steadyml.config import AlertRule, ProjectConfig
from steadyml.entities import Alert
from steadyml.monitoring.channels import Delivery, deliver_all
from steadyml.monitoring.monitor import expand, window_metrics
from steadyml.store import Store
from steadyml.store.monitoring import AlertFiring

__all__ = ["AlertOutcome", "evaluate_rules", "describe"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


MIN_RATE_EVENTS = 5
MIN_LATENCY_ROWS = 20
_SYSTEM_RATES = ("error_rate", "fallback_rate")
_QUALITY_RATES = ("contract_violation_rate", "missing_rate:", "missing_increase:",
                  "unseen_rate:", "out_of_range_rate:")  # fmt: skip


def too_few(metric: str, value: float, rule: AlertRule, window: Mapping[str, Any],
            measured_at: str | None) -> bool:  # fmt: skip
    """True when ``metric`` on ``window`` rests on too few rows to raise an alert."""
    above = rule.comparison in {">", ">="}
    if metric.startswith(_SYSTEM_RATES) and above:
        rows = float((window.get("system") or {}).get("volume") or 0)
        return value * rows < MIN_RATE_EVENTS - 1e-9
    if metric.startswith(_QUALITY_RATES) and above:
        rows = float((window.get("quality") or {}).get("rows") or 0)
        return value * rows < MIN_RATE_EVENTS - 1e-9
    if metric.startswith("latency_"):
        return float((window.get("system") or {}).get("volume") or 0) < MIN_LATENCY_ROWS
    if metric == "volume" and not above and measured_at and window.get("end"):
        end = dt.datetime.fromisoformat(str(window["end"]))
        now = dt.datetime.fromisoformat(str(measured_at))
        return end > now  # the current window: its count is not final
    return False


@dataclass(frozen=True)
class AlertOutcome:
    """One rule firing on one window, after deduplication."""

    alert: Alert
    is_new: bool
    deliveries: tuple[Delivery, ...] = ()


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if abs(value) < 1 and value != 0:
        return f"{value:.3f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"  # 25,776, not 2.578e+04
    return f"{value:,.4g}"


def describe(metric: str, subject: str | None, value: float | None, rule: AlertRule,
             window: Mapping[str, Any]) -> tuple[str, str]:  # fmt: skip
    """A plain message and the next step for a firing rule."""
    family = metric.split(":", 1)[0]
    label = window.get("label", "")
    if family == "drift" and subject:
        drift = next((d for d in window["drift"]["features"] if d["feature"] == subject), None)
        text = drift["message"] if drift else f"{subject} drifted"
        return (
            f"{text} (window {label})",
            "Compare the reference and current histograms in the monitoring report "
            "(steadyml monitor --report monitor.html). If the change is real and lasting, "
            "retrain on recent labelled data (steadyml retrain), which compares the new model "
            "with this one on the same rows before anyone promotes it.",
        )
    if family == "psi" and subject:
        return (
            f"{subject}: population stability index {_fmt(value)} (line: {rule.threshold}) "
            f"in {label}",
            "A PSI above 0.2 usually means the feature's mix changed; see the drift table.",
        )
    if family in ("missing_rate", "missing_increase") and subject:
        q = next((f for f in window["quality"]["features"] if f["feature"] == subject), None)
        ref = q["reference_missing_rate"] if q else 0.0
        return (
            f"{subject} is missing in {q['missing_rate'] if q else 0:.0%} of rows in {label} "
            f"(training: {ref:.0%})",
            f"Check the system that fills {subject} upstream: a broken join or a renamed field "
            "often shows up as a jump in missing values.",
        )
    if family == "unseen_rate" and subject:
        q = next((f for f in window["quality"]["features"] if f["feature"] == subject), None)
        seen = ", ".join((q or {}).get("unseen_categories", [])[:3])
        return (
            f"{_fmt(value)} of {subject} values in {label} were never seen in training ({seen})",
            "The model treats unseen values as unknown. If the new values are here to stay, "
            "retrain on data that includes them (steadyml retrain adds the labelled live rows).",
        )
    if family == "out_of_range_rate" and subject:
        return (
            f"{_fmt(value)} of {subject} values in {label} are outside the training range",
            "Check for a unit change or bad values upstream; the model was never shown them.",
        )
    if family in ("estimated_performance_drop", "estimated_performance_drop_share"):
        est = window.get("estimate") or {}
        name = est.get("success_metric") or "the success metric"
        block = (est.get("metrics") or {}).get(name) or {}
        trust = (
            "" if est.get("reliable")
            else " — marked unreliable: " + "; ".join(est.get("problems") or [])
        )  # fmt: skip
        return (
            f"Estimated performance dropped in {label} (before labels): {name} about "
            f"{_fmt(block.get('value'))} (95 % interval {_fmt(block.get('lower'))} to "
            f"{_fmt(block.get('upper'))}) on {est.get('rows', 0):,} predictions, "
            f"{_fmt(est.get('drop'))} worse than in training{trust}",
            "This is an estimate from the model's calibrated scores, not from labels: check "
            "the drift table for the cause, and confirm with labels as they arrive (the "
            "monitor shows each estimate beside the realised value).",
        )
    if family in ("performance_drop", "performance_drop_share") or metric == window.get(
        "success_metric"
    ):
        perf = window["performance"]
        success = window.get("success_metric") or "the success metric"
        live = (perf.get("metrics") or {}).get(success)
        drop, share = perf.get("drop"), perf.get("drop_share")
        worse = f", {_fmt(drop)} worse than in training" if drop is not None else ""
        if share is not None:
            worse += f" ({share:+.0%})"
        return (
            f"Performance dropped in {label}: {success} {_fmt(live)} on {perf['labelled']} "
            f"labelled predictions{worse}",
            "Look at the drift table and the segments for the cause; retrain with recent "
            "labelled data (steadyml retrain), which compares the new model with this one on "
            "the same rows; promote only a better model.",
        )
    if family == "fairness_gap" and subject:
        return (
            f"The gap between {subject} groups reached {_fmt(value)} in {label} "
            f"(line: {rule.threshold})",
            f"Compare the {subject} groups in the report's fairness section and review with the "
            "model's owner before the next release.",
        )
    if family in ("error_rate", "fallback_rate", "contract_violation_rate"):
        return (
            f"{metric.replace('_', ' ')} was {_fmt(value)} in {label} (line: {rule.threshold})",
            "Look at the server log and the rejected requests: a client may be sending a new "
            "format, or the model failed and the fallback answered.",
        )
    if family.startswith("latency"):
        return (
            f"{metric.replace('_', ' ')} was {_fmt(value)} in {label} (line: {rule.threshold})",
            "Check the server's load and CPU; more workers (steadyml serve --workers N) or a "
            "smaller model may help.",
        )
    return (
        f"{metric} was {_fmt(value)} in {label} ({rule.comparison} {rule.threshold})",
        "Open the monitoring report for the window and compare it with training.",
    )


def evaluate_rules(
    store: Store,
    config: ProjectConfig,
    result: Mapping[str, Any],
    *,
    rules: Sequence[AlertRule] | None = None,
    notify: bool = True,
    env: Mapping[str, str] | None = None,
    logger: logging.Logger | None = None,
) -> list[AlertOutcome]:
    """Check the rules on every window of ``result``; returns what fired (new or again)."""
    rules = list(config.monitoring.alerts if rules is None else rules)
    outcomes: list[AlertOutcome] = []
    for window in result["windows"]:
        numbers = window_metrics(window)
        context = {**window, "success_metric": result.get("success_metric")}
        for rule in rules:
            if rule.window != result["window"]:
                continue
            for metric in expand(rule.metric, numbers):
                value = numbers.get(metric)
                if value is None or not _COMPARE[rule.comparison](value, rule.threshold):
                    continue
                if too_few(metric, float(value), rule, window, result.get("generated_at")):
                    continue
                subject = metric.split(":", 1)[1] if ":" in metric else None
                message, next_step = describe(metric, subject, value, rule, context)
                severity = rule.severity
                if (
                    metric.startswith("estimated_")
                    and severity == "critical"
                    and not (window.get("estimate") or {}).get("reliable")
                ):  # an unreliable estimate alone never raises a critical alert
                    severity = "warning"
                    message += " (a warning, not critical: the estimate is unreliable)"
                firing = AlertFiring(
                    key=f"{rule.name}|{subject or ''}",
                    rule=rule.name,
                    metric=metric,
                    subject=subject,
                    severity=severity,
                    owner=rule.owner or config.owners.monitoring,
                    value=float(value),
                    comparison=rule.comparison,
                    threshold=rule.threshold,
                    window_start=dt.datetime.fromisoformat(window["start"]),
                    window_end=dt.datetime.fromisoformat(window["end"]),
                    model_version=result.get("model_version"),
                    message=message,
                    next_step=next_step,
                )
                alert, is_new = store.record_firing(firing)
                deliveries: tuple[Delivery, ...] = ()
                if is_new and notify:
                    payload = {**alert.to_dict(), "project": config.project.name}
                    deliveries = tuple(
                        deliver_all(config.monitoring.channels, payload, env=env, logger=logger)
                    )
                    store.add_alert_event(
                        alert.id,
                        "notified",
                        note="; ".join(f"{d.channel}: {d.detail}" for d in deliveries),
                    )
                outcomes.append(AlertOutcome(alert=alert, is_new=is_new, deliveries=deliveries))
    return outcomes
