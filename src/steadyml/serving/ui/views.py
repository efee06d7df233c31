"""What each dashboard page shows, read through ``Project`` only (no rule of its own).

Each function takes the project (and the page's query) and returns a plain mapping the
template renders. Lists are one page long (``PAGE_SIZE``) and never read per-item blobs;
numbers over time come from the stored monitor windows, never from the prediction log.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.reports._format import (
    MISSING,
    as_map,
    fmt_date,
    fmt_int,
    fmt_metric,
    fmt_ms,
    fmt_pct,
    is_number,
    label,
    short_hash,
)

if TYPE_CHECKING:
    from steadyml.entities import Alert
    from steadyml.project import Project

__all__ = ["PAGE_SIZE", "age", "alerts", "data", "models", "overview", "rollout", "runs"]

PAGE_SIZE = 50


def age(when: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """'3 days', '5 hours', '12 minutes' since ``when``."""
    if when is None:
        return MISSING
    seconds = max(0.0, ((now or dt.datetime.now(dt.UTC)) - when).total_seconds())
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "under a minute"


def _metric(project: Project) -> tuple[str, bool]:
    sm = project.config.project.success_metric
    return sm.name, sm.direction == "lower_is_better"


def latest_window(project: Project) -> Any | None:
    """The newest stored window of the shortest length, or None (none stored yet)."""
    windows = list(project.latest_windows().values())
    if not windows:
        return None
    return max(windows, key=lambda w: (w.window_start, -_length_seconds(w.length)))


def _length_seconds(length: str) -> float:
    units = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
    try:
        return float(length[:-1]) * units.get(length[-1], 86_400)
    except (ValueError, IndexError):
        return 86_400.0


def health_tiles(project: Project, window: Any | None) -> list[dict[str, str]]:
    """Volume, p95, error and fallback rate, live metric vs training, from a stored window."""
    metric, lower = _metric(project)
    if window is None:
        return []
    m = as_map(window.measures)
    system = as_map(m.get("system"))
    latency = as_map(system.get("latency_ms"))
    perf = as_map(m.get("performance"))
    live = as_map(perf.get("metrics")).get(metric)
    training = as_map(m.get("training_metrics")).get(metric)
    if not is_number(training):
        training = as_map(as_map(m.get("training")).get("metrics")).get(metric)
    when = f"window {fmt_date(window.window_start)} ({window.length})"
    tiles = [
        {"k": "Predictions", "v": fmt_int(system.get("volume")), "s": when, "cls": ""},
        {
            "k": "p95 latency",
            "v": fmt_ms(latency.get("p95")),
            "s": "95% answered within",
            "cls": "",
        },
        {
            "k": "Error rate",
            "v": fmt_pct(system.get("error_rate"), 1),
            "s": "failed requests",
            "cls": "bad" if _over(system.get("error_rate"), 0.01) else "",
        },
        {
            "k": "Fallback rate",
            "v": fmt_pct(system.get("fallback_rate"), 1),
            "s": "answered by the fallback",
            "cls": "bad" if _over(system.get("fallback_rate"), 0.01) else "",
        },
    ]
    if is_number(live):
        worse = is_number(training) and ((live > training) if lower else (live < training))
        tiles.append(
            {
                "k": f"Live {label(metric)}",
                "v": fmt_metric(live),
                "s": f"training {fmt_metric(training)}",
                "cls": "bad" if worse else "good",
            }
        )
    else:
        tiles.append(
            {
                "k": f"Live {label(metric)}",
                "v": "waiting for labels",
                "s": str(perf.get("status") or "no labelled predictions yet"),
                "cls": "waiting",
            }
        )
    return tiles


def _over(value: Any, limit: float) -> bool:
    return is_number(value) and value > limit


CHECKLIST_SECONDS = 60.0  # the checklist score is computed at most this often per process
_checklists: dict[str, tuple[float, Any]] = {}  # by project folder


def _checklist(project: Project) -> Any | None:
    """The launch checklist (its score changes with releases, not page loads): computed at
    most once a minute, since on a big project it reads for a few hundred milliseconds."""
    if not hasattr(project, "checklist"):
        return None
    now = time.monotonic()
    hit = _checklists.get(str(project.root))
    if hit is not None and now - hit[0] < CHECKLIST_SECONDS:
        return hit[1]
    try:
        result = project.checklist()
    except SteadyMLError:
        result = None
    _checklists[str(project.root)] = (now, result)
    return result


def overview(project: Project) -> dict[str, Any]:
    cfg = project.config
    prod = project.production()
    traffic = project.traffic()
    status = project.rollout_status(evaluate=False)
    rollout = status.rollout if status.rollout is not None and status.rollout.active else None
    window = latest_window(project)
    open_alerts = project.alerts_page(limit=10, status=["open", "acknowledged"])
    checklist = _checklist(project)
    if rollout is not None:
        mode = f"rollout of version {rollout.candidate_version}: step {status.step}"
    elif traffic.mode == "canary":
        mode = f"canary: {traffic.percent:g}% to version {traffic.challenger_version}"
    elif traffic.mode == "shadow":
        mode = f"shadow: version {traffic.challenger_version} scores every request, unseen"
    else:
        mode = "production only"
    sm = cfg.project.success_metric
    return {
        "plan": {
            "problem": cfg.project.problem,
            "target": cfg.project.prediction_target,
            "users": cfg.project.users,
            "metric": f"{label(sm.name)} {'≤' if sm.direction == 'lower_is_better' else '≥'} "
            f"{sm.threshold:g}",
            "mode": cfg.project.mode,
            "review": cfg.project.review_cadence,
        },
        "owners": cfg.owners.model_dump(),
        "production": prod,
        "production_age": age(prod.created_at) if prod else MISSING,
        "in_production": _in_production_for(project, prod.version) if prod else MISSING,
        "traffic_mode": mode,
        "rollout": rollout,
        "tiles": health_tiles(project, window),
        "window": window,
        "open_alerts": open_alerts,
        "checklist": checklist,
    }


def _in_production_for(project: Project, version: int) -> str:
    """How long ``version`` has answered: since its latest promotion (or rollback) to it."""
    for event in project.recent_events(limit=50):
        if event.to_version == version and event.stage == "production":
            return f"{age(event.at)} (since {fmt_date(event.at)})"
    return MISSING


def data(project: Project) -> dict[str, Any]:
    contract = project.contract()
    columns = []
    if contract is not None:
        for c in contract.columns.values():
            columns.append(
                {
                    "name": c.name,
                    "role": c.role,
                    "type": c.type,
                    "describe": c.describe(),
                    "required": c.required,
                }
            )
    checks = project.data_checks(limit=10)
    versions = list(reversed(project.dataset_versions()))[:PAGE_SIZE]
    return {
        "contract": columns,
        "contract_path": str(project.contract_path),
        "checks": checks,
        "versions": versions,
    }


def page_links(total: int, offset: int, limit: int) -> dict[str, Any]:
    return {
        "total": total,
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "prev": max(0, offset - limit) if offset > 0 else None,
        "next": offset + limit if offset + limit < total else None,
    }


def runs(project: Project, query: Mapping[str, str]) -> dict[str, Any]:
    offset = _int(query.get("offset"), 0)
    status = query.get("status") or None
    model_type = query.get("model_type") or None
    gates = {"passed": True, "failed": False}.get(query.get("gates") or "")
    dv = _int(query.get("data"), None) if query.get("data") else None
    page = project.runs_page(
        offset=offset,
        limit=PAGE_SIZE,
        status=status,
        model_type=model_type,
        gates=gates,
        dataset_version=dv,
    )
    metric, _ = _metric(project)
    rows = [
        {
            "run": r,
            "metric": fmt_metric(r.metrics.get(metric)),
            "commit": short_hash(r.code_commit, 8) if r.code_commit else MISSING,
        }
        for r in page.items
    ]
    compare = None
    a, b = query.get("a"), query.get("b")
    if a and b:
        compare = compare_runs(project, _int(a, 0), _int(b, 0))
    return {
        "rows": rows,
        "metric": label(metric),
        "pages": page_links(page.total, page.offset, page.limit),
        "filters": {
            "status": status or "",
            "model_type": model_type or "",
            "gates": query.get("gates") or "",
            "data": query.get("data") or "",
        },
        "model_types": project.run_model_types(),
        "compare": compare,
        "a": a or "",
        "b": b or "",
    }


def compare_runs(project: Project, a: int, b: int) -> dict[str, Any]:
    """``Project.compare_runs`` as the page shows it: what changed first, then the scores."""
    try:
        diff = project.compare_runs(a, b)
    except NotFoundError as exc:
        return {"error": exc.message}
    changes = []
    for what, change in diff["changes"].items():
        if isinstance(change, list):  # settings, parameters, packages: one line per key
            for item in map(as_map, change):
                changes.append(
                    {
                        "what": what,
                        "key": str(item.get("key")),
                        "a": _shown(item.get("a")),
                        "b": _shown(item.get("b")),
                    }
                )
        else:
            pair = as_map(change)
            changes.append(
                {"what": what, "key": "", "a": _shown(pair.get("a")), "b": _shown(pair.get("b"))}
            )
    metrics = [
        {**m, "a": fmt_metric(m["a"]), "b": fmt_metric(m["b"]), "delta": f"{m['delta']:+.4f}"}
        for m in diff["metrics"]
    ]
    return {"a": diff["a"], "b": diff["b"], "changes": changes, "metrics": metrics, "error": None}


def models(project: Project, query: Mapping[str, str]) -> dict[str, Any]:
    offset = _int(query.get("offset"), 0)
    stage = query.get("stage") or None
    page = project.versions_page(offset=offset, limit=PAGE_SIZE, stage=stage)
    chosen = None
    v = query.get("version")
    prod = project.production()
    trace = (query.get("trace") or "").strip()
    if trace:
        chosen = _traced(project, trace)
    elif v or prod is not None:
        chosen = lineage(project, _int(v, 0) if v else prod.version)  # type: ignore[union-attr]
    return {
        "rows": page.items,
        "pages": page_links(page.total, page.offset, page.limit),
        "stage": stage or "",
        "production": prod,
        "chosen": chosen,
        "events": project.recent_events(limit=10),
        "trace": trace,
    }


def _traced(project: Project, request_id: str) -> dict[str, Any]:
    """The lineage of the version that answered one logged prediction."""
    record = project.prediction(request_id[:200])
    if record is None or record.model_version is None:
        return {
            "error": f"No logged API prediction has the request id {request_id!r} (or it "
            "was answered by the fallback, with no model). Request ids are in each "
            "answer of /v1/predict; batch runs name their model version in their output."
        }
    chain = lineage(project, record.model_version)
    chain["prediction"] = record
    return chain


def lineage(project: Project, version: int) -> dict[str, Any]:
    """prediction → model → run → data version → code commit, for one version."""
    try:
        mv = project.model_version(version)
    except NotFoundError as exc:
        return {"error": exc.message}
    run = project.run(mv.run_number)
    try:
        dv = next(d for d in project.dataset_versions() if d.version == mv.dataset_version)
    except StopIteration:
        dv = None
    return {
        "error": None,
        "prediction": None,
        "version": mv,
        "run": run,
        "dataset": dv,
        "commit": run.code_commit or "not in a git repository",
        "dirty": run.code_dirty,
        "gates": run.summary.get("gates") if isinstance(run.summary, Mapping) else None,
        "gates_passed": mv.gates_passed,
        "metrics": [
            (label(k), fmt_metric(v)) for k, v in sorted(run.metrics.items()) if is_number(v)
        ][:12],
    }


def alerts(project: Project, query: Mapping[str, str]) -> dict[str, Any]:
    offset = _int(query.get("offset"), 0)
    status = query.get("status") or ""
    wanted = [status] if status in ("open", "acknowledged", "resolved") else None
    page = project.alerts_page(offset=offset, limit=PAGE_SIZE, status=wanted)
    chosen: Alert | str | None = None
    if query.get("alert"):
        try:
            chosen = project.alert(_int(query.get("alert"), 0))
        except NotFoundError as exc:
            chosen = exc.message
    return {
        "rows": page.items,
        "pages": page_links(page.total, page.offset, page.limit),
        "status": status,
        "chosen": chosen,
    }


def rollout(project: Project) -> dict[str, Any]:
    status = project.rollout_status(evaluate=False)
    r = status.rollout
    reading = status.reading or {}
    checks = [as_map(c) for c in reading.get("checks", [])]
    return {
        "status": status,
        "rollout": r,
        "reading": reading,
        "checks": checks,
        "traffic": project.traffic(),
        "events": list(project.recent_events(limit=20)),
        "plan": status.plan,
    }


def _shown(value: Any) -> str:
    return MISSING if value is None else str(value)


def _int(value: Any, default: Any) -> Any:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default
