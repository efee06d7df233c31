"""The monitor: read the prediction log, cut it into windows, and measure each window.

Per window it reports system health (volume, latency, errors, fallbacks), data quality
(missing values, unseen categories, out-of-range values against training), drift of each
feature and of the predictions (against the reference statistics stored with the model
version: the training data is never reloaded), performance once labels have arrived, the
same per segment, and fairness gaps per sensitive group.

The result is one JSON-safe dict (see ``MonitorResult.data``): the CLI prints it, the HTML
report draws it, and the alert rules read their numbers from ``window_metrics``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from steadyml.artifacts import ArtifactStore
from steadyml.config import ProjectConfig, parse_duration
from steadyml.entities import ModelVersion, Run
from steadyml.errors import SteadyMLError
from steadyml.monitoring.drift import (
    CategoricalReference,
    DriftSettings,
    FeatureDrift,
    NumericReference,
    categorical_drift,
    drift_table,
    numeric_drift,
)
from steadyml.predlog import read_log
from steadyml.store import Store
from steadyml.store.monitoring import LOG_COLUMNS
from steadyml.training.estimators import Task
from steadyml.training.evaluate import KNOWN_METRICS, score_predictions, segment_metrics
from steadyml.training.fairness import fairness_report
from steadyml.training.reference import OTHER

__all__ = ["MonitorResult", "run_monitor", "window_metrics", "MIN_LABELS"]

MIN_LABELS = 30  # fewer labelled predictions than this: "not enough labels", no metrics
MAX_WINDOWS = 400
DEFAULT_WINDOWS = 30  # without --since, the latest 30 windows
_QUALITY_MISSING_STEP = 0.10  # missing rate this much above training: a warning
_QUALITY_UNSEEN = 0.01
_QUALITY_OUT_OF_RANGE = 0.05


@dataclass
class MonitorResult:
    """What one monitor run found; ``data`` follows the schema the report draws."""

    data: dict[str, Any]
    frames: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def windows(self) -> list[dict[str, Any]]:
        windows: list[dict[str, Any]] = self.data["windows"]
        return windows


# --- reading the log ------------------------------------------------------------------------


def load_log(
    store: Store,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    model_version: int | None,
    time_column: str | None,
    artifacts: ArtifactStore | None = None,
) -> pd.DataFrame:
    """The prediction log as a frame: log columns plus one column per logged input.

    With ``time_column`` (event time) rows are selected and windowed by that input; rows
    without it fall back to the logged time. Event time can be far from the logged time, so
    the whole log is read and filtered here.
    """
    by_logged = time_column is None
    chunks: list[pd.DataFrame] = list(
        read_log(
            store,
            artifacts,
            since=since if by_logged else None,
            until=until if by_logged else None,
            model_version=model_version,
        )
    )
    if not chunks:
        return pd.DataFrame(columns=[*LOG_COLUMNS, "time"])
    frame = pd.concat(chunks, ignore_index=True)
    logged = pd.to_datetime(frame["at"], utc=True)
    if time_column and time_column in frame.columns:
        event = pd.to_datetime(frame[time_column], utc=True, errors="coerce", format="mixed")
        frame["time"] = event.fillna(logged)
    else:
        frame["time"] = logged
    if since is not None:
        frame = frame[frame["time"] >= pd.Timestamp(since)]
    if until is not None:
        frame = frame[frame["time"] < pd.Timestamp(until)]
    return frame.reset_index(drop=True)


def window_edges(
    start: dt.datetime, end: dt.datetime, size: dt.timedelta
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Windows of ``size`` from ``start`` until they cover ``end``."""
    if end <= start:
        return []
    count = math.ceil((end - start) / size)
    if count > MAX_WINDOWS:
        raise SteadyMLError(
            f"That period holds {count} windows of {size}; the limit is {MAX_WINDOWS}.",
            hint="Choose a larger --window (e.g. 1d or 7d) or a shorter period with --since.",
        )
    return [(start + i * size, start + (i + 1) * size) for i in range(count)]


def _floor(value: dt.datetime, size: dt.timedelta) -> dt.datetime:
    """Align windows to whole days (weeks start on Monday), hours or minutes."""
    value = value.astimezone(dt.UTC)
    if size >= dt.timedelta(days=7) and size % dt.timedelta(days=7) == dt.timedelta(0):
        day = value.replace(hour=0, minute=0, second=0, microsecond=0)
        return day - dt.timedelta(days=day.weekday())
    if size >= dt.timedelta(days=1):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    if size >= dt.timedelta(hours=1):
        return value.replace(minute=0, second=0, microsecond=0)
    return value.replace(second=0, microsecond=0)


# --- the parts of a window -------------------------------------------------------------------


def _system(rows: pd.DataFrame) -> dict[str, Any]:
    served = rows[rows["route"] != "shadow"]
    n = len(served)
    by_route = {str(k): int(v) for k, v in rows["route"].value_counts().items()}
    latency = pd.to_numeric(served["latency_ms"], errors="coerce").dropna()
    lat = None
    if len(latency):
        p50, p95, p99 = np.percentile(latency.to_numpy(dtype=float), [50, 95, 99])
        lat = {"p50": float(p50), "p95": float(p95), "p99": float(p99)}
    errors = served["error"].notna() & ~served["fallback"].astype(bool)  # not answered
    return {
        "volume": n,
        "by_route": by_route,
        "latency_ms": lat,
        "error_rate": float(errors.mean()) if n else 0.0,
        "fallback_rate": float(served["fallback"].astype(bool).mean()) if n else 0.0,
    }


def _numeric_values(series: pd.Series, codes: Sequence[Any] | None) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    if codes:
        values = values.where(~values.isin([c for c in codes if isinstance(c, int | float)]))
    return values


def _quality(
    scored: pd.DataFrame,
    errors: int,
    total: int,
    reference: Mapping[str, Any],
    codes: Mapping[str, Sequence[Any]],
) -> dict[str, Any]:
    features = []
    for name, ref in reference.items():
        present = name in scored.columns
        column = scored[name] if present else pd.Series([None] * len(scored), dtype=object)
        kind = ref.get("kind")
        if kind == "numeric":
            values = _numeric_values(column, codes.get(name))
        else:
            values = column.where(~column.astype(object).isin(list(codes.get(name) or [])))
        n = len(values)
        missing = float(values.isna().mean()) if n else 0.0
        ref_missing = float(ref.get("missing_rate") or 0.0)
        unseen: list[str] = []
        unseen_rate = 0.0
        out_of_range = 0.0
        present_values = values.dropna()
        if kind == "categorical" and len(present_values):
            known = set(ref.get("frequencies", {}))
            if OTHER not in known:
                labels = present_values.astype(object).map(str)
                mask = ~labels.isin(known)
                unseen_rate = float(mask.mean())
                unseen = sorted(labels[mask].unique().tolist())[:20]
        if kind == "numeric" and len(present_values) and ref.get("min") is not None:
            low, high = float(ref["min"]), float(ref["max"])
            out_of_range = float(((present_values < low) | (present_values > high)).mean())
        notes = []
        if not present and n:
            notes.append(f"{name} is not in the logged inputs at all")
        if missing - ref_missing > _QUALITY_MISSING_STEP:
            notes.append(
                f"{name} is missing in {missing:.0%} of rows (training: {ref_missing:.0%})"
            )
        if unseen_rate > _QUALITY_UNSEEN:
            notes.append(
                f"{unseen_rate:.0%} of {name} values were never seen in training "
                f"({', '.join(unseen[:3])})"
            )
        if out_of_range > _QUALITY_OUT_OF_RANGE:
            notes.append(f"{out_of_range:.0%} of {name} values are outside the training range")
        features.append(
            {
                "feature": name,
                "kind": kind,
                "missing_rate": missing,
                "reference_missing_rate": ref_missing,
                "unseen_categories": unseen,
                "unseen_rate": unseen_rate,
                "out_of_range_rate": out_of_range,
                "status": "warning" if notes else "ok",
                "message": "; ".join(notes) if notes else f"{name} looks like training data",
            }
        )
    return {
        "rows": len(scored),
        "contract_violation_rate": (errors / total) if total else 0.0,
        "features": features,
    }


def references(reference: Mapping[str, Any]) -> dict[str, NumericReference | CategoricalReference]:
    """Drift references for every numeric and categorical feature of a model version."""
    out: dict[str, NumericReference | CategoricalReference] = {}
    for name, summary in (reference.get("features") or {}).items():
        if summary.get("kind") == "numeric":
            out[name] = NumericReference.from_summary(summary)
        elif summary.get("kind") == "categorical":
            out[name] = CategoricalReference.from_summary(summary)
    return out


def _prediction_drift(
    reference: Mapping[str, Any], scored: pd.DataFrame, settings: DriftSettings
) -> FeatureDrift | None:
    pred = reference.get("prediction") or {}
    if pred.get("kind") == "regression":
        values = pd.to_numeric(scored["prediction"], errors="coerce").to_numpy(dtype=float)
        return numeric_drift("prediction", NumericReference.from_summary(pred), values, settings)
    if pred.get("kind") == "classification" and pred.get("score_sample"):
        sample = np.asarray(pred["score_sample"], dtype=float)
        summary = {
            "kind": "numeric",
            "n": int(pred.get("n") or len(sample)),
            "missing_rate": 0.0,
            "mean": float(sample.mean()) if len(sample) else None,
            "std": float(sample.std(ddof=1)) if len(sample) > 1 else 0.0,
            "min": float(sample.min()) if len(sample) else None,
            "max": float(sample.max()) if len(sample) else None,
            "quantiles": [float(q) for q in np.unique(np.quantile(sample, np.linspace(0, 1, 11)))]
            if len(sample)
            else [],
            "bin_counts": [],
            "sample": sample.tolist(),
        }
        values = pd.to_numeric(scored["score"], errors="coerce").to_numpy(dtype=float)
        return numeric_drift("prediction score", NumericReference.from_summary(summary), values,
                             settings)  # fmt: skip
    if pred.get("kind") == "classification":
        n = int(pred.get("n") or 0)
        summary = {
            "kind": "categorical",
            "n": n,
            "missing_rate": 0.0,
            "distinct": len(pred.get("class_frequencies") or {}),
            "frequencies": dict(pred.get("class_frequencies") or {}),
        }
        labels = scored["prediction"].astype(object).map(str)
        ref = CategoricalReference.from_summary(summary)
        return categorical_drift("predicted class", ref, labels, settings)
    return None


@dataclass(frozen=True)
class _Labels:
    task: str
    classes: list[Any]
    positive_label: Any
    threshold: float


def _coerce_labels(labels: pd.Series, classes: Sequence[Any]) -> pd.Series:
    """Labels as the model's class values (JSON may turn 1 into "1" or 1.0)."""
    by_text = {str(c): c for c in classes}
    by_text.update({str(float(c)): c for c in classes if isinstance(c, int | float)})
    return labels.map(lambda v: by_text.get(str(v), v))


def _performance(
    scored: pd.DataFrame,
    info: _Labels,
    training: Mapping[str, Any],
    success: str,
    segments: Sequence[str],
    sensitive: Sequence[str],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    task = cast(Task, info.task)
    labelled = scored[scored["label"].notna()] if "label" in scored.columns else scored.iloc[0:0]
    n = len(labelled)
    perf: dict[str, Any] = {"status": "ok", "labelled": n, "metrics": {}, "drop": None}
    if n == 0:
        perf["status"] = "waiting for labels"
        return perf, {}, {}
    if n < MIN_LABELS:
        perf["status"] = "not enough labels"
        return perf, {}, {}
    if info.task == "regression":
        y = pd.to_numeric(labelled["label"], errors="coerce").to_numpy(dtype=float)
        scores: dict[str, Any] = {
            "values": pd.to_numeric(labelled["prediction"], errors="coerce").to_numpy(dtype=float)
        }
        keep = np.isfinite(y) & np.isfinite(scores["values"])
        y, scores = y[keep], {"values": scores["values"][keep]}
        frame = labelled[keep]
        y_pred: np.ndarray = scores["values"]
    else:
        y_obj = _coerce_labels(labelled["label"], info.classes)
        keep = y_obj.isin(info.classes).to_numpy()
        frame = labelled[keep]
        y = np.asarray(y_obj[keep].tolist())
        if len(info.classes) == 2 and frame["score"].notna().all():
            pos = info.positive_label if info.positive_label is not None else info.classes[1]
            p = frame["score"].to_numpy(dtype=float)
            cols = [p if c == pos else 1 - p for c in info.classes]
            scores = {"proba": np.column_stack(cols), "classes": np.asarray(info.classes)}
        else:  # multiclass: only the predicted class is logged: one-hot "probabilities"
            chosen = _coerce_labels(frame["prediction"], info.classes).tolist()
            onehot = np.array([[1.0 if c == p else 0.0 for c in info.classes] for p in chosen])
            scores = {"proba": onehot.reshape(len(chosen), len(info.classes)),
                      "classes": np.asarray(info.classes)}  # fmt: skip
        y_pred = np.asarray(_coerce_labels(frame["prediction"], info.classes).tolist())
    if len(frame) < MIN_LABELS:
        perf.update(status="not enough labels", labelled=len(frame))
        return perf, {}, {}
    metrics = score_predictions(
        y, scores, task, positive_label=info.positive_label, threshold=info.threshold
    )
    metrics.pop("confusion_matrix", None)
    perf["labelled"] = len(frame)
    perf["metrics"] = {k: v for k, v in metrics.items() if k in KNOWN_METRICS}
    live, trained = perf["metrics"].get(success), training.get(success)
    if live is not None and trained is not None:
        higher = KNOWN_METRICS.get(success) == "higher_is_better"
        perf["drop"] = float(trained - live) if higher else float(live - trained)
    seg_out: dict[str, Any] = {}
    present = [c for c in segments if c in frame.columns]
    if present:
        seg = segment_metrics(
            y,
            scores,
            frame[present].reset_index(drop=True),
            task,
            positive_label=info.positive_label,
            threshold=info.threshold,
        )
        for col, block in seg.items():
            seg_out[col] = {
                value: {
                    "labelled": int(m.get("n", 0)),
                    "too_few": bool(m.get("too_few")),
                    "metrics": {k: v for k, v in m.items() if k in KNOWN_METRICS},
                }
                for value, m in block["values"].items()
            }
    fair_out: dict[str, Any] = {}
    attrs = [c for c in sensitive if c in frame.columns]
    if attrs:
        positive = info.positive_label if len(info.classes) == 2 else None
        report = fairness_report(y, y_pred, frame[attrs].reset_index(drop=True), task, positive)
        measure = {"binary": "tpr", "multiclass": "accuracy", "regression": "mae"}[report["kind"]]
        for col, block in report["columns"].items():
            gap = block.get("relative_gap") if report["kind"] == "regression" else block.get("gap")
            fair_out[col] = {
                "metric": measure,
                "groups": {
                    g: v.get(measure) for g, v in block["groups"].items() if not v.get("too_few")
                },
                "gap": gap,
            }
    return perf, seg_out, fair_out


# --- the whole run ---------------------------------------------------------------------------


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
    mon = config.monitoring
    window = window or mon.window
    size = parse_duration(window)
    time_column = config.data.timestamp if mon.time == "event" else None
    if log is None:
        log = load_log(
            store,
            since=since,
            until=until,
            model_version=None if all_versions else version.version,
            time_column=time_column,
            artifacts=artifacts,
        )
    frame = log
    now = dt.datetime.now(dt.UTC)
    if since is None:  # from the first logged row, but at most DEFAULT_WINDOWS back
        if len(frame):
            first = frame["time"].min().to_pydatetime()
            latest = frame["time"].max().to_pydatetime()
            since = _floor(max(first, latest - (DEFAULT_WINDOWS - 1) * size), size)
        else:
            since = _floor(now, size)
    if until is None:
        last = frame["time"].max().to_pydatetime() if len(frame) else now
        until = max(since + size, last + dt.timedelta(microseconds=1))
    edges = window_edges(since, until, size)

    feedback = labels if labels is not None else store.all_feedback()
    if len(frame):
        by_request = frame["request_id"].map(lambda k: feedback.get(k, (None,))[0])
        by_row = frame["row_key"].map(
            lambda k: feedback.get(k, (None,))[0] if isinstance(k, str) else None
        )
        frame["label"] = by_request.where(by_request.notna(), by_row)
    summary = run.summary or {}
    info = _Labels(
        task=version.task,
        classes=list(summary.get("classes") or []),
        positive_label=summary.get("positive_label"),
        threshold=float((run.metrics or {}).get("threshold") or 0.5),
    )
    reference = version.reference or {}
    feature_refs = reference.get("features") or {}
    refs = references(reference)
    codes = {k: list(v) for k, v in config.data.missing_codes.items()}
    settings = DriftSettings(
        p_value=mon.drift_p_value,
        distance=mon.drift_distance,
        psi=mon.psi_threshold,
        min_samples=mon.min_samples,
        large_sample=mon.large_sample,
    )
    success = config.project.success_metric.name
    training_metrics = {k: v for k, v in (run.metrics or {}).items() if k in KNOWN_METRICS}
    windows = []
    for start, end in edges:
        rows = frame[(frame["time"] >= pd.Timestamp(start)) & (frame["time"] < pd.Timestamp(end))]
        served = rows[rows["route"] != "shadow"]
        fallback = served["fallback"].astype(bool)
        answered = served["error"].isna() & ~fallback  # the model itself answered
        violations = int(served["error"].astype(str).str.startswith("contract:").sum())
        # drift and quality look at every row that reached the service (rejected rows too:
        # their values are what broke the contract); performance at the model's own answers
        current = served.copy()
        for name, summary_ in feature_refs.items():
            if name in current.columns and summary_.get("kind") == "numeric":
                current[name] = _numeric_values(current[name], codes.get(name))
            elif name in current.columns and codes.get(name):
                current[name] = current[name].where(~current[name].isin(codes[name]))
        present = {k: v for k, v in refs.items() if k in current.columns}
        drift = drift_table(present, current, settings) if len(current) else []
        missing_features = [k for k in refs if k not in current.columns]
        scored_now = current[answered.to_numpy()]
        prediction = _prediction_drift(reference, scored_now, settings) if len(scored_now) else None
        perf, segs, fair = _performance(
            current[answered.to_numpy()], info, training_metrics, success,
            list(config.training.segments), list(config.data.columns.sensitive),
        )  # fmt: skip
        drift_dicts = [d.to_dict() for d in drift]
        windows.append(
            {
                "start": start.isoformat(),
                "end": end.isoformat(),
                "label": _label(start, end),
                "system": _system(rows),
                "quality": _quality(current, violations, len(served), feature_refs, codes),
                "drift": {
                    "features": drift_dicts,
                    "prediction": None if prediction is None else prediction.to_dict(),
                    "drifted": [d.feature for d in drift if d.drifted],
                    "missing_features": missing_features,
                },
                "performance": perf,
                "segments": segs,
                "fairness": fair,
            }
        )
    gates = config.training.gates
    data = {
        "project": config.project.name,
        "model_version": version.version,
        "generated_at": now.isoformat(),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "window": window,
        "time_basis": f"event:{time_column}" if time_column else "logged",
        "success_metric": success,
        "higher_is_better": KNOWN_METRICS.get(success) == "higher_is_better",
        "settings": {
            "p_value": settings.p_value,
            "distance": settings.distance,
            "psi": settings.psi,
            "min_samples": settings.min_samples,
            "large_sample": settings.large_sample,
            "max_fairness_gap": gates.max_fairness_gap,
        },
        "training": {
            "metrics": training_metrics,
            "fairness": {
                col: {"gap": block.get("gap")}
                for col, block in ((summary.get("fairness") or {}).get("columns") or {}).items()
            },
        },
        "rows": len(frame),
        "windows": windows,
        "alerts": [],
    }
    return MonitorResult(data=data, frames={"log": frame})


def _label(start: dt.datetime, end: dt.datetime) -> str:
    if end - start >= dt.timedelta(days=1):
        last = end - dt.timedelta(days=1)
        if last.date() == start.date():
            return start.strftime("%Y-%m-%d")
        return f"{start:%Y-%m-%d} to {last:%Y-%m-%d}"
    return f"{start:%Y-%m-%d %H:%M} to {end:%H:%M}"


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
