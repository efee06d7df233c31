"""The monitor on a real project: four weeks scored in batch, labels a week late, alerts."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.metrics import f1_score, roc_auc_score

import steadyml
from steadyml.entities import PredictionRecord
from steadyml.errors import DataError, StateError
from steadyml.samples.churn import make_churn_weeks

Receiver = Any  # the receiver fixture's type (tests/monitoring/conftest.py)

FIRST = dt.date(2026, 1, 5)
SINCE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(days=28)


def _weeks(n_customers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_churn_weeks(n_customers=n_customers, weeks=4, drift_from_week=3,
                            first_monday=FIRST.isoformat(), seed=5)  # fmt: skip


@pytest.fixture(scope="module")
def watched(trained_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trained project, v1 in production, four weeks scored, labels for weeks 1-3."""
    root = tmp_path_factory.mktemp("watched") / "churn"
    shutil.copytree(trained_template, root)
    features, labels = _weeks(1500)
    weeks = sorted(features["snapshot_month"].unique())
    scored = []
    with steadyml.open(root, env={}) as project:
        project.promote(1, "production", reason="watch it", by="test")
        for i, week in enumerate(weeks):
            file = root / f"week{i + 1}.csv"
            features[features["snapshot_month"] == week].to_csv(file, index=False)
            out = root / f"week{i + 1}.scored.parquet"
            project.score_batch(file, out)
            scored.append(pd.read_parquet(out).assign(week=i + 1))
        due = labels[labels["snapshot_month"].isin(weeks[:3])]
        due[["customer_id", "churned"]].to_csv(root / "labels.csv", index=False)
        fb = project.record_feedback_file(root / "labels.csv", id_column="customer_id",
                                          label_column="churned")  # fmt: skip
        assert fb.stored == len(due) and not fb.skipped
        first = project.monitor(since=SINCE, until=UNTIL, window="7d")
        again = project.monitor(since=SINCE, until=UNTIL, window="7d")
    return {
        "root": root,
        "features": features,
        "labels": labels,
        "scored": pd.concat(scored, ignore_index=True),
        "first": first,
        "again": again,
    }


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_four_weekly_windows_with_event_time(watched: dict[str, Any]) -> None:
    result = watched["first"].result
    assert result["time_basis"] == "event:snapshot_month"
    assert [w["start"][:10] for w in result["windows"]] == [
        "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"
    ]  # fmt: skip
    volumes = [w["system"]["volume"] for w in result["windows"]]
    per_week = watched["features"].groupby("snapshot_month").size().tolist()
    assert volumes == per_week  # scored and rejected rows are both in the log
    json.dumps(result)  # the whole result is JSON-safe


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_drift_is_caught_from_week_three_only(watched: dict[str, Any]) -> None:
    windows = watched["first"].result["windows"]
    for w in windows[:2]:
        assert "monthly_charges" not in w["drift"]["drifted"]
        for d in w["drift"]["features"]:
            assert d["test"] in ("ks", "chi_square", "wasserstein", "jensen_shannon")
            assert d["n_current"] >= 200 and d["n_reference"] > 0
    for w in windows[2:]:
        assert "monthly_charges" in w["drift"]["drifted"]
        quality = {f["feature"]: f for f in w["quality"]["features"]}
        assert quality["data_usage_gb"]["missing_rate"] > 0.25
        assert quality["data_usage_gb"]["status"] == "warning"
        assert quality["payment_method"]["unseen_categories"] == ["crypto_wallet"]
        # rows outside the training range are answered now (expectations, issue 11): the
        # monitor sees them as out-of-range values, not as refused rows
        assert quality["monthly_charges"]["out_of_range_rate"] > 0


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_performance_equals_scikit_learn_and_waits_for_labels(watched: dict[str, Any]) -> None:
    windows = watched["first"].result["windows"]
    scored = watched["scored"].merge(watched["labels"][["customer_id", "churned"]],
                                     on="customer_id")  # fmt: skip
    for i, w in enumerate(windows[:3]):
        week = scored[scored["week"] == i + 1]
        perf = w["performance"]
        assert perf["status"] == "ok"
        assert perf["labelled"] == len(week)
        assert perf["metrics"]["roc_auc"] == pytest.approx(
            roc_auc_score(week["churned"], week["score"]), abs=1e-9
        )
        assert perf["metrics"]["f1"] == pytest.approx(
            f1_score(week["churned"], week["prediction"]), abs=1e-9
        )
    assert windows[3]["performance"]["status"] == "waiting for labels"
    assert windows[3]["performance"]["metrics"] == {}
    assert windows[2]["performance"]["drop"] > windows[0]["performance"]["drop"]


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_fairness_equals_fairlearn(watched: dict[str, Any]) -> None:
    w = watched["first"].result["windows"][0]
    scored = watched["scored"].merge(watched["features"][["customer_id", "gender"]],
                                     on="customer_id")  # fmt: skip
    scored = scored.merge(watched["labels"][["customer_id", "churned"]], on="customer_id")
    week = scored[scored["week"] == 1]
    groups = w["fairness"]["gender"]["groups"]
    week = week[week["gender"].isin(list(groups))]  # groups with too few rows are left out
    expected = max(
        demographic_parity_difference(week["churned"], week["prediction"],
                                      sensitive_features=week["gender"]),
        equalized_odds_difference(week["churned"], week["prediction"],
                                  sensitive_features=week["gender"]),
    )  # fmt: skip
    assert w["fairness"]["gender"]["gap"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_alerts_fire_once_and_are_deduplicated(watched: dict[str, Any]) -> None:
    first, again = watched["first"], watched["again"]
    fired = {(o.alert.rule, o.alert.subject) for o in first.fired}
    assert ("feature drift", "monthly_charges") in fired
    assert ("missing values jump", "data_usage_gb") in fired
    assert ("performance drop", None) in fired
    assert first.new_alerts and not again.new_alerts  # the same windows again: nothing new
    with steadyml.open(watched["root"], env={}) as project:
        alerts = project.alerts()
    keys = [a.key for a in alerts]
    assert len(keys) == len(set(keys))  # one open incident per rule and subject
    drift = next(a for a in alerts if a.key == "feature drift|monthly_charges")
    assert drift.times_seen == 2  # weeks 3 and 4, not 4 (two runs over the same weeks)
    assert [e.event for e in drift.history][:3] == ["opened", "notified", "seen again"]


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_ack_and_resolve_keep_history(watched: dict[str, Any], tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(watched["root"], root)
    with steadyml.open(root, env={}) as project:
        alert = project.alerts()[0]
        acked = project.acknowledge_alert(alert.id, by="ana", note="looking")
        assert acked.status == "acknowledged"
        with pytest.raises(StateError):
            project.acknowledge_alert(alert.id, by="ana")
        with pytest.raises(steadyml.SteadyMLError):
            project.resolve_alert(alert.id, note="  ", by="ana")
        done = project.resolve_alert(alert.id, note="retrained on January data", by="ana")
        assert done.status == "resolved"
        assert [(e.event, e.by) for e in done.history][-2:] == [
            ("acknowledged", "ana"), ("resolved", "ana")
        ]  # fmt: skip
        with pytest.raises(StateError):
            project.resolve_alert(alert.id, note="again", by="ana")
        # the problem is still there: the next run opens a new incident for it
        rerun = project.monitor(since=SINCE, until=UNTIL, window="7d", notify=False)
        assert alert.key in {a.key for a in rerun.new_alerts}


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_feedback_last_label_wins_and_duplicates_are_counted(
    watched: dict[str, Any], tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    shutil.copytree(watched["root"], root)
    ids = watched["scored"]["customer_id"].head(3).tolist()
    file = tmp_path / "late.csv"
    pd.DataFrame({"id": [ids[0], ids[0], ids[1], "", ids[2]],
                  "y": [1, 0, 1, 1, None]}).to_csv(file, index=False)  # fmt: skip
    with steadyml.open(root, env={}) as project:
        result = project.record_feedback_file(file, id_column="id", label_column="y")
        assert (result.rows, result.stored, result.duplicates) == (5, 3, 1)
        assert [s["line"] for s in result.skipped] == [5, 6]
        assert project.store.get_feedback(ids[0])[0] == 0  # the last one wins
        with pytest.raises(DataError, match="label column 'outcome' is not a column") as bad:
            project.record_feedback_file(file, id_column="id", label_column="outcome")
        assert bad.value.field == "label_column" and "--" not in str(bad.value)


def test_retention_deletes_only_old_rows(trained_project: Any) -> None:
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    days = trained_project.config.monitoring.retention_days

    def record(i: int, age_days: float) -> PredictionRecord:
        return PredictionRecord(request_id=f"r{i}", at=now - dt.timedelta(days=age_days),
                                model_version=1, route="live", inputs={}, prediction=0,
                                score=0.1, latency_ms=1.0)  # fmt: skip

    trained_project.store.add_predictions(
        [record(0, days + 5), record(1, days + 0.01), record(2, days - 0.01), record(3, 1)]
    )
    assert trained_project.apply_retention(now=now) == 2
    left = {p.request_id for p in trained_project.store.list_predictions()}
    assert left == {"r2", "r3"}


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_new_alerts_reach_a_webhook(watched: dict[str, Any], tmp_path: Path,
                                    receiver: Receiver) -> None:  # fmt: skip
    url = receiver.url
    root = tmp_path / "copy"
    shutil.copytree(watched["root"], root)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(text.replace("    - kind: log", f"    - kind: webhook\n      url: {url}"),
                   encoding="utf-8")  # fmt: skip
    with steadyml.open(root, env={}) as project:
        for alert in project.alerts():
            project.resolve_alert(alert.id, note="start over", by="test")
        run = project.monitor(since=SINCE, until=UNTIL, window="7d")
    bodies = receiver.bodies()
    assert len(bodies) == len(run.new_alerts) > 0
    assert all("text" in b and b["alert"]["project"] == "churn" for b in bodies)
    assert any("monthly_charges" in b["text"] for b in bodies)
    assert all(o.deliveries and o.deliveries[0].ok for o in run.fired if o.is_new)


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_too_few_rows_say_not_enough_data(watched: dict[str, Any]) -> None:
    with steadyml.open(watched["root"], env={}) as project:
        run = project.monitor(since=SINCE, until=SINCE + dt.timedelta(days=7), window="1h",
                              alerts=False)  # fmt: skip
    # every row of week 1 has the same date, so one hour holds them all; the rest are empty
    empty = [w for w in run.result["windows"] if w["system"]["volume"] == 0]
    assert empty and all(w["drift"]["drifted"] == [] for w in empty)
    assert all(w["performance"]["status"] == "waiting for labels" for w in empty)
    busy = [w for w in run.result["windows"] if w["system"]["volume"]]
    assert len(busy) == 1
    statuses = {d["status"] for d in busy[0]["drift"]["features"]}
    assert statuses <= {"ok", "drift"}
    assert np.isclose(busy[0]["system"]["volume"], 1500 * 1.0, rtol=0.05)


@pytest.mark.slow  # the watched project: four weeks scored and monitored (~6 s)
def test_cli_monitor_feedback_and_alerts(watched: dict[str, Any], tmp_path: Path, cli: Any) -> None:
    from steadyml.cli.app import app

    root = tmp_path / "copy"
    shutil.copytree(watched["root"], root)
    p = ["--project", str(root)]
    report = tmp_path / "report.html"
    run = cli.invoke(app, [*p, "monitor", "--since", "2026-01-05", "--until", "2026-02-02",
                           "--window", "7d", "--report", str(report)])  # fmt: skip
    assert run.exit_code == 3, run.output  # alerts are open
    assert "Drift in the latest window" in run.stdout and "alert(s) open in total" in run.stdout
    assert "waiting for" in run.stdout  # (a narrow console wraps the cell)
    assert report.read_text(encoding="utf-8").count("<script src=") == 0
    as_json = cli.invoke(app, [*p, "monitor", "--since", "2026-01-05", "--until", "2026-02-02",
                               "--window", "7d", "--json"])  # fmt: skip
    data = json.loads(as_json.stdout)
    assert len(data["windows"]) == 4 and data["new_alerts"] == []
    assert "monthly_charges" in data["windows"][3]["drift"]["drifted"]
    bad = cli.invoke(app, [*p, "monitor", "--window", "7 days"])
    assert bad.exit_code == 2 and "is not a window length" in bad.output

    # too few rows for any drift test: the table says so and the hint names the setting
    cfg = yaml.safe_load((root / "steadyml.yaml").read_text(encoding="utf-8"))
    cfg["monitoring"]["min_samples"] = 10**7
    (root / "steadyml.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    starved = cli.invoke(app, [*p, "monitor", "--since", "2026-01-05", "--until", "2026-02-02",
                               "--window", "7d", "--no-alerts"])  # fmt: skip
    flat = " ".join(starved.stdout.split())
    assert "Drift is not tested below 10,000,000 values on each side" in flat, starved.output
    assert "monitoring.min_samples" in flat
    bad_since = cli.invoke(app, [*p, "monitor", "--since", "last tuesday"])
    assert bad_since.exit_code == 2 and "neither a date" in bad_since.output

    listed = cli.invoke(app, [*p, "alerts", "list", "--json"])
    alerts = json.loads(listed.stdout)
    assert alerts and all(a["status"] == "open" for a in alerts)
    first = str(alerts[-1]["id"])
    assert cli.invoke(app, [*p, "alerts", "ack", first, "--by", "ana"]).exit_code == 0
    missing_note = cli.invoke(app, [*p, "alerts", "resolve", first])
    assert missing_note.exit_code == 2 and "--note" in missing_note.output
    done = cli.invoke(app, [*p, "alerts", "resolve", first, "--note", "retrained", "--by", "ana"])
    assert done.exit_code == 0, done.output
    shown = cli.invoke(app, [*p, "alerts", "show", first])
    assert "resolved by ana: retrained" in shown.stdout
    unknown = cli.invoke(app, [*p, "alerts", "ack", "9999"])
    assert unknown.exit_code == 1 and "There is no alert 9999" in unknown.output

    labels = tmp_path / "labels.csv"
    labels.write_text("customer_id,churned\nX1,1\n,0\n", encoding="utf-8")
    fb = cli.invoke(app, [*p, "feedback", str(labels), "--id-column", "customer_id",
                          "--label-column", "churned"])  # fmt: skip
    assert fb.exit_code == 0, fb.output
    assert "Read 2 rows: 1 labels stored, 1 skipped." in fb.stdout
    assert "line 3: customer_id is empty" in fb.stdout
    assert "match no logged prediction yet (X1)" in fb.stdout
