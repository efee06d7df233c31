"""The monitor run: read the prediction log, cut it into windows, and measure each window.

Per window it reports system health (volume, latency, errors, fallbacks), data quality
(missing values, unseen categories, out-of-range values against training), drift of each
feature and of the predictions (against the reference statistics stored with the model
version: the training data is never reloaded), performance once labels have arrived, the
same per segment, and fairness gaps per sensitive group.

The parts live by job: ``windows`` (the log and the window edges), ``measures`` (system,
quality, drift), ``performance`` (labels, segments, fairness). This module runs them in order.
The result is one JSON-safe dict (see ``MonitorResult.data``): the CLI prints it, the HTML
report draws it, and the alert rules read their numbers from ``window_metrics``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from steadyml.artifacts import ArtifactStore
from steadyml.config import ProjectConfig, parse_duration
from steadyml.entities import ModelVersion, Run
from steadyml.monitoring.drift import DriftSettings
from steadyml.monitoring.inputs import canonical_summary, contract_types, typed_inputs
from steadyml.monitoring.measures import data_quality, system_health, window_drift
from steadyml.monitoring.performance import MIN_LABELS, LabelInfo, measure_performance
from steadyml.monitoring.references import (
    PredictionReference,
    Reference,
    feature_references,
    prediction_reference,
)
from steadyml.monitoring.windows import load_log, period, window_edges, window_label, window_rows
from steadyml.predlog.reader import REPAIRED
from steadyml.store import Store
from steadyml.training.evaluate import KNOWN_METRICS

__all__ = ["MIN_LABELS", "MonitorResult", "expand", "load_log", "run_monitor", "window_metrics"]


@dataclass
class MonitorResult:
    """What one monitor run found; ``data`` follows the schema the report draws."""

    data: dict[str, Any]
    frames: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def windows(self) -> list[dict[str, Any]]:
        windows: list[dict[str, Any]] = self.data["windows"]
        return windows


@dataclass(frozen=True)
class _Baseline:
    """Everything a window is measured against, read once per run."""

    features: Mapping[str, Mapping[str, Any]]  # the feature summaries, canonical labels
    types: Mapping[str, str]  # each column's type in the model version's contract
    references: Mapping[str, Reference]
    prediction: PredictionReference | None
    codes: Mapping[str, list[Any]]  # data.missing_codes
    settings: DriftSettings
    labels: LabelInfo
    training_metrics: Mapping[str, Any]
    success: str
    segments: list[str]
    sensitive: list[str]


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
    log: pd.DataFrame | None = None,
) -> MonitorResult:
    """Measure the log between ``since`` and ``until`` in windows of ``window``.

    ``log``: the frame a previous run over the same period loaded (``result.frames["log"]``),
    so measuring the same period in other window lengths reads the log once.
    """
    window = window or config.monitoring.window
    size = parse_duration(window)
    time_column = config.data.timestamp if config.monitoring.time == "event" else None
    if log is None:
        log = load_log(
            store,
            since=since,
            until=until,
            model_version=None if all_versions else version.version,
            time_column=time_column,
            artifacts=artifacts,
        )
    now = dt.datetime.now(dt.UTC)
    since, until = period(log, since, until, size, now)
    edges = window_edges(since, until, size)
    _join_labels(log, labels if labels is not None else store.all_feedback())
    baseline = _baseline(config, version, run)
    windows = [_measure_window(window_rows(log, s, e), s, e, baseline) for s, e in edges]
    data = {
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
        "rows": len(log),
        "windows": windows,
        "alerts": [],
    }
    return MonitorResult(data=data, frames={"log": log})


def _join_labels(log: pd.DataFrame, feedback: Mapping[str, tuple[Any, int, dt.datetime]]) -> None:
    """In place: a ``label`` column, by request id first, then by row id."""
    if not len(log):
        return
    by_request = log["request_id"].map(lambda k: feedback.get(k, (None,))[0])
    by_row = log["row_key"].map(
        lambda k: feedback.get(k, (None,))[0] if isinstance(k, str) else None
    )
    log["label"] = by_request.where(by_request.notna(), by_row)


def _baseline(config: ProjectConfig, version: ModelVersion, run: Run) -> _Baseline:
    mon = config.monitoring
    summary = run.summary or {}
    reference = version.reference or {}
    types = contract_types(version.contract)
    features = {
        name: canonical_summary(block, types.get(name))
        for name, block in (reference.get("features") or {}).items()
    }
    return _Baseline(
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
    )


def _measure_window(
    rows: pd.DataFrame, start: dt.datetime, end: dt.datetime, base: _Baseline
) -> dict[str, Any]:
    served = rows[rows["route"] != "shadow"]
    fallback = served["fallback"].astype(bool)
    answered = served["error"].isna() & ~fallback  # the model itself answered
    violations = int(served["error"].astype(str).str.startswith("contract:").sum())
    # drift and quality look at every row that reached the service (rejected rows too:
    # their values are what broke the contract); performance at the model's own answers.
    # Each path logs values its own way (JSON, floats, text): read them in the contract's type
    current = served.copy()
    typed_inputs(current, base.features, base.codes, base.types)
    scored = current[answered.to_numpy()]
    perf, segs, fair = measure_performance(
        scored, base.labels, base.training_metrics, base.success, base.segments, base.sensitive
    )
    quality = data_quality(current, violations, len(served), base.features, base.codes)
    quality["text_repaired"] = _repaired_rows(rows)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "label": window_label(start, end),
        "system": system_health(rows),
        "quality": quality,
        "drift": window_drift(current, scored, base.references, base.prediction, base.settings),
        "performance": perf,
        "segments": segs,
        "fairness": fair,
    }


def _repaired_rows(rows: pd.DataFrame) -> int:
    """Rows whose logged text held characters no UTF-8 text can (read as escapes)."""
    if REPAIRED not in rows.columns:
        return 0
    return int(rows[REPAIRED].fillna(False).astype(bool).sum())


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
    for attr, block in (window.get("fairness") or {}).items():
        out[f"fairness_gap:{attr}"] = block.get("gap")
    return out


def expand(metric: str, available: Iterable[str]) -> list[str]:
    """``drift:*`` -> every ``drift:<feature>`` present; a plain name -> itself."""
    if metric.endswith(":*"):
        prefix = metric[:-1]
        return sorted(k for k in available if k.startswith(prefix))
    return [metric]
