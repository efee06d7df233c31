"""The demo's monitoring step: four simulated weeks of traffic, late labels, the monitor.

Week by week, part of the customers are scored through the real API and the rest in a batch
file; from week 3 the data drifts (a price rise, a payment method never seen in training,
a spike of missing usage values) and churn starts to depend on price in a new way. Labels
arrive a week late. The monitor then windows the log by the data's own date, catches the
drift and the performance drop, raises alerts and writes the HTML report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from steadyml.cli._common import bullet, out
from steadyml.cli._common import table as make_table

WEEKS = 4
DRIFT_FROM_WEEK = 3  # 1-based, as the demo says it
FIRST_WEEK = dt.date(2026, 1, 5)  # a Monday: weekly windows start on Mondays
API_SHARE = 0.15


def _records(frame: Any) -> list[dict[str, Any]]:
    import pandas as pd

    return [
        {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]


def watch_demo(root: Path, *, customers: int = 2000) -> None:
    """Run the four weeks, the monitor and the report; print what a beginner should see."""
    import httpx

    import steadyml
    from steadyml.cli.demo_server import running_server
    from steadyml.samples.churn import make_churn_weeks

    features, labels = make_churn_weeks(
        n_customers=customers, weeks=WEEKS, drift_from_week=DRIFT_FROM_WEEK,
        first_monday=FIRST_WEEK.isoformat(), seed=23,
    )  # fmt: skip
    weeks = sorted(features["snapshot_month"].unique())
    folder = root / "data" / "weeks"
    folder.mkdir(parents=True, exist_ok=True)
    with steadyml.open(root) as project:
        token, _ = project.create_key("demo-traffic", ["predict"], by="demo")
    t = make_table("week", "API requests", "API rejected", "batch rows", "batch rejected",
                   "labels sent (a week late)")  # fmt: skip
    with running_server(root, log_name="demo-watch-server.log") as url:
        for i, day in enumerate(weeks):
            week = features[features["snapshot_month"] == day]
            cut = int(len(week) * API_SHARE)
            api_rows, batch_rows = week.iloc[:cut], week.iloc[cut:]
            records = _records(api_rows)
            rejected = 0
            with httpx.Client(headers={"X-API-Key": token}, timeout=60) as client:
                for record in records:  # one customer per request, as an app would send
                    res = client.post(f"{url}/v1/predict", json={"records": [record]})
                    if res.status_code == 422:
                        rejected += 1  # broke the contract: answered with the reason, logged
                    else:
                        res.raise_for_status()
            batch_file = folder / f"week-{i + 1}.csv"
            batch_rows.to_csv(batch_file, index=False)
            with steadyml.open(root) as project:
                batch = project.score_batch(batch_file, folder / f"week-{i + 1}.scored.parquet")
                sent = "—"
                if i >= 1:  # last week's outcomes are known now
                    due = labels[labels["snapshot_month"] == weeks[i - 1]]
                    label_file = folder / f"labels-week-{i}.csv"
                    due[["customer_id", "churned"]].to_csv(label_file, index=False)
                    fb = project.record_feedback_file(
                        label_file, id_column="customer_id", label_column="churned"
                    )
                    sent = f"{fb.stored:,} for week {i}"
            drift_note = "  (drift starts)" if i + 1 == DRIFT_FROM_WEEK else ""
            t.add_row(f"{i + 1}: {day}{drift_note}", f"{len(api_rows):,}",
                      f"{rejected:,}", f"{batch.rows_in:,}", f"{batch.rows_rejected:,}",
                      sent)  # fmt: skip
    out.print(t)
    since = dt.datetime.combine(FIRST_WEEK, dt.time(), tzinfo=dt.UTC)
    until = since + dt.timedelta(days=7 * WEEKS)
    report = root / "monitor-report.html"
    with steadyml.open(root) as project:
        run = project.monitor(since=since, until=until, window="7d")
        report.write_text(project.monitor_report(run.result), encoding="utf-8")
    _explain(run.result, [a.to_dict() for a in run.new_alerts], report)


def _explain(result: dict[str, Any], new_alerts: list[dict[str, Any]], report: Path) -> None:
    success = result["success_metric"]
    trained = result["training"]["metrics"].get(success)
    t = make_table("week", "rows", "drifted features", "labelled", f"{success} (training "
                   f"{trained:.3f})" if trained is not None else success)  # fmt: skip
    for i, w in enumerate(result["windows"]):
        perf = w["performance"]
        live = perf["metrics"].get(success)
        t.add_row(
            f"{i + 1}",
            f"{w['system']['volume']:,}",
            ", ".join(w["drift"]["drifted"]) or "none",
            f"{perf['labelled']:,}",
            f"{live:.3f}" if live is not None else perf["status"],
        )
    out.print(t)
    if new_alerts:
        out.print(f"{len(new_alerts)} alert(s) raised and sent to the log channel:",
                  markup=False, style="bold red")  # fmt: skip
        bullet(f"#{a['id']} [{a['severity'].upper()}] {a['message']}" for a in new_alerts)
    else:
        out.print("No alert fired.", markup=False)
    out.print(
        "Weeks 1-2 look like training data. From week 3 the monitor flags the drifted features "
        f"and, once week 3's labels arrive, the drop in {success}; week 4 is still waiting for "
        "its labels, so it shows no performance yet instead of a wrong number.",
        markup=False,
    )
    out.print(f"Monitoring report: {report} (open it in a browser; it works offline).",
              markup=False)  # fmt: skip
