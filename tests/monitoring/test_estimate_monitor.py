"""Estimates in the monitor on a real project: each window estimated before labels, stored,
then shown beside the realised value once the labels arrive (SQLite and PostgreSQL), in the
JSON, the CLI and the HTML report; the alert metric; the training side."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import steadyml
from steadyml.monitoring.alerts import evaluate_rules
from steadyml.samples.churn import make_churn_weeks
from steadyml.store import open_store
from steadyml.store.estimates import EstimateRecord, estimates_of

SINCE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
UNTIL = SINCE + dt.timedelta(days=21)


def _label(root: Path, labels: pd.DataFrame, weeks: list[Any], project: Any) -> None:
    due = labels[labels["snapshot_month"].isin(weeks)]
    due[["customer_id", "churned"]].to_csv(root / "labels.csv", index=False)
    project.record_feedback_file(root / "labels.csv", id_column="customer_id",
                                 label_column="churned")  # fmt: skip


@pytest.mark.slow  # a trained project, three weeks scored and monitored twice (~10 s)
def test_monitor_estimates_each_window_and_backtests_it(
    trained_template: Path, tmp_path: Path, cli: Any
) -> None:
    root = tmp_path / "churn"
    shutil.copytree(trained_template, root)
    features, labels = make_churn_weeks(n_customers=1500, weeks=3, drift_from_week=3,
                                        first_monday="2026-01-05", seed=5)  # fmt: skip
    weeks = sorted(features["snapshot_month"].unique())
    with steadyml.open(root, env={}) as project:
        mv = project.store.get_model_version(1)
        estimation = mv.reference["estimation"]
        assert estimation["kind"] == "classification"
        assert estimation["ece_before"] is not None and estimation["rows"] > 100
        project.promote(1, "production", reason="watch it", by="test")
        for i, week in enumerate(weeks):
            file = root / f"week{i + 1}.csv"
            features[features["snapshot_month"] == week].to_csv(file, index=False)
            project.score_batch(file, root / f"week{i + 1}.scored.parquet")
        _label(root, labels, weeks[:2], project)
        first = project.monitor(since=SINCE, until=UNTIL, window="7d").result
        windows = first["windows"]
        assert len(windows) == 3
        for w in windows:
            est = w["estimate"]
            assert est["status"] == "ok", est
            name = est["success_metric"]
            block = est["metrics"][name]
            assert block["lower"] <= block["value"] <= block["upper"]
            assert est["assumptions"]["window_rows"] == w["system"]["volume"]
            assert est["assumptions"]["calibration_error"] == estimation["ece_after"]
            assert "outside_support" in est["assumptions"]
        assert windows[0]["estimate"]["realised"] and windows[1]["estimate"]["realised"]
        assert windows[2]["estimate"]["realised"] is None  # week 3: no labels yet
        real = windows[0]["performance"]["metrics"][name]
        assert windows[0]["estimate"]["errors"][name] == pytest.approx(
            abs(windows[0]["estimate"]["metrics"][name]["value"] - real)
        )
        stored = estimates_of(project.store).list_estimates(metric=name)
        assert [s.realised is not None for s in stored] == [True, True, False]
        before = stored[2]
        assert first["backtest"]["metrics"][name]["realised"] == 2
        assert 0 <= first["backtest"]["metrics"][name]["coverage"] <= 1

        _label(root, labels, weeks, project)  # week 3's labels arrive
        second = project.monitor(since=SINCE, until=UNTIL, window="7d").result
        stored = estimates_of(project.store).list_estimates(metric=name)
        assert all(s.realised is not None for s in stored)
        assert stored[2].estimated == before.estimated  # the estimate made before labels
        assert stored[2].realised == second["windows"][2]["performance"]["metrics"][name]
        assert second["backtest"]["metrics"][name]["realised"] == 3
        # the same weeks again, from a day later: windows that overlap the stored ones
        # count once in the back-test (the newest), not twice
        moved = project.monitor(
            since=SINCE + dt.timedelta(days=1), until=UNTIL + dt.timedelta(days=1), window="7d"
        ).result
        assert len(estimates_of(project.store).list_estimates(metric=name)) > 3
        assert moved["backtest"]["metrics"][name]["realised"] == 3
        spans = [(p["window_start"], p["window_end"]) for p in moved["backtest"]["series"]]
        assert spans == sorted(spans)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))

        # the alert metric; an unreliable estimate alone never raises a critical alert
        from steadyml.config import AlertRule

        rule = AlertRule(name="est", metric="estimated_performance_drop", comparison=">",
                         threshold=-10, window="7d", severity="critical")  # fmt: skip
        shaky = json.loads(json.dumps(second))
        shaky["windows"] = shaky["windows"][:1]
        shaky["windows"][0]["estimate"].update(reliable=False, problems=["only 3 rows"])
        fired = evaluate_rules(project.store, project.config, shaky, rules=[rule], notify=False)
        assert [o.alert.severity for o in fired] == ["warning"]
        assert "unreliable" in fired[0].alert.message

    p = ["--project", str(root)]
    report = tmp_path / "report.html"
    run = cli.invoke(steadyml_app(), [*p, "monitor", "--since", "2026-01-05", "--until",
                                      "2026-01-26", "--window", "7d", "--no-alerts",
                                      "--report", str(report)])  # fmt: skip
    assert run.exit_code in (0, 3), run.output
    flat = " ".join(run.stdout.split())
    assert "Estimated" in flat and "Back-test of estimated" in flat, run.output
    html = report.read_text(encoding="utf-8")
    assert "Estimated performance" in html and "Back-test of estimated" in html
    as_json = cli.invoke(steadyml_app(), [*p, "monitor", "--since", "2026-01-05", "--until",
                                          "2026-01-26", "--window", "7d", "--no-alerts",
                                          "--json"])  # fmt: skip
    data = json.loads(as_json.stdout)
    assert data["windows"][0]["estimate"]["status"] == "ok"
    # week 3 drifted: the shift check moved its interval, and says so in the CLI and report
    latest = data["windows"][-1]["estimate"]["metrics"][name]
    assert latest["shift_note"] and latest["shift_bias"]
    assert "Shift check: the interval was moved" in flat
    assert "interval moved" in html and "(shift check)" in html
    assert data["backtest"]["metrics"][name]["realised"] == 3


def steadyml_app() -> Any:
    from steadyml.cli.app import app

    return app


def test_backtest_rows_keep_the_estimate_and_take_the_realised_value(store_url: str) -> None:
    store = open_store(store_url, project="churn")
    try:
        repo = estimates_of(store)
        start = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        rec = EstimateRecord(
            model_version=1, window="7d", window_start=start,
            window_end=start + dt.timedelta(days=7), metric="f1", estimated=0.61, lower=0.55,
            upper=0.67, method="parametric bootstrap", reliable=True, rows=900,
        )  # fmt: skip
        repo.record_estimates([rec])
        repo.record_estimates([dataclasses.replace(rec, estimated=0.62, rows=1000)])
        (only,) = repo.list_estimates()
        assert (only.estimated, only.rows, only.realised, only.covered) == (0.62, 1000, None, None)
        repo.record_estimates([dataclasses.replace(rec, estimated=0.7, realised=0.58,
                                                   labelled=800)])  # fmt: skip
        repo.record_estimates([dataclasses.replace(rec, estimated=0.9, realised=0.5,
                                                   labelled=950)])  # fmt: skip
        (only,) = repo.list_estimates()
        # the estimate of the run that first saw labels (made from the scores alone) stays
        assert only.estimated == 0.7
        assert (only.realised, only.labelled) == (0.5, 950)
        assert only.error == pytest.approx(0.2) and only.covered is False
        assert only.to_dict()["window_start"] == start.isoformat()
        assert repo.list_estimates(model_version=2) == []
    finally:
        store.close()


@pytest.mark.slow  # a regression project trained, scored and monitored (~15 s)
def test_a_regression_window_is_estimated_from_the_stored_error_model(tmp_path: Path) -> None:
    """The error model is stored as its own artifact with the version; the monitor runs it
    over the logged rows and estimates the window's MAE before labels (the noise grows with
    x1, and the live rows have larger x1: a larger error than at training); once the labels
    are in, the realised MAE lies inside the interval."""
    import numpy as np
    from typer.testing import CliRunner

    rng = np.random.default_rng(8)

    def rows(n: int, lo: float, hi: float, start: int) -> pd.DataFrame:
        x1 = rng.uniform(lo, hi, n)
        x2 = rng.choice(["a", "b", "c"], n)
        noise = rng.normal(0, 1 + 3 * np.abs(x1))
        return pd.DataFrame({"row_id": np.arange(start, start + n), "x1": x1.round(4),
                             "x2": x2, "y_num": (5 * x1 + (x2 == "b") * 2 + noise).round(3)})  # fmt: skip

    (tmp_path / "table.csv").write_text(rows(3000, -1, 1, 0).to_csv(index=False))
    made = CliRunner().invoke(steadyml_app(), ["init", str(tmp_path / "p"), "--data",
                                               str(tmp_path / "table.csv"), "--target", "y_num"])  # fmt: skip
    assert made.exit_code == 0, made.output
    live = rows(3000, 0.5, 1.0, 10_000)
    live.drop(columns=["y_num"]).to_csv(tmp_path / "live.csv", index=False)
    live[["row_id", "y_num"]].to_csv(tmp_path / "labels.csv", index=False)
    with steadyml.open(tmp_path / "p", env={}) as project:
        mv = project.train().model_version
        assert mv is not None
        record = mv.reference["estimation"]
        assert record["method"] == "dle" and record["error_model_digest"]
        project.score_batch(tmp_path / "live.csv", tmp_path / "live.scored.parquet",
                            model_version=mv.version)  # fmt: skip
        watch = {"window": "7d", "alerts": False, "model_version": mv.version}
        before = project.monitor(**watch).result["windows"][-1]["estimate"]
        assert before["status"] == "ok", before
        mae = before["metrics"]["mae"]
        assert before["realised"] is None
        assert mae["value"] > record["mae"] * 1.2  # the live rows' errors are larger
        project.record_feedback_file(tmp_path / "labels.csv", id_column="row_id",
                                     label_column="y_num")  # fmt: skip
        after = project.monitor(**watch).result["windows"][-1]["estimate"]
        real = after["realised"]["mae"]
        assert mae["lower"] <= real <= mae["upper"], (mae, real)
        assert after["metrics"]["mae"]["value"] == pytest.approx(mae["value"])
