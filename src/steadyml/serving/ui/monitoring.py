"""The Monitoring page, from stored monitor windows only (``Project.monitor_windows``).

Charts over time read each window's ``summary`` (a few hundred bytes: the numbers alert
rules use), so a year of daily windows costs one light query; the drift table, the histograms,
quality, performance, segments and fairness of one chosen window read that window's stored
``measures`` and reuse the monitoring report's section builders. Nothing here reads the
prediction log or recomputes a statistic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from steadyml.errors import NotFoundError
from steadyml.reports._charts import Charts, hline, line_trace, note_annotation, number_or_none
from steadyml.reports._format import (
    MISSING,
    as_list,
    as_map,
    fmt_date,
    fmt_int,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    is_number,
    label,
)
from steadyml.reports.monitor_drift import drift_section
from steadyml.reports.monitor_performance import segments_section

if TYPE_CHECKING:
    from steadyml.project import Project

__all__ = ["MAX_WINDOWS", "view"]

MAX_WINDOWS = 400  # the most windows a chart over time shows (a year of days and then some)


def view(project: Project, query: Mapping[str, str]) -> dict[str, Any]:
    metric = project.config.project.success_metric.name
    empty = {"ready": False, "lengths": [], "length": "", "metric": label(metric)}
    latest = project.latest_windows()
    if not latest:
        return empty
    lengths = sorted(latest, key=_seconds)
    length = str(query.get("length") or "")
    if length not in latest:
        length = lengths[0]
    light = list(project.monitor_windows(length=length, limit=MAX_WINDOWS, measures=False))[
        ::-1
    ]  # oldest first
    chosen = latest[length]
    wanted = query.get("window")
    if wanted:
        chosen = _window_by_id(project, length, wanted, light) or chosen
    stored = as_map(as_map(getattr(chosen, "context", None)).get("training")).get("metrics")
    training = dict(as_map(stored)) or _training_metrics(project, chosen.model_version)
    charts = Charts()
    over_time = _over_time(light, metric, training, charts)
    one = _one_window(chosen, metric, training, charts)
    return {
        "ready": True,
        "lengths": lengths,
        "length": length,
        "metric": label(metric),
        "n_windows": len(light),
        "windows": [{"id": w.id, "label": fmt_date(w.window_start)} for w in light[::-1]],
        "chosen": chosen,
        "chosen_label": f"{fmt_date(chosen.window_start)} to {fmt_date(chosen.window_end)}",
        "over_time": over_time,
        "one": one,
        "charts": charts.count,
    }


def _seconds(length: str) -> float:
    units = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
    try:
        return float(length[:-1]) * units.get(length[-1], 86_400)
    except (ValueError, IndexError):
        return 86_400.0


def _window_by_id(project: Project, length: str, wanted: str, light: list[Any]) -> Any | None:
    match = next((w for w in light if str(w.id) == wanted), None)
    if match is None:
        return None
    found = project.monitor_windows(
        length=length, since=match.window_start, until=match.window_end, limit=5
    )
    return next((w for w in found if w.id == match.id), None)


def _training_metrics(project: Project, version: int | None) -> dict[str, Any]:
    try:
        mv = project.model_version(version) if version else project.production()
        if mv is None:
            return {}
        return dict(project.run(mv.run_number).metrics)
    except NotFoundError:
        return {}


def _over_time(
    windows: list[Any], metric: str, training: Mapping[str, Any], charts: Charts
) -> dict[str, Any]:
    x = [fmt_date(w.window_start, with_time=False) for w in windows]
    if len(set(x)) < len(x):
        x = [fmt_date(w.window_start) for w in windows]
    s = [as_map(w.summary) for w in windows]

    def series(key: str) -> list[float | None]:
        return [number_or_none(m.get(key)) for m in s]

    figures = {
        "volume": charts.add(
            [
                {
                    "type": "bar",
                    "name": "predictions",
                    "x": x,
                    "y": series("volume"),
                    "marker": {"color": "#0b5cad"},
                }
            ],
            {"yaxis": {"title": {"text": "predictions"}}},
            height=240,
        ),
        "latency": charts.add(
            [line_trace(p, x, series(f"latency_{p}_ms")) for p in ("p50", "p95", "p99")],
            {"yaxis": {"title": {"text": "latency (ms)"}}},
            height=240,
        ),
        "rates": charts.add(
            [
                line_trace("error rate", x, series("error_rate")),
                line_trace("fallback rate", x, series("fallback_rate")),
            ],
            {"yaxis": {"title": {"text": "share"}, "tickformat": ".1%"}},
            height=240,
        ),
    }
    live = series(metric)
    labelled = [int(v) if is_number(v) else 0 for v in series("labelled")]
    shapes, notes = [], []
    if is_number(training.get(metric)):
        shapes.append(hline(float(training[metric]), "#57606a"))
        notes.append(
            note_annotation(f"training {fmt_metric(training[metric])}", float(training[metric]))
        )
    waiting = sum(1 for v in live if v is None)
    figures["performance"] = charts.add(
        [
            line_trace(
                label(metric),
                x,
                live,
                customdata=labelled,
                hovertemplate="%{y:.4f} (%{customdata} labelled)<extra></extra>",
            )
        ],
        {"yaxis": {"title": {"text": label(metric)}}, "shapes": shapes, "annotations": notes},
        height=260,
    )
    figures["drift"] = charts.add(
        [
            line_trace("share of features drifted", x, series("drift_share")),
            line_trace("predictions drifted", x, series("prediction_drift")),
        ],
        {"yaxis": {"title": {"text": "share"}, "tickformat": ".0%"}},
        height=240,
    )
    gaps = sorted({k for m in s for k in m if k.startswith("fairness_gap:")})
    if gaps:
        figures["fairness"] = charts.add(
            [line_trace(g.split(":", 1)[1], x, series(g)) for g in gaps],
            {"yaxis": {"title": {"text": "fairness gap"}}},
            height=240,
        )
    return {"figures": figures, "waiting": waiting, "n": len(windows)}


def _one_window(w: Any, metric: str, training: Mapping[str, Any], charts: Charts) -> dict[str, Any]:
    m = dict(as_map(w.measures))
    m["_label"] = fmt_date(w.window_start)
    system = as_map(m.get("system"))
    latency = as_map(system.get("latency_ms"))
    drift = drift_section([m], [m["_label"]], charts)
    perf = as_map(m.get("performance"))
    live = as_map(perf.get("metrics"))
    performance = [
        {"name": label(k), "live": fmt_metric(v), "training": fmt_metric(training.get(k))}
        for k, v in live.items()
        if is_number(v)
    ]
    quality = []
    for f in map(as_map, as_list(as_map(m.get("quality")).get("features"))):
        quality.append(
            {
                "name": str(f.get("feature") or MISSING),
                "missing": fmt_pct(f.get("missing_rate"), 1),
                "reference": fmt_pct(f.get("reference_missing_rate"), 1),
                "unseen": fmt_pct(f.get("unseen_rate"), 1),
                "out_of_range": fmt_pct(f.get("out_of_range_rate"), 1),
                "status": str(f.get("status") or "ok"),
                "message": str(f.get("message") or ""),
            }
        )
    fairness = []
    for column, block in as_map(m.get("fairness")).items():
        block = as_map(block)
        groups = as_map(block.get("groups"))
        fairness.append(
            {
                "column": column,
                "metric": label(block.get("metric") or MISSING),
                "groups": ", ".join(f"{g}: {fmt_metric(v)}" for g, v in groups.items()),
                "gap": fmt_metric(block.get("gap")),
            }
        )
    return {
        "system": {
            "volume": fmt_int(system.get("volume")),
            "by_route": {str(k): fmt_int(v) for k, v in as_map(system.get("by_route")).items()},
            "p50": fmt_ms(latency.get("p50")),
            "p95": fmt_ms(latency.get("p95")),
            "p99": fmt_ms(latency.get("p99")),
            "error": fmt_pct(system.get("error_rate"), 1),
            "fallback": fmt_pct(system.get("fallback_rate"), 1),
        },
        "drift": drift["chosen"],
        "performance": performance,
        "perf_status": str(perf.get("status") or "waiting for labels"),
        "labelled": fmt_int(perf.get("labelled")),
        "live_metric": fmt_metric(live.get(metric)),
        "training_metric": fmt_metric(training.get(metric)),
        "quality": quality,
        "violations": fmt_pct(as_map(m.get("quality")).get("contract_violation_rate"), 1),
        "segments": segments_section([m], metric),
        "fairness": fairness,
    }
