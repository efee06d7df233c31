"""A lone surrogate in the SQL prediction log is read as an escape, never a crash."""

from __future__ import annotations

import datetime as dt
from typing import Any

from steadyml.entities import PredictionRecord
from steadyml.predlog.reader import REPAIRED, read_log, repair_text

BAD = "basic\ud800"  # a lone surrogate: valid in a JSON body, not in any UTF-8 text


def test_repair_text_escapes_only_what_utf8_cannot_hold() -> None:
    assert repair_text("plain é") == "plain é"
    assert repair_text(BAD) == "basic\\ud800"


def test_a_lone_surrogate_in_the_sql_log_is_read_and_counted(trained_project: Any) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    good = PredictionRecord(request_id="r0", at=now, model_version=1, route="live",
                            inputs={"plan": "basic", "tenure_months": 3}, prediction=0,
                            score=0.1, latency_ms=1.0)  # fmt: skip
    bad = PredictionRecord(request_id="r1", at=now, model_version=1, route="live",
                           inputs={"plan": BAD, "tenure_months": 4}, prediction=0, score=0.2,
                           latency_ms=1.0, error=f"contract: plan {BAD!r} is not allowed")  # fmt: skip
    trained_project.store.add_predictions([good, bad])

    frames = list(read_log(trained_project.store, trained_project.artifacts))
    log = frames[0].set_index("request_id")
    assert log.loc["r1", "plan"] == "basic\\ud800" and log.loc["r0", "plan"] == "basic"
    assert "\\ud800" in log.loc["r1", "error"]
    assert log[REPAIRED].to_dict() == {"r0": False, "r1": True}

    run = trained_project.monitor(since=now - dt.timedelta(days=1), until=now + dt.timedelta(days=1),
                                  window="1d", alerts=False)  # fmt: skip
    windows = [w for w in run.result["windows"] if w["system"]["volume"]]
    assert sum(w["quality"]["text_repaired"] for w in windows) == 1
    assert sum(w["system"]["volume"] for w in windows) == 2

    html = trained_project.monitor_report(run.result)
    assert "(logged text)" in html and "lone surrogate" in html
