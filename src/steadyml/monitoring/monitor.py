"""The monitor run: read the prediction log, cut it into windows, and measure each window.

Per window it reports system health (volume, latency, errors, fallbacks), data quality
(missing values, unseen categories, out-of-range values against training), drift of each
feature and of the predictions (against the reference statistics stored with the model
version: the training data is never reloaded), performance once labels have arrived, the
same per segment, and fairness gaps per sensitive group.

The parts live by job: ``windows`` (the period and the window edges), ``stream`` (a piece of
the log read once; a window's counts), ``measures`` (system, quality, drift), ``performance``
(labels, segments, fairness). This module reads the log a piece at a time and adds each piece
to the windows it falls in, so memory holds counts, never the period's rows.
The result is one JSON-safe dict (see ``MonitorResult.data``): the CLI prints it, the HTML
report draws it, and the alert rules read their numbers from ``window_metrics``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.artifacts import ArtifactStore
from steadyml.config import ProjectConfig, parse_duration
from steadyml.entities import ModelVersion, Run
from steadyml.monitoring.counting import LogReader, Measure, measure, times_ns
from steadyml.monitoring.drift import DriftSettings
from steadyml.monitoring.estimate_window import ErrorTallier, Estimator
from steadyml.monitoring.inputs import canonical_summary, contract_types
from steadyml.monitoring.performance import MIN_LABELS, LabelInfo
from steadyml.monitoring.references import feature_references, prediction_reference
from steadyml.monitoring.stream import Baseline, Labels, WindowStats
from steadyml.monitoring.windows import load_log, period_of, window_edges
from steadyml.predlog.reader import REPAIRED
from steadyml.store import Store
from steadyml.store.monitoring import LOG_COLUMNS
from steadyml.training.evaluate import KNOWN_METRICS

__all__ = ["MIN_LABELS", "MonitorResult", "expand", "load_log", "run_monitor", "window_metrics"]


@dataclass
class MonitorResult:
    """What one monitor run found; ``data`` follows the schema the report draws.

    ``others``: the same period measured in other window lengths in the same pass over the
    log (``run_monitor(also=...)``), by length.
    """

    data: dict[str, Any]
    others: dict[str, MonitorResult] = field(default_factory=dict, repr=False)

    @property
    def windows(self) -> list[dict[str, Any]]:
        windows: list[dict[str, Any]] = self.data["windows"]
        return windows


PIECE_ROWS = 50_000  # rows of the log read and measured at a time
_META = [c for c in LOG_COLUMNS if c != "inputs"]


def run_monitor(
    store: Store,
    config: ProjectConfig,
    version: ModelVersion,
    run: Run,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    window: str | None = None,
    labels: Mapping[str, tuple[Any, int, dt.datetime]] | None = None,
    all_versions: bool = False,
    artifacts: ArtifactStore | None = None,
    also: Sequence[str] = (),
    piece_rows: int = PIECE_ROWS,
    engine: str = "pandas",
    scheduler: str | None = None,
) -> MonitorResult:
    """Measure the log between ``since`` and ``until`` in windows of ``window`` (and of each
    length in ``also``, in ``result.others``).

    The log is read ``piece_rows`` rows at a time, once (twice when ``since`` or ``until`` is
    left out: first only each row's time, to find the period), and each window keeps only
    its counts (``steadyml.monitoring.stream``): memory does not grow with the log.

    ``engine="dask"``: the parts of the log are read and counted by Dask workers (a local
    cluster, or the one at ``scheduler``; ``steadyml.monitoring.dask_engine``), with the same
    numbers.
    """
    window = window or config.monitoring.window
    lengths = list(dict.fromkeys([window, *also]))
    sizes = {w: parse_duration(w) for w in lengths}
    time_column = config.data.timestamp if config.monitoring.time == "event" else None
    baseline = _baseline(config, version, run, artifacts)
    read = LogReader(store, artifacts, since=since, until=until, time_column=time_column,
                      model_version=None if all_versions else version.version,
                      piece_rows=piece_rows)  # fmt: skip
    span = read.span() if since is None or until is None else None
    now = dt.datetime.now(dt.UTC)
    periods = {w: period_of(span, since, until, sizes[w], now) for w in lengths}
    edges = {w: window_edges(*periods[w], sizes[w]) for w in lengths}
    stats = {w: [WindowStats(baseline) for _ in edges[w]] for w in lengths}
    bounds = {w: _edges_ns(edges[w]) for w in lengths}
    joined = Labels(labels if labels is not None else store.all_feedback())
    columns = [*_META, *baseline.input_columns(), REPAIRED]
    if engine == "dask":
        from steadyml.monitoring.dask_engine import dask_partials

        partials = dask_partials(read, columns, Measure(baseline, joined, bounds), scheduler)
    else:
        partials = iter([measure(read.pieces(columns), Measure(baseline, joined, bounds))])
    rows = 0
    for partial in partials:  # in the log's order
        rows += partial.rows
        read.columns.update(partial.columns)
        for w, touched in partial.windows.items():
            for index, counted in touched.items():
                stats[w][index].merge(counted)
    results = {}
    estimator = _estimator(version, baseline)
    for w in lengths:
        measured = [s.result(a, b, read.columns) for s, (a, b) in zip(stats[w], edges[w],
                                                                        strict=True)]  # fmt: skip
        for s, block in zip(stats[w], measured, strict=True):  # performance before labels
            block["estimate"] = estimator.window(s.prediction_values, block["quality"],
                                                 block["performance"], s.estimated,
                                                 numeric=s.numeric,
                                                 categories=s.categories)  # fmt: skip
        data = _data(config, run, version, baseline, w, periods[w], time_column, now, rows)
        results[w] = MonitorResult(data={**data, "windows": measured, "alerts": []})
    first = results.pop(window)
    first.others = results
    return first


def _edges_ns(edges: list[tuple[dt.datetime, dt.datetime]]) -> np.ndarray:
    if not edges:
        return np.empty(0, dtype=np.int64)
    points = [a for a, _ in edges] + [edges[-1][1]]
    return times_ns(pd.Series(pd.to_datetime(points, utc=True)))


def _data(
    config: ProjectConfig,
    run: Run,
    version: ModelVersion,
    baseline: Baseline,
    window: str,
    span: tuple[dt.datetime, dt.datetime],
    time_column: str | None,
    now: dt.datetime,
    rows: int,
) -> dict[str, Any]:
    since, until = span
    return {
        "project": config.project.name,
        "model_version": version.version,
        "generated_at": now.isoformat(),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "window": window,
        "time_basis": f"event:{time_column}" if time_column else "logged",
        "success_metric": baseline.success,
        "higher_is_better": KNOWN_METRICS.get(baseline.success) == "higher_is_better",
        "settings": _settings(baseline.settings, config),
        "training": {
            "metrics": dict(baseline.training_metrics),
            "fairness": _training_fairness(run),
        },
        "rows": rows,
    }


def _baseline(
    config: ProjectConfig, version: ModelVersion, run: Run, artifacts: ArtifactStore | None = None
) -> Baseline:
    mon = config.monitoring
    summary = run.summary or {}
    reference = version.reference or {}
    types = contract_types(version.contract)
    features = {
        name: canonical_summary(block, types.get(name))
        for name, block in (reference.get("features") or {}).items()
    }
    return Baseline(
        features=features,
        types=types,
        references=feature_references({**reference, "features": features}),
        prediction=prediction_reference(reference),
        codes={k: list(v) for k, v in config.data.missing_codes.items()},
        settings=DriftSettings(
            p_value=mon.drift_p_value,
            distance=mon.drift_distance,
            psi=mon.psi_threshold,
            min_samples=mon.min_samples,
            large_sample=mon.large_sample,
        ),
        labels=LabelInfo(
            task=version.task,
            classes=list(summary.get("classes") or []),
            positive_label=summary.get("positive_label"),
            threshold=float((run.metrics or {}).get("threshold") or 0.5),
        ),
        training_metrics={k: v for k, v in (run.metrics or {}).items() if k in KNOWN_METRICS},
        success=config.project.success_metric.name,
        segments=list(config.training.segments),
        sensitive=list(config.data.columns.sensitive),
        errors=_error_tallier(version, artifacts),
    )


def _error_tallier(version: ModelVersion, artifacts: ArtifactStore | None) -> ErrorTallier | None:
    """A regression version's error model (its own artifact, digest checked), for estimates."""
    record = (version.reference or {}).get("estimation") or {}
    digest = record.get("error_model_digest")
    if artifacts is None or not digest:
        return None
    from steadyml.training.error_model import load_error_model

    data = artifacts.get_bytes(digest, what=f"model version {version.version}'s error model")
    return ErrorTallier(load_error_model(data), record)


def _estimator(version: ModelVersion, baseline: Baseline) -> Estimator:
    """What the version keeps for estimating performance before labels (estimate_window)."""
    pred = baseline.prediction
    return Estimator.of(
        version.reference,
        task=version.task,
        threshold=baseline.labels.threshold,
        training=baseline.training_metrics,
        success=baseline.success,
        uses_scores=pred is not None and pred.column == "score",
    )


def _training_fairness(run: Run) -> dict[str, Any]:
    """The fairness gap per sensitive column at training, for the report to compare with."""
    columns = ((run.summary or {}).get("fairness") or {}).get("columns") or {}
    return {col: {"gap": block.get("gap")} for col, block in columns.items()}


def _settings(settings: DriftSettings, config: ProjectConfig) -> dict[str, Any]:
    return {
        "p_value": settings.p_value,
        "distance": settings.distance,
        "psi": settings.psi,
        "min_samples": settings.min_samples,
        "large_sample": settings.large_sample,
        "max_fairness_gap": config.training.gates.max_fairness_gap,
    }


# --- numbers for alert rules -------------------------------------------------------------------


def window_metrics(window: Mapping[str, Any]) -> dict[str, float | None]:
    """Every number an alert rule can name, for one window (see config.AlertRule)."""
    out: dict[str, float | None] = {}
    system = window["system"]
    out["volume"] = float(system["volume"])
    out["error_rate"] = system["error_rate"]
    out["fallback_rate"] = system["fallback_rate"]
    lat = system.get("latency_ms") or {}
    for p in ("p50", "p95", "p99"):
        out[f"latency_{p}_ms"] = lat.get(p)
    quality = window["quality"]
    out["contract_violation_rate"] = quality["contract_violation_rate"]
    for f in quality["features"]:
        name = f["feature"]
        out[f"missing_rate:{name}"] = f["missing_rate"]
        out[f"missing_increase:{name}"] = f["missing_rate"] - f["reference_missing_rate"]
        out[f"unseen_rate:{name}"] = f["unseen_rate"]
        out[f"out_of_range_rate:{name}"] = f["out_of_range_rate"]
    drift = window["drift"]
    tested = [d for d in drift["features"] if d["drifted"] is not None]
    out["drifted_features"] = float(len(drift["drifted"])) if tested else None
    out["drift_share"] = len(drift["drifted"]) / len(tested) if tested else None
    for d in drift["features"]:
        out[f"drift:{d['feature']}"] = None if d["drifted"] is None else float(d["drifted"])
        out[f"psi:{d['feature']}"] = d.get("psi")
    pred = drift.get("prediction")
    out["prediction_drift"] = (
        None if not pred or pred["drifted"] is None else float(pred["drifted"])
    )
    perf = window["performance"]
    out["labelled"] = float(perf["labelled"])
    for name, value in (perf.get("metrics") or {}).items():
        out[name] = value
    out["performance_drop"] = perf.get("drop")
    out["performance_drop_share"] = perf.get("drop_share")
    estimate = window.get("estimate") or {}
    out["estimated_performance_drop"] = estimate.get("drop")
    out["estimated_performance_drop_share"] = estimate.get("drop_share")
    for attr, block in (window.get("fairness") or {}).items():
        out[f"fairness_gap:{attr}"] = block.get("gap")
    return out


def expand(metric: str, available: Iterable[str]) -> list[str]:
    """``drift:*`` -> every ``drift:<feature>`` present; a plain name -> itself."""
    if metric.endswith(":*"):
        prefix = metric[:-1]
        return sorted(k for k in available if k.startswith(prefix))
    return [metric]
