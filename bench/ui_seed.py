"""A project the size of the dashboard's budget: 10,000 runs, 1,000 model versions, 5,000 alerts,
1,000,000 logged predictions and a year of stored daily (and weekly) monitor windows.

    .venv/bin/python bench/ui_seed.py DIR                    # the full size
    .venv/bin/python bench/ui_seed.py DIR --runs 100 --versions 10 --alerts 50 \\
        --predictions 10000 --days 30                        # a small one
    .venv/bin/python bench/ui_seed.py DIR --json             # the summary as JSON

``bench/ui.py`` (the dashboard benchmark) imports it as other benchmarks import their
siblings (``sys.path.insert(0, <repo>/bench)``, then ``from ui_seed import seed_project``).

How each part is made, fast and through the same code paths a real project uses:

* the churn sample project (``steadyml init --template churn``, the post-outcome leak dropped,
  ``monitoring.window: 1d``, ``monitoring.time: logged``; its alert rules keep ``7d``), trained
  once: run 1 and model version 1 are real, with a real artifact, card and reference;
* runs 2.. and versions 2.. are copies of run 1 and version 1 (same artifact, so every
  version loads), with their own numbers, run keys, jittered metrics and dates over the
  year, inserted in bulk; every 25th version was promoted (an event each), the last one is
  in production;
* alerts: one per rule and subject at a time, over the year, inserted in bulk with their
  history (opened; acknowledged and resolved for most), the latest few still open;
* predictions: the sample's customers scored once by ``score_batch`` (real predictions and
  scores), repeated over ``days`` days with new request ids (times in them) and laid out
  by the API log writer's own ``LogLayout`` into one Arrow chunk per day (``store_chunk``:
  what the log holds after compaction), one customer column drifting in the last quarter;
  labels for a share of the rows older than two weeks (``record_labels``);
* stored windows: the real monitor (``Project.monitor``) over the whole period, once per
  configured length (``1d`` and the rules' ``7d``), so every stored block is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DAY = dt.timedelta(days=1)
CHUNK_PIECE = 50  # records per logged request

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def make_project(root: Path, *, customers: int = 600) -> None:
    """The churn sample, leak dropped, daily logged-time windows; trained once."""
    import steadyml
    from steadyml.flows.plan import init_from_template

    init_from_template(root, "churn", n_customers=customers, months=3)
    cfg = root / "steadyml.yaml"
    text = cfg.read_text(encoding="utf-8").replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", "drop: {cancellation_reason: known only after churn}")
    text = text.replace("min_metric: 0.75", "min_metric: 0.5")
    text = text.replace("monitoring:\n  window: 7d", "monitoring:\n  window: 1d", 1)
    text = text.replace("  time: event", "  time: logged", 1)
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        project.train(force=True)


def _copies(
    source: dict[str, Any], count: int, make: Callable[[int], dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        row = dict(source)
        row.pop("id", None)
        row.update(make(i))
        out.append(row)
    return out


def _insert(engine: Any, table: Any, rows: list[dict[str, Any]], batch: int = 2000) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), batch):
            conn.execute(table.insert(), rows[i : i + batch])


def seed_registry(
    project: Any,
    *,
    runs: int,
    versions: int,
    start: dt.datetime,
    end: dt.datetime,
    rng: random.Random,
) -> int:
    """Runs 2..``runs`` and versions 2..``versions`` copied from run 1 and version 1; returns
    the production version."""
    from sqlalchemy import select, update

    from steadyml.store.models import DeploymentEventRow, ModelVersionRow, RunRow

    store = project.store
    engine = store.engine
    versions = max(1, min(versions, runs))
    span = (end - start).total_seconds()
    with engine.connect() as conn:
        run1 = dict(
            conn.execute(
                select(RunRow.__table__).where(RunRow.project == store.project, RunRow.number == 1)
            )
            .mappings()
            .one()
        )
        mv1 = dict(
            conn.execute(
                select(ModelVersionRow.__table__).where(
                    ModelVersionRow.project == store.project, ModelVersionRow.version == 1
                )
            )
            .mappings()
            .one()
        )
    # version v (2..versions) comes from run number run_of[v], spread over the runs
    run_of = {
        v: 1 + round((v - 1) * (runs - 1) / max(versions - 1, 1)) for v in range(2, versions + 1)
    }
    version_of = {r: v for v, r in run_of.items()}

    def when(number: int, total: int) -> dt.datetime:
        return start + dt.timedelta(seconds=span * number / max(total, 1))

    metrics1 = dict(run1["metrics"] or {})

    def run_fields(i: int) -> dict[str, Any]:
        number = i + 2
        jitter = {
            k: (v + rng.uniform(-0.03, 0.03) if isinstance(v, float) else v)
            for k, v in metrics1.items()
        }
        return {
            "number": number,
            "run_key": hashlib.sha256(f"run-{number}".encode()).hexdigest(),
            "metrics": jitter,
            "params": {**(run1["params"] or {}), "seed": number},
            "duration_s": round(rng.uniform(2, 40), 2),
            "model_version": version_of.get(number),
            "created_at": when(number, runs),
        }

    _insert(engine, RunRow.__table__, _copies(run1, runs - 1, run_fields))
    promoted = [v for v in range(2, versions + 1) if v % 25 == 0 or v == versions]
    production = versions

    def version_fields(i: int) -> dict[str, Any]:
        v = i + 2
        stage = "production" if v == production else ("archived" if v in promoted else "candidate")
        return {
            "version": v,
            "run_number": run_of[v],
            "stage": stage,
            "primary_value": (mv1["primary_value"] or 0.8) + rng.uniform(-0.03, 0.03),
            "created_at": when(run_of[v], runs),
        }

    with engine.begin() as conn:
        if versions > 1:
            conn.execute(
                update(ModelVersionRow)
                .where(ModelVersionRow.project == store.project, ModelVersionRow.version == 1)
                .values(stage="archived")
            )
    _insert(engine, ModelVersionRow.__table__, _copies(mv1, versions - 1, version_fields))
    if versions == 1:
        project.promote(1, "production", reason="seeded", by="ui_seed", override="bench seed")
        return 1
    events, previous = [], 1
    for v in promoted:
        events.append(
            {
                "project": store.project,
                "action": "promote",
                "stage": "production",
                "from_version": previous,
                "to_version": v,
                "by": "ui_seed",
                "reason": f"v{v} beat v{previous} on the held-out month",
                "override": None,
                "at": when(run_of[v], runs) + dt.timedelta(hours=2),
            }
        )
        previous = v
    _insert(engine, DeploymentEventRow.__table__, events)
    return production


def seed_alerts(
    project: Any,
    *,
    alerts: int,
    start: dt.datetime,
    end: dt.datetime,
    rng: random.Random,
    open_alerts: int = 20,
) -> None:
    """``alerts`` incidents over the period with their history; the latest few still open."""
    from sqlalchemy import func, select

    from steadyml.store.models import AlertEventRow, AlertRow

    store = project.store
    config = project.config
    rules = list(config.monitoring.alerts)
    features = list(config.data.roles().features) or ["volume"]
    subjects = [(r, f) for r in rules for f in features]
    span = (end - start).total_seconds()
    rows = []
    for i in range(alerts):
        rule, subject = subjects[i % len(subjects)]
        first = start + dt.timedelta(seconds=span * i / max(alerts, 1))
        status = (
            "open"
            if i >= alerts - open_alerts
            else "acknowledged"
            if i >= alerts - 3 * open_alerts
            else "resolved"
        )
        metric = rule.metric.replace("*", subject) if rule.metric.endswith("*") else rule.metric
        rows.append(
            {
                "project": store.project,
                "key": f"{rule.name}|{subject if ':' in metric else ''}~{i}",
                "rule": rule.name,
                "metric": metric,
                "subject": subject if ":" in metric else None,
                "severity": rule.severity,
                "owner": rule.owner or config.owners.monitoring,
                "status": status,
                "value": round(rng.uniform(0, 1), 4),
                "comparison": rule.comparison,
                "threshold": rule.threshold,
                "window_start": first.replace(hour=0, minute=0, second=0, microsecond=0),
                "window_end": first.replace(hour=0, minute=0, second=0, microsecond=0) + 7 * DAY,
                "model_version": None,
                "message": f"{metric} crossed {rule.threshold} (seeded)",
                "next_step": "Look at the monitoring page for this window.",
                "first_seen": first,
                "last_seen": first + dt.timedelta(hours=rng.randint(0, 72)),
                "times_seen": rng.randint(1, 20),
            }
        )
    with store.engine.connect() as conn:
        before = conn.execute(select(func.max(AlertRow.id))).scalar() or 0
    _insert(store.engine, AlertRow.__table__, rows)
    with store.engine.connect() as conn:
        ids = list(
            conn.execute(
                select(AlertRow.id)
                .where(AlertRow.id > before, AlertRow.project == store.project)
                .order_by(AlertRow.id)
            ).scalars()
        )
    events = []
    for alert_id, row in zip(ids, rows, strict=True):
        at = row["first_seen"]
        events.append({"alert_id": alert_id, "at": at, "event": "opened", "by": None, "note": None})
        if row["status"] != "open":
            events.append(
                {
                    "alert_id": alert_id,
                    "at": at + dt.timedelta(hours=1),
                    "event": "acknowledged",
                    "by": "ana",
                    "note": "looking",
                }
            )
        if row["status"] == "resolved":
            events.append(
                {
                    "alert_id": alert_id,
                    "at": at + dt.timedelta(hours=30),
                    "event": "resolved",
                    "by": "ana",
                    "note": "retrained (seeded)",
                }
            )
    _insert(store.engine, AlertEventRow.__table__, events, batch=5000)


def _scored_sample(
    project: Any, root: Path
) -> tuple[list[str], dict[str, str], list[list[Any]], list[Any], list[float], list[Any]]:
    """The sample's live customers scored once (no log): columns, types, values, predictions,
    scores and true labels."""
    import pandas as pd

    from steadyml.samples.churn import make_churn_live

    features, labels = make_churn_live(n_customers=1000, months=1)
    file = root / "ui_seed_sample.csv"
    features.to_csv(file, index=False)
    out = root / "ui_seed_sample.scored.parquet"
    rejects = root / "ui_seed_sample.rejects.csv"
    project.score_batch(file, out, rejects=rejects, log=False)
    scored = pd.read_parquet(out)
    roles = project.config.data.roles()
    contract = project.contract()
    # the columns the API logs: the contract's, the target left out (serving/service.py)
    columns = [c for c in contract.columns if c != roles.target and c in features.columns]
    merged = features.merge(scored[[roles.id, "prediction", "score"]], on=roles.id)
    truth = dict(zip(labels[roles.id], labels[roles.target], strict=True))
    types = {c: contract.columns[c].type for c in columns}
    values = merged[columns].astype(object).where(merged[columns].notna(), None).values.tolist()
    for done in (file, out, rejects):
        done.unlink(missing_ok=True)
    return (
        columns,
        types,
        values,
        merged["prediction"].tolist(),
        [float(s) for s in merged["score"]],
        [truth.get(k) for k in merged[roles.id]],
    )


def seed_predictions(
    project: Any,
    root: Path,
    *,
    predictions: int,
    start: dt.datetime,
    days: int,
    version: int,
    rng: random.Random,
    labels_share: float = 0.05,
) -> tuple[int, str | None]:
    """``predictions`` rows over ``days`` days, one log chunk a day; labels for a share of
    the rows older than two weeks. Returns (labels stored, one request id)."""
    from steadyml.entities import new_request_id
    from steadyml.predlog import LogLayout, LogPiece, store_chunk

    store = project.store
    columns, types, values, preds, scores, truth = _scored_sample(project, root)
    roles = project.config.data.roles()
    layout = LogLayout(columns, types=types, pii=list(roles.pii), id_column=roles.id)
    drifting = "monthly_charges" if "monthly_charges" in columns else None
    drift_at = columns.index(drifting) if drifting else -1
    per_day, extra = divmod(predictions, days)
    n = len(values)
    cursor = 0
    labels: list[tuple[str, Any]] = []
    label_until = start + (days - 14) * DAY
    some_id = None
    for day in range(days):
        count = per_day + (1 if day < extra else 0)
        if not count:
            continue
        day_start = start + day * DAY
        late = day >= days * 3 // 4  # the last quarter: one column drifts
        pieces = []
        for first in range(0, count, CHUNK_PIECE):
            k = min(CHUNK_PIECE, count - first)
            at = day_start.timestamp() + (first / count) * 86_400
            index = [(cursor + j) % n for j in range(k)]
            cursor += k
            rows = [list(values[i]) for i in index]
            if late and drift_at >= 0:
                for row in rows:
                    if row[drift_at] is not None:
                        row[drift_at] = float(row[drift_at]) * 1.25
            ids = [new_request_id(int(at * 1000)) for _ in range(k)]
            fallback = rng.random() < 0.01
            pieces.append(
                LogPiece(
                    rows,
                    ids,
                    [preds[i] for i in index],
                    [scores[i] for i in index],
                    version,
                    "live",
                    round(rng.lognormvariate(1.6, 0.5), 2),
                    at,
                    fallback=fallback,
                    reasons=["timeout"] * k if fallback else None,
                )
            )
            if day_start < label_until:
                for j, i in enumerate(index):
                    if truth[i] is not None and rng.random() < labels_share:
                        labels.append((ids[j], truth[i]))
            some_id = some_id or ids[0]
        for chunk in layout.chunks([layout.table(pieces)]):
            store_chunk(store, chunk)
    if labels:
        project.record_labels(labels)
    return len(labels), some_id


def _count(project: Any, table: str) -> int:
    from sqlalchemy import func, select

    from steadyml.store.models import Base

    t = Base.metadata.tables[table]
    with project.store.engine.connect() as conn:
        query = select(func.count()).select_from(t).where(t.c.project == project.store.project)
        return int(conn.execute(query).scalar() or 0)


def seed_project(
    root: str | Path,
    *,
    runs: int = 10_000,
    versions: int = 1_000,
    alerts: int = 5_000,
    predictions: int = 1_000_000,
    days: int = 365,
    customers: int = 600,
    labels_share: float = 0.05,
    seed: int = 0,
    progress: Progress | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Create (in the empty folder ``root``) the dashboard benchmark's project; returns what
    was made and how long each part took."""
    import steadyml
    from steadyml.config import parse_duration
    from steadyml.flows.windows import aligned_start

    say = progress or _quiet
    root = Path(root)
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.UTC)
    timings: dict[str, float] = {}
    cpu = time.process_time()
    t = time.perf_counter()
    make_project(root, customers=customers)
    timings["project_and_training_s"] = time.perf_counter() - t
    say(f"trained the churn sample in {timings['project_and_training_s']:.1f} s")
    with steadyml.open(root, env={}) as project:
        monitoring = project.config.monitoring
        lengths = sorted(
            {monitoring.window} | {r.window for r in monitoring.alerts}, key=parse_duration
        )
        # the log ends at midnight (today's windows stay empty) and starts on the longest
        # length's calendar boundary (a Monday for 7d), so one monitor pass measures windows
        # of every length that the store keeps
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = aligned_start(end - days * DAY, lengths[-1])
        log_days = (end - start).days
        t = time.perf_counter()
        production = seed_registry(
            project, runs=runs, versions=versions, start=start, end=end, rng=rng
        )
        timings["runs_and_versions_s"] = time.perf_counter() - t
        say(f"{runs:,} runs and {versions:,} versions in {timings['runs_and_versions_s']:.1f} s")
        t = time.perf_counter()
        labelled, request_id = seed_predictions(
            project,
            root,
            predictions=predictions,
            start=start,
            days=log_days,
            version=production,
            rng=rng,
            labels_share=labels_share,
        )
        timings["predictions_s"] = time.perf_counter() - t
        say(
            f"{predictions:,} predictions over {log_days} days and {labelled:,} labels in "
            f"{timings['predictions_s']:.1f} s"
        )
        t = time.perf_counter()
        # the real monitor, every length in one pass over the log; the alert rules run too
        # (their incidents are real ones), without notifications
        run = project.monitor(since=start, until=end, alerts=True, notify=False)
        timings["windows_s"] = time.perf_counter() - t
        stored = {length: project.count_monitor_windows(length=length) for length in lengths}
        say(
            f"stored windows {stored} ({run.result['rows']:,} rows measured) in "
            f"{timings['windows_s']:.1f} s"
        )
        t = time.perf_counter()
        fired = _count(project, "alerts")
        seed_alerts(project, alerts=max(alerts - fired, 0), start=start, end=end, rng=rng)
        timings["alerts_s"] = time.perf_counter() - t
        say(
            f"{fired:,} alerts raised by the monitor, {max(alerts - fired, 0):,} more seeded in "
            f"{timings['alerts_s']:.1f} s"
        )
        summary = {
            "root": str(root),
            "runs": _count(project, "runs"),
            "model_versions": _count(project, "model_versions"),
            "production_version": production,
            "alerts": _count(project, "alerts"),
            "predictions": project.count_predictions(),
            "labels": labelled,
            "windows": stored,
            "since": start.isoformat(),
            "until": end.isoformat(),
            "request_id": request_id,
            "seconds": {k: round(v, 1) for k, v in timings.items()},
        }
    summary["seconds"]["total"] = round(sum(timings.values()), 1)
    summary["seconds"]["cpu"] = round(time.process_time() - cpu, 1)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="an empty folder for the project")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=1_000)
    parser.add_argument("--alerts", type=int, default=5_000)
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="days of log and windows (≤ 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.root.exists() and any(args.root.iterdir()):
        print(f"Error: {args.root} is not empty; give a new or empty folder.", file=sys.stderr)
        return 2
    summary = seed_project(
        args.root,
        runs=args.runs,
        versions=args.versions,
        alerts=args.alerts,
        predictions=args.predictions,
        days=args.days,
        seed=args.seed,
        progress=None if args.json else print,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"Seeded {summary['root']} in {summary['seconds']['total']} s. Next: look at it "
            f"with `steadyml ui --project {summary['root']}`, or time its pages with "
            "bench/ui.py."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
