"""The monitor read a piece at a time gives the numbers of the whole period read at once.

The oracle (``_whole``) is the monitor as it was before it streamed: the log of the period as
one frame (``load_log``), cut into windows, each measured by ``measures`` and
``performance`` on all its rows. The streamed run reads 7 rows at a time, so windows and
pieces cut each other everywhere; the log mixes a batch run's file with SQL rows (shadow,
refused, fallback, a lone surrogate), and labels for some rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from steadyml.config import parse_duration
from steadyml.entities import PredictionRecord
from steadyml.errors import SteadyMLError
from steadyml.monitoring.drift_stats import ks_counts, ks_sorted, wasserstein_counts
from steadyml.monitoring.estimate_window import estimate_block
from steadyml.monitoring.inputs import typed_inputs
from steadyml.monitoring.measures import data_quality, system_health, window_drift
from steadyml.monitoring.monitor import _baseline, _estimator, run_monitor
from steadyml.monitoring.performance import measure_performance
from steadyml.monitoring.references import NumericReference
from steadyml.monitoring.stream import _percentiles
from steadyml.monitoring.tally import ValueCounts
from steadyml.monitoring.windows import load_log, period, window_edges, window_label, window_rows
from steadyml.predlog.reader import REPAIRED
from steadyml.samples.churn import make_churn_weeks
from steadyml.training.reference import category_labels

SINCE = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _whole(project: Any, window: str, since: Any, until: Any) -> dict[str, Any]:
    store, config = project.store, project.config
    version = store.get_model_version(1)
    run = store.get_run(version.run_number)
    log = load_log(store, since=since, until=until, model_version=1,
                   time_column=config.data.timestamp, artifacts=project.artifacts)  # fmt: skip
    size = parse_duration(window)
    since, until = period(log, since, until, size, dt.datetime.now(dt.UTC))
    feedback = store.all_feedback()
    by_request = log["request_id"].map(lambda k: feedback.get(k, (None,))[0])
    by_row = log["row_key"].map(
        lambda k: feedback.get(k, (None,))[0] if isinstance(k, str) else None
    )
    log["label"] = by_request.where(by_request.notna(), by_row)
    base = _baseline(config, version, run)
    windows = []
    for start, end in window_edges(since, until, size):
        rows = window_rows(log, start, end)
        served = rows[rows["route"] != "shadow"]
        fallback = served["fallback"].astype(bool)
        answered = served["error"].isna() & ~fallback
        violations = int(served["error"].astype(str).str.startswith("contract:").sum())
        current = served.copy()
        typed_inputs(current, base.features, base.codes, base.types)
        scored = current[answered.to_numpy()]
        perf, segs, fair = measure_performance(scored, base.labels, base.training_metrics,
                                               base.success, base.segments, base.sensitive)  # fmt: skip
        quality = data_quality(current, violations, len(served), base.features, base.codes)
        quality["text_repaired"] = int(rows[REPAIRED].fillna(False).astype(bool).sum())
        drift = window_drift(current, scored, base.references, base.prediction, base.settings)
        # the estimate from the window's scores at once (the monitor: counted piece by piece)
        scores = scored["score"].astype(float).dropna().to_numpy()
        numeric, categories = _feature_counts(current, base)
        estimate = estimate_block(_estimator(version, base), *np.unique(scores, return_counts=True),
                                  quality, perf, numeric=numeric,
                                  categories=categories)  # fmt: skip
        windows.append({"start": start.isoformat(), "end": end.isoformat(),
                        "label": window_label(start, end), "system": system_health(rows),
                        "quality": quality, "drift": drift, "performance": perf,
                        "segments": segs, "fairness": fair, "estimate": estimate})  # fmt: skip
    return {"rows": len(log), "since": since.isoformat(), "until": until.isoformat(),
            "windows": windows}  # fmt: skip


def _feature_counts(current: pd.DataFrame, base: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The window's feature values counted at once (the monitor: piece by piece), for the
    estimate's shift check."""
    numeric: dict[str, Any] = {}
    categories: dict[str, Any] = {}
    for name, reference in base.references.items():
        if name not in current.columns:
            continue
        if isinstance(reference, NumericReference):
            x = current[name].to_numpy(dtype=float, na_value=np.nan)
            numeric[name] = np.unique(x[~np.isnan(x)], return_counts=True)
        else:
            labels = category_labels(current[name]).dropna()
            categories[name] = {str(k): int(v) for k, v in labels.value_counts().items()}
    return numeric, categories


def _same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, a, b)
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (where, a, b)
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert a == b or (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9), (
            where, a, b)  # fmt: skip
    else:
        assert a == b, (where, a, b)


@pytest.fixture
def logged(trained_project: Any) -> Any:
    """Three weeks scored in batch (event time), SQL rows of every kind, labels for week 1."""
    project = trained_project
    project.promote(1, "production", reason="watch it", by="test")
    features, labels = make_churn_weeks(n_customers=260, weeks=3, drift_from_week=3,
                                        first_monday="2026-01-05", seed=7)  # fmt: skip
    file = project.root / "weeks.csv"
    features.to_csv(file, index=False)
    project.score_batch(file, project.root / "weeks.scored.parquet")
    records = []
    sample = features.head(40).astype(object).where(features.head(40).notna(), None)
    for i, row in enumerate(sample.to_dict("records")):
        inputs = {k: v for k, v in row.items() if k not in ("email", "phone")}
        if i % 9 == 0:
            inputs["plan"] = "basic\ud800"
        if i % 7 == 0:
            inputs["contract"] = "lifetime"  # never seen in training
        records.append(PredictionRecord(
            request_id=f"sql{i}", at=SINCE + dt.timedelta(hours=i), model_version=1,
            route="shadow" if i % 5 == 0 else "live", inputs=inputs, prediction=i % 2,
            score=0.1 + i / 100, latency_ms=float(i % 13),
            fallback=i % 11 == 0, error="contract: plan broke it" if i % 6 == 0 else None))  # fmt: skip
    project.store.add_predictions(records)
    week1 = labels[labels["snapshot_month"] == "2026-01-05"]
    week1[["customer_id", "churned"]].to_csv(project.root / "labels.csv", index=False)
    project.record_feedback_file(project.root / "labels.csv", id_column="customer_id",
                                 label_column="churned")  # fmt: skip
    project.record_labels([(f"sql{i}", i % 2) for i in range(0, 40, 3)])
    return project


@pytest.mark.slow  # a batch run and three monitor runs (~5 s)
@pytest.mark.parametrize(("window", "since", "until"), [
    ("7d", SINCE, SINCE + dt.timedelta(days=21)),
    ("1d", None, None),
])  # fmt: skip
def test_streamed_windows_equal_the_whole_period_at_once(
    logged: Any, window: str, since: Any, until: Any
) -> None:
    store = logged.store
    version = store.get_model_version(1)
    run = store.get_run(version.run_number)
    streamed = run_monitor(store, logged.config, version, run, since=since, until=until,
                           window=window, artifacts=logged.artifacts, piece_rows=7,
                           also=["3d"])  # fmt: skip
    whole = _whole(logged, window, since, until)
    _same(whole, {k: streamed.data[k] for k in whole})
    _same(_whole(logged, "3d", since, until), {k: streamed.others["3d"].data[k] for k in whole})
    busy = [w for w in streamed.windows if w["system"]["volume"]]
    assert len(busy) >= 3 and streamed.data["rows"] > 400
    assert sum(w["quality"]["text_repaired"] for w in streamed.windows) == 5
    assert any(w["performance"]["status"] == "ok" for w in busy)
    assert any(d["test"] for w in busy for d in w["drift"]["features"])
    assert any(w["segments"] for w in busy) and any(w["fairness"] for w in busy)
    # pieces of 50,000 rows: the same numbers again
    default = run_monitor(store, logged.config, version, run, since=since, until=until,
                          window=window, artifacts=logged.artifacts)  # fmt: skip
    _same(whole, {k: default.data[k] for k in whole})


def test_counted_values_give_the_statistics_of_the_values() -> None:
    rng = np.random.default_rng(3)
    ref = np.sort(rng.normal(size=1000))
    for values in (rng.normal(0.1, 1, 250_000), np.round(rng.normal(0, 1, 250_000), 1)):
        counts = ValueCounts()
        for part in np.array_split(values, 13):
            counts.add(part)
        distinct, how_many = counts.distinct()
        assert len(counts) == len(values) and how_many.sum() == len(values)
        ordered = np.sort(values)
        assert ks_counts(ref, distinct, how_many) == ks_sorted(ref, ordered)
        from scipy.stats import wasserstein_distance

        expected = wasserstein_distance(ref, ordered)
        assert math.isclose(wasserstein_counts(ref, distinct, how_many), expected, rel_tol=1e-9)
        got = _percentiles(counts)
        assert np.allclose(got, np.percentile(values, [50, 95, 99]), rtol=1e-12, atol=0)


@pytest.mark.slow  # a local Dask cluster (~5 s)
def test_the_dask_engine_gives_the_pandas_engines_numbers(logged: Any) -> None:
    store = logged.store
    version = store.get_model_version(1)
    run = store.get_run(version.run_number)

    def monitor(engine: str) -> Any:
        return run_monitor(store, logged.config, version, run, window="7d", also=["1d"],
                           artifacts=logged.artifacts, piece_rows=97, engine=engine)  # fmt: skip

    local, dask = monitor("pandas"), monitor("dask")
    keys = ["rows", "since", "until", "windows"]
    _same({k: local.data[k] for k in keys}, {k: dask.data[k] for k in keys})
    _same({k: local.others["1d"].data[k] for k in keys},
          {k: dask.others["1d"].data[k] for k in keys})  # fmt: skip
    assert dask.data["rows"] > 400


@pytest.mark.slow  # the CLI twice, once on a local Dask cluster (~6 s)
def test_cli_monitor_engine_dask_prints_the_same_windows(logged: Any, cli: Any) -> None:
    from steadyml.cli.app import app

    p = ["--project", str(logged.root)]
    args = ["monitor", "--since", "2026-01-05", "--until", "2026-01-26", "--window", "7d",
            "--no-alerts", "--json"]  # fmt: skip
    local = cli.invoke(app, [*p, *args])
    dask = cli.invoke(app, [*p, *args, "--engine", "dask"])
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    _same(json.loads(local.stdout)["windows"], json.loads(dask.stdout)["windows"])
    bad = cli.invoke(app, [*p, "monitor", "--engine", "spark"])
    assert bad.exit_code == 2 and "must be 'pandas' or 'dask'" in bad.output
    alone = cli.invoke(app, [*p, "monitor", "--scheduler", "tcp://127.0.0.1:1"])
    assert alone.exit_code == 2 and "needs --engine dask" in alone.output


def test_the_library_names_a_wrong_engine_and_a_lone_scheduler(trained_project: Any) -> None:
    with pytest.raises(SteadyMLError, match="'pandas' or 'dask'") as wrong:
        trained_project.monitor(engine="spark")
    assert wrong.value.field == "engine"
    with pytest.raises(SteadyMLError, match="only used by the Dask engine") as lone:
        trained_project.monitor(scheduler="tcp://127.0.0.1:1")
    assert lone.value.field == "scheduler"
