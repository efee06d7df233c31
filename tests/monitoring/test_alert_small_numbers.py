"""Small numbers are not alarms: a rate rule needs enough rows behind the rate, a latency
rule enough answers, a "volume below" rule a window that has ended.

Found while storing calendar windows: the worker now measures the current day so far, and
one refused request out of three just after midnight read as a 33 % error rate.
"""

from __future__ import annotations

from typing import Any

import pytest

import steadyml
from steadyml.config import AlertRule
from steadyml.monitoring.alerts import MIN_RATE_EVENTS, evaluate_rules

START, END = "2026-12-07T00:00:00+00:00", "2026-12-08T00:00:00+00:00"


def _result(volume: int, errors: int, *, p95: float = 5.0, missing: float = 0.0,
            generated_at: str = "2026-12-08T06:00:00+00:00") -> dict[str, Any]:  # fmt: skip
    window = {
        "start": START, "end": END,
        "system": {"volume": volume, "by_route": {"live": volume},
                   "latency_ms": {"p50": 1.0, "p95": p95, "p99": p95},
                   "error_rate": errors / volume if volume else 0.0, "fallback_rate": 0.0},
        "quality": {"rows": volume, "contract_violation_rate": 0.0,
                    "features": [{"feature": "age", "missing_rate": missing,
                                  "reference_missing_rate": 0.0, "unseen_rate": 0.0,
                                  "out_of_range_rate": 0.0}]},
        "drift": {"features": [], "drifted": [], "prediction": None},
        "performance": {"labelled": 0, "metrics": {}},
        "fairness": {},
    }  # fmt: skip
    return {"window": "1d", "windows": [window], "model_version": 1,
            "generated_at": generated_at}  # fmt: skip


def _rule(metric: str, comparison: str = ">", threshold: float = 0.05) -> AlertRule:
    return AlertRule(name=metric, metric=metric, comparison=comparison, threshold=threshold,
                     window="1d", severity="critical")  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "result", "fires"),
    [
        (_rule("error_rate"), _result(3, 1), False),  # 1 of 3: 33 %, one row
        (_rule("error_rate"), _result(12, MIN_RATE_EVENTS - 1), False),
        (_rule("error_rate"), _result(12, MIN_RATE_EVENTS), True),  # 5 of 12 failed
        (_rule("error_rate"), _result(20, 20), True),  # a real outage on little traffic
        (_rule("error_rate"), _result(2_000, 120), True),  # 6 % of a full day
        (_rule("missing_rate:age"), _result(4, 0, missing=0.5), False),  # 2 rows
        (_rule("missing_rate:age"), _result(100, 0, missing=0.5), True),
        (_rule("latency_p95_ms", threshold=100), _result(5, 0, p95=400), False),
        (_rule("latency_p95_ms", threshold=100), _result(50, 0, p95=400), True),
        # the day is not over at 06:00: its volume is not final
        (
            _rule("volume", "<", 100),
            _result(10, 0, generated_at="2026-12-07T06:00:00+00:00"),
            False,
        ),
        (_rule("volume", "<", 100), _result(10, 0), True),  # the whole day: 10 requests
    ],
)
def test_small_numbers_raise_no_alert(trained_project_dir: Any, rule: AlertRule,
                                      result: dict[str, Any], fires: bool) -> None:  # fmt: skip
    with steadyml.open(trained_project_dir, env={}) as project:
        fired = evaluate_rules(project.store, project.config, result, rules=[rule], notify=False)
    assert bool(fired) is fires
