"""``steadyml feedback``, ``steadyml monitor`` and ``steadyml alerts``: watching a model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from steadyml.cli._common import bullet, handle_errors, next_steps, open_project, out, print_json
from steadyml.cli._common import table as make_table
from steadyml.cli._lists import show_list

FEEDBACK_HELP = """\
Send true outcomes ("labels") for earlier predictions, from a CSV or Parquet file.

Labels usually arrive late: whether a customer really left is known weeks after the
prediction. Each row of FILE names a prediction, by the request id the API returned or by
the row id (the project's id column, which the API and batch scoring both log), and its true
label. The last label for a prediction wins; repeats are counted, so sending a file twice
does no harm. Rows with an empty id or label are skipped and listed, never dropped silently.

Once labels are in, `steadyml monitor` shows performance next to the training result.

\b
Example:
  steadyml feedback outcomes.csv --id-column customer_id --label-column churned
"""

MONITOR_HELP = """\
Watch the model: measure the prediction log window by window, then check the alert rules.

Per window (--window, default monitoring.window from steadyml.yaml) it shows:

\b
  system        volume, latency p50/p95/p99, error and fallback rates
  data quality  missing values, categories never seen in training,
                out-of-range values
  drift         each feature and the predictions against the training
                reference: KS or chi-square p-values for small windows,
                Wasserstein / Jensen-Shannon distances for large ones,
                PSI as an extra score; "not enough data" below min_samples
  performance   the training metrics on predictions whose labels arrived
  estimated     before labels: the yes/no model's metrics estimated from its
                calibrated scores (CBPE), with a 95 % interval, the checks it
                rests on (calibration error, rows outside the reference, window
                size, and a shift check: the bias a shift like the window's
                along one feature gives the estimate on the held-out rows, which
                moves the interval; "unreliable" when one fails) and, once
                labels arrive,
                |estimated - realised| and how often the intervals held
  fairness      the gap between groups of each sensitive column

Alert rules (monitoring.alerts) are checked after the run; a new incident is sent to the
channels (log, webhook, email) once and stays open until someone resolves it.

The log is read a piece at a time, so memory does not grow with it. --engine dask reads and
counts it on a Dask cluster: a local one by default, or the one at --scheduler
tcp://HOST:8786 (its workers must reach the metadata store and the artifact store).

Times are ISO dates or date-times (2026-03-01, 2026-03-01T12:00), or a length back from now
(7d, 12h). Exit status: 0 when no alert is open, 3 when an alert is open, 1 on an error.

\b
Examples:
  steadyml monitor --window 7d --report monitor.html
  steadyml monitor --since 30d --json
"""


def _parse_time(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    from steadyml.config import parse_duration

    try:
        return dt.datetime.now(dt.UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a date (2026-03-01), a date-time (2026-03-01T12:00) nor a "
            "length back from now (7d, 12h)",
            param_hint=option,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@handle_errors
def feedback(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., metavar="FILE", help="CSV or Parquet file with an id and a label column."
    ),
    id_column: str = typer.Option(
        ..., "--id-column", help="Column with the request id or the row id (e.g. customer_id)."
    ),
    label_column: str = typer.Option(
        ..., "--label-column", help="Column with the true outcome (e.g. churned)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    with open_project(ctx) as project:
        result = project.record_feedback_file(file, id_column=id_column, label_column=label_column)
    if as_json:
        print_json(result.to_dict())
        return
    out.print(
        f"Read {result.rows:,} rows: {result.stored:,} labels stored, "
        f"{len(result.skipped):,} skipped.",
        style="bold green" if not result.skipped else "bold yellow",
        markup=False,
    )
    if result.duplicates:
        out.print(
            f"  {result.duplicates:,} predictions had more than one label in this file: the last "
            "one counts.",
            markup=False,
        )
    for row in result.skipped[:10]:
        out.print(f"  line {row['line']}: {row['reason']}", markup=False)
    if len(result.skipped) > 10:
        out.print(f"  … and {len(result.skipped) - 10:,} more (see --json)", markup=False)
    if result.unknown_keys:
        sample = ", ".join(result.unknown_keys[:5])
        out.print(
            f"  {len(result.unknown_keys):,} labels match no logged prediction yet ({sample}); "
            "they are kept and join when the prediction is logged.",
            markup=False,
        )
    next_steps(["steadyml monitor --report monitor.html   # performance with these labels"])


@handle_errors
def monitor(
    ctx: typer.Context,
    since: str | None = typer.Option(None, "--since", help="Start: a date, date-time or 30d."),
    until: str | None = typer.Option(None, "--until", help="End (exclusive); default: now."),
    window: str | None = typer.Option(
        None, "--window", help="Window length: 1h, 1d, 7d… (default: monitoring.window)."
    ),
    model: int | None = typer.Option(
        None, "--model", help="Model version to watch (default: the one in production)."
    ),
    report: Path | None = typer.Option(
        None, "--report", help="Also write a self-contained HTML report here."
    ),
    no_alerts: bool = typer.Option(False, "--no-alerts", help="Measure only; check no rules."),
    as_json: bool = typer.Option(False, "--json", help="Print the measurements as JSON."),
    engine: str = typer.Option(
        "pandas", "--engine", help="pandas (this machine) or dask (the log read on a cluster)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."
    ),
) -> None:
    if engine not in ("pandas", "dask"):
        raise typer.BadParameter(
            f"must be 'pandas' or 'dask'; got {engine!r}", param_hint="--engine"
        )
    if scheduler and engine != "dask":
        raise typer.BadParameter("needs --engine dask", param_hint="--scheduler")
    if window is not None:
        from steadyml.config import parse_duration

        try:
            parse_duration(window)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--window") from None
    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")
    if start and end and end <= start:
        raise typer.BadParameter("must be after --since", param_hint="--until")
    with open_project(ctx) as project:
        run = project.monitor(since=start, until=end, window=window, model_version=model,
                              alerts=not no_alerts, engine=engine,
                              scheduler=scheduler)  # fmt: skip
        if report is not None:
            report.parent.mkdir(parents=True, exist_ok=True)
            report.write_text(project.monitor_report(run.result), encoding="utf-8")
    data = run.result
    open_alerts = [a for a in data["alerts"] if a["status"] != "resolved"]
    if as_json:
        print_json({**data, "new_alerts": [a.id for a in run.new_alerts]})
    else:
        _render(data, run.new_alerts, report)
    if open_alerts:
        raise typer.Exit(3)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _estimated(est: dict[str, Any]) -> str:
    """A window's estimate in a cell: value (interval), '?' when unreliable."""
    block = (est.get("metrics") or {}).get(est.get("success_metric") or "") or {}
    if est.get("status") != "ok" or block.get("value") is None:
        return "—"
    mark = "" if est.get("reliable") else " ?"
    return f"{block['value']:.3f} ({_num(block.get('lower'))}–{_num(block.get('upper'))}){mark}"


def _render_estimates(data: dict[str, Any]) -> None:
    """The latest window's estimate with its assumptions, and the back-test so far."""
    estimated = [w for w in data["windows"] if (w.get("estimate") or {}).get("status") == "ok"]
    if not estimated:
        return
    est = estimated[-1]["estimate"]
    a = est.get("assumptions") or {}
    name = est.get("success_metric")
    how = "CBPE on calibrated scores" if "cross_check" in est else "the error model"
    used = {"isotonic": "after the isotonic calibrator", "none": "scores used as they are"}
    calibration = (
        f"calibration error on held-out rows {_num(a.get('calibration_error'))} "
        f"({used.get(str(a.get('calibration')), a.get('calibration'))}), "
        if "cross_check" in est else ""
    )  # fmt: skip
    out.print(
        f"  Estimated {name} (before labels, {how}) in {estimated[-1]['label']}: "
        f"{_estimated(est)} on {est['rows']:,} predictions. Checks: {calibration}rows "
        f"outside the reference {_pct(a.get('outside_support'))}.",
        markup=False,
    )
    note = ((est.get("metrics") or {}).get(name) or {}).get("shift_note")
    if note:
        out.print(
            f"  Shift check: the interval was moved {note} (the held-out rows reweighted to "
            "this window's values of that feature put CBPE off by that much).",
            markup=False,
        )
    if not est.get("reliable"):
        out.print("  Unreliable: " + "; ".join(est.get("problems") or []) + ".",
                  style="yellow", markup=False)  # fmt: skip
    check = est.get("cross_check") or {}
    if check.get("disagrees"):
        out.print(f"  Cross-check: {check['message']}.", markup=False)
    back = (data.get("backtest") or {}).get("metrics", {}).get(name) or {}
    if back.get("realised"):
        out.print(
            f"  Back-test of estimated {name}: {back['realised']} window(s) with labels, "
            f"mean |estimated − realised| {_num(back['mean_error'])} (largest "
            f"{_num(back['max_error'])}), intervals held the truth in "
            f"{_pct(back['coverage'])} (nominal 95 %).",
            markup=False,
        )


def _render(data: dict[str, Any], new_alerts: list[Any], report: Path | None) -> None:
    windows = data["windows"]
    out.print(
        f"Monitored model v{data['model_version']} of '{data['project']}': {data['rows']:,} "
        f"logged predictions in {len(windows)} window(s) of {data['window']} "
        f"(time: {data['time_basis']}).",
        style="bold",
        markup=False,
    )
    if not windows or not data["rows"]:
        out.print(
            "  Nothing was logged in this period. Send traffic to the API (steadyml serve) or "
            "score a file (steadyml batch score), then run the monitor again.",
            markup=False,
        )
    success = data["success_metric"]
    trained = data["training"]["metrics"].get(success)
    t = make_table("window", "volume", "p99 ms", "errors", "drifted", "labelled", success,
                   "estimated")  # fmt: skip
    for w in windows:
        perf = w["performance"]
        live = perf["metrics"].get(success)
        lat = w["system"]["latency_ms"] or {}
        drifted = w["drift"]["drifted"]
        tested = [d for d in w["drift"]["features"] if d["drifted"] is not None]
        t.add_row(
            w["label"],
            f"{w['system']['volume']:,}",
            _num(lat.get("p99"), 1),
            _pct(w["system"]["error_rate"]),
            (", ".join(drifted) if drifted else "none") if tested else "not enough data",
            f"{perf['labelled']:,}",
            _num(live) if live is not None else perf["status"],
            _estimated(w.get("estimate") or {}),
        )
    out.print(t)
    _render_estimates(data)
    out.print(f"  Training {success}: {_num(trained)}.", markup=False)
    tested = [w for w in windows if w["drift"]["features"]]
    if tested:
        latest = tested[-1]
        d = make_table("feature", "test", "statistic", "p-value", "line", "n ref / now", "PSI",
                       "status", title=f"Drift in the latest window ({latest['label']})")  # fmt: skip
        rows = list(latest["drift"]["features"])
        if latest["drift"].get("prediction"):
            rows.append(latest["drift"]["prediction"])
        for f in rows:
            line = f"{'p <' if f['threshold_kind'] == 'p_value' else '>'} {f['threshold']}"
            d.add_row(
                f["feature"],
                f["test"] or "—",
                _num(f["statistic"]),
                "—" if f["p_value"] is None else f"{f['p_value']:.2g}",
                line,
                f"{f['n_reference']:,} / {f['n_current']:,}",
                _num(f["psi"]),
                f["status"],
            )
        out.print(d)
        starved = [f for f in rows if f["status"] == "not enough data"]
        if starved and len(starved) == len(rows):
            need = data.get("settings", {}).get("min_samples")
            have = min(min(f["n_current"], f["n_reference"]) for f in starved)
            out.print(
                f"  Drift is not tested below {need:,} values on each side "
                f"(monitoring.min_samples); this window has {have:,}. Watch longer windows "
                "(monitoring.window: 7d) or, for a small data set, lower monitoring.min_samples "
                "in steadyml.yaml (100 still gives the tests a fair chance).",
                markup=False,
            )
    warnings = {
        f["message"] for w in windows[-1:] for f in w["quality"]["features"] if f["status"] != "ok"
    }
    if warnings:
        out.print("Data quality in the latest window:", style="bold yellow")
        bullet(sorted(warnings))
    open_alerts = [a for a in data["alerts"] if a["status"] != "resolved"]
    if new_alerts:
        out.print(f"\n{len(new_alerts)} new alert(s):", style="bold red")
        for a in new_alerts:
            out.print(f"  #{a.id} [{a.severity.upper()}] {a.message}", markup=False)
    if open_alerts:
        out.print(f"{len(open_alerts)} alert(s) open in total (steadyml alerts list).",
                  markup=False)  # fmt: skip
    else:
        out.print("No alert is open.", style="green")
    if report is not None:
        out.print(f"Report: {report}", markup=False)
    steps = []
    if open_alerts:
        first = open_alerts[0]["id"]
        steps += [
            "steadyml alerts list                 # every open incident and its owner",
            f"steadyml alerts ack {first}                # tell the team you are on it",
        ]
    if report is None:
        steps.append("steadyml monitor --report monitor.html   # charts, drift histograms")
    next_steps(steps)


alerts_app = typer.Typer(
    help="Incidents raised by the alert rules: list, acknowledge, resolve, write up.",
    no_args_is_help=True,
)


@alerts_app.command("list", help="Alerts, newest first (default: those not yet resolved).")
@handle_errors
def alerts_list(
    ctx: typer.Context,
    status: str | None = typer.Option(
        None, "--status", help="open, acknowledged or resolved (default: open + acknowledged)."
    ),
    show_all: bool = typer.Option(False, "--all", help="Include resolved alerts."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    from steadyml.entities import ALERT_STATUSES

    if status is not None and status not in ALERT_STATUSES:
        raise typer.BadParameter(
            f"must be one of {', '.join(ALERT_STATUSES)}; got {status!r}", param_hint="--status"
        )
    with open_project(ctx) as project:
        alerts = project.alerts(status=status)
    if status is None and not show_all:
        alerts = [a for a in alerts if a.status != "resolved"]
    show_list(
        alerts,
        as_json=as_json,
        columns=("id", "status", "severity", "rule", "message", "seen", "owner"),
        row=lambda a: (str(a.id), a.status, a.severity, a.rule, a.message,
                       f"{a.times_seen}×, last {a.last_seen:%Y-%m-%d %H:%M}", a.owner or "—"),
        empty="No alerts" + ("" if show_all or status else " open") + ".",
        steps=["steadyml alerts ack ID                      # you are looking at it",
               "steadyml alerts resolve ID --note 'what was done'"],
    )  # fmt: skip


@alerts_app.command("show", help="One alert with its whole history.")
@handle_errors
def alerts_show(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    with open_project(ctx) as project:
        alert = project.alert(alert_id)
    if as_json:
        print_json(alert.to_dict())
        return
    out.print(f"Alert #{alert.id} [{alert.severity.upper()}] {alert.status}: {alert.message}",
              style="bold", markup=False)  # fmt: skip
    out.print(f"  rule {alert.rule}: {alert.metric} {alert.comparison} {alert.threshold} "
              f"(value {alert.value}); owner {alert.owner or '—'}", markup=False)  # fmt: skip
    out.print(f"  next step: {alert.next_step}", markup=False)
    for e in alert.history:
        who = f" by {e.by}" if e.by else ""
        note = f": {e.note}" if e.note else ""
        out.print(f"  {e.at:%Y-%m-%d %H:%M} {e.event}{who}{note}", markup=False)


@alerts_app.command("ack", help="Acknowledge an alert: someone is on it (it stays open).")
@handle_errors
def alerts_ack(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., metavar="ID"),
    note: str | None = typer.Option(None, "--note", help="What you are doing about it."),
    by: str | None = typer.Option(None, "--by", help="Your name (default: your login)."),
) -> None:
    with open_project(ctx) as project:
        alert = project.acknowledge_alert(alert_id, by=by, note=note)
    out.print(f"Alert #{alert.id} acknowledged. It stays an incident until resolved.",
              markup=False)  # fmt: skip
    next_steps([f"steadyml alerts resolve {alert.id} --note 'what was the cause and the fix'"])


@alerts_app.command("resolve", help="Resolve an alert, with a note on the cause and the fix.")
@handle_errors
def alerts_resolve(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., metavar="ID"),
    note: str = typer.Option(..., "--note", help="The cause and what was done."),
    by: str | None = typer.Option(None, "--by", help="Your name (default: your login)."),
) -> None:
    with open_project(ctx) as project:
        alert = project.resolve_alert(alert_id, note=note, by=by)
    out.print(f"Alert #{alert.id} resolved. If the problem comes back, the next monitor run "
              "opens a new alert.", markup=False)  # fmt: skip


@alerts_app.command(
    "report",
    help="Write the incident's draft report: the timeline (alert events, releases, rollbacks, "
    "traffic changes, retrains and their decisions), what the monitor measured, what was done, "
    "and blanks for the cause and the lessons. Markdown on stdout, or --out FILE (.md, or .html "
    "for a self-contained page).",
)
@handle_errors
def alerts_report(
    ctx: typer.Context,
    alert_id: int = typer.Argument(..., metavar="ID"),
    out_file: Path | None = typer.Option(
        None, "--out", metavar="FILE", help="Write it here (FILE.html: an HTML page)."
    ),
) -> None:
    html = out_file is not None and out_file.suffix.lower() in (".html", ".htm")
    with open_project(ctx) as project:
        text = project.incident_report(alert_id, fmt="html" if html else "markdown")
    if out_file is None:
        print(text, end="")
        return
    out_file.write_text(text, encoding="utf-8")
    out.print(f"Wrote {out_file}: a draft. Fill in the cause, the impact and the lessons "
              "(marked TO FILL IN), then share it.", markup=False)  # fmt: skip
    next_steps([f"steadyml alerts resolve {alert_id} --note 'the cause and the fix'"])
