"""``steadyml alerts report ID``: the draft write-up of an incident, for a person to finish.

The course's incident steps: confirm, stabilise (roll back, fall back), explain, write up.
This gathers what the store already knows about one alert's incident into a draft:

* the period: from ``BEFORE`` (a day) before the alert opened (a release just before an
  incident is often its cause) until it was resolved, or now while it is still open;
* the timeline, oldest first: the alert's own events (opened, notified, seen again,
  acknowledged, retrained, resolved), other alerts opened in the period, every deployment
  event (promotions, rollbacks, traffic and rollout changes, overrides) and every retrain
  with its decision;
* what the monitor measured: the rule, the metric, its value against the line, the window,
  the model version, how often it was seen;
* what was done: acknowledged, rolled back, retrained, resolved — or "not yet";
* the cause, the lessons and the follow-up actions left blank, marked for a person to write.

``incident_data`` builds a plain mapping; ``reports.incident`` renders it as Markdown or a
self-contained HTML page.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steadyml.config import ProjectConfig
    from steadyml.entities import Alert
    from steadyml.store import Store

__all__ = ["BEFORE", "incident_data", "incident_report"]

BEFORE = dt.timedelta(days=1)


def _t(at: dt.datetime) -> str:
    return f"{at.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"


def _entry(at: dt.datetime, kind: str, what: str, detail: str = "", by: str | None = None
           ) -> dict[str, Any]:  # fmt: skip
    return {"at": at, "time": _t(at), "kind": kind, "what": what, "detail": detail,
            "by": by or ""}  # fmt: skip


def _alert_events(alert: Alert) -> list[dict[str, Any]]:
    said = {
        "opened": "Alert opened",
        "notified": "Alert sent",
        "seen again": "Seen again by the monitor",
        "acknowledged": "Alert acknowledged",
        "retrained": "Retrained because of this alert",
        "resolved": "Alert resolved",
    }
    return [
        _entry(e.at, "alert", said.get(e.event, f"Alert: {e.event}"), e.note or "", e.by)
        for e in alert.history
    ]


def _deployment(event: Any) -> dict[str, Any]:
    action = str(event.action)
    if action == "rollback":
        what = f"Rolled back: version {event.to_version} in production again"
        what += f" (version {event.from_version} archived)" if event.from_version else ""
    elif action == "promote":
        what = f"Version {event.to_version} promoted to {event.stage}"
        what += f" (version {event.from_version} archived)" if event.from_version else ""
    elif action.startswith("traffic:"):
        what = f"Traffic: {event.stage} (version {event.to_version})"
    else:
        name = action.replace("_", " ").capitalize()
        what = f"{name}: version {event.to_version} ({event.stage})"
    detail = f"why: {event.reason}"
    if event.override:
        detail += f"; override on the record: {event.override}"
    return _entry(event.at, "deployment", what, detail, event.by)


def _retrain(run: Any) -> dict[str, Any]:
    decision = run.summary.get("decision") or {}
    challenger = (decision.get("challenger") or {}).get("version")
    champion = (decision.get("champion") or {}).get("version")
    against = f"against version {champion}" if champion is not None else "(no champion)"
    what = f"Retrained: run {run.number}, challenger version {challenger} {against}"
    detail = str(decision.get("summary") or f"decision {decision.get('outcome')}")
    for why in decision.get("triggered_by") or []:
        detail += f" Triggered by: {why.get('reason')}"
    return _entry(run.created_at, "retrain", what, detail, run.created_by)


def incident_data(
    config: ProjectConfig, store: Store, alert_id: int, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The draft's content for alert ``alert_id`` (see the module docstring)."""
    now = now or dt.datetime.now(dt.UTC)
    alert = store.get_alert(alert_id)
    resolved = [e for e in alert.history if e.event == "resolved"]
    start = alert.first_seen - BEFORE
    end = resolved[-1].at if resolved else now

    def within(at: dt.datetime) -> bool:
        return start <= at <= end

    timeline = _alert_events(alert)
    for other in store.list_alerts():
        if other.id != alert.id and within(other.first_seen):
            timeline.append(_entry(other.first_seen, "alert", f"Another alert opened: #{other.id} "
                                   f"({other.severity}, {other.rule})", other.message))  # fmt: skip
    events = [e for e in store.list_events() if within(e.at)]
    timeline += [_deployment(e) for e in events]
    runs = [r for r in store.list_runs() if "decision" in r.summary and within(r.created_at)]
    timeline += [_retrain(r) for r in runs]
    timeline.sort(key=lambda e: e["at"])
    for e in timeline:
        del e["at"]

    acks = [e for e in alert.history if e.event == "acknowledged"]
    rollbacks = [e for e in events if e.action == "rollback"]
    done = {
        "acknowledged": [f"{_t(e.at)} by {e.by or '?'}" + (f": {e.note}" if e.note else "")
                         for e in acks],
        "rolled_back": [f"{_t(e.at)} by {e.by}: version {e.to_version} back in production "
                        f"(from version {e.from_version}); why: {e.reason}" for e in rollbacks],
        "retrained": [f"{r['time']}: {r['what']}; {r['detail']}" for r in map(_retrain, runs)],
        "resolved": [f"{_t(e.at)} by {e.by or '?'}" + (f": {e.note}" if e.note else "")
                     for e in resolved],
    }  # fmt: skip
    window = (
        f"{_t(alert.window_start)} to {_t(alert.window_end)}"
        if alert.window_start and alert.window_end
        else "not recorded"
    )
    return {
        "project": config.project.name,
        "written": _t(now),
        "period": {"start": _t(start), "end": _t(end), "open": not resolved},
        "alert": {
            "id": alert.id,
            "rule": alert.rule,
            "severity": alert.severity,
            "status": alert.status,
            "owner": alert.owner or "no owner named",
            "message": alert.message,
            "next_step": alert.next_step,
            "first_seen": _t(alert.first_seen),
            "last_seen": _t(alert.last_seen),
        },
        "measured": {
            "metric": alert.metric,
            "subject": alert.subject or "",
            "value": alert.value,
            "comparison": alert.comparison,
            "threshold": alert.threshold,
            "window": window,
            "model_version": alert.model_version,
            "times_seen": alert.times_seen,
        },
        "timeline": timeline,
        "done": done,
    }


def incident_report(
    config: ProjectConfig, store: Store, alert_id: int, *, fmt: str = "markdown",
    now: dt.datetime | None = None,
) -> str:  # fmt: skip
    """The draft as Markdown (``fmt="markdown"``) or a self-contained HTML page (``"html"``)."""
    from steadyml.errors import SteadyMLError
    from steadyml.reports.incident import render_incident_html, render_incident_markdown

    if fmt not in ("markdown", "html"):
        raise SteadyMLError(f"An incident report is markdown or html; got {fmt!r}.", field="fmt")
    data = incident_data(config, store, alert_id, now=now)
    return render_incident_html(data) if fmt == "html" else render_incident_markdown(data)
