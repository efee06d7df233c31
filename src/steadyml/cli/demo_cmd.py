"""``steadyml demo``: the guided lifecycle on the sample churn project.

Each step calls the same Project API a user would, and says what happened, what it means and
what comes next. Later stages add their step here as they are built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.rule import Rule

from steadyml.cli._common import bullet, handle_errors, out, progress, table
from steadyml.cli.data_cmd import render_check
from steadyml.cli.train_cmd import render_train

HELP = """\
Run the whole lifecycle on a sample churn project, step by step, in a few minutes.

It creates the project in DIR (default ./demo-project), shows the written plan, checks the
data (and catches the planted leak), fixes what it found, records a data version, trains a
model against a baseline with gates, promotes it to production with a recorded reason, and
writes its model card. Then it serves and batch-scores, watches four weeks of drifting
traffic, retrains (a decision against the champion), rolls the winner out shadow -> canary ->
production, rolls a bad candidate back automatically, drafts the incident report and scores
the launch checklist. The release is refused until the plan names its approver. Run it
again at any time: it starts fresh, and the data is generated from a seed, so the results
are the same every time.
"""

MARKER = ".steadyml-demo"
TEMPLATE_HEADER = "# steadyml project file: the one-page plan for this model"
APPROVER_LINE = "release_approver: head-of-retention@example.com"
UNWRITTEN_APPROVER = "release_approver: (not written yet) who approves a release to production"
LEAK_FIX = (
    "'known only after the customer has left (post-outcome leakage, caught by steadyml data check)'"
)


def _step(number: int, title: str, why: str) -> None:
    out.print()
    out.print(Rule(f"Step {number} · {title}", align="left"))
    out.print(why, markup=False, style="italic")


@handle_errors
def demo(
    directory: Path = typer.Argument(
        Path("demo-project"), metavar="DIR", help="Where to create the sample project."
    ),
    customers: int = typer.Option(
        20_000, "--customers", hidden=True, help="Customers to generate (smaller is faster)."
    ),
) -> None:
    import steadyml
    from steadyml.flows import plan as scaffold

    _prepare_folder(directory)
    out.print("steadyml demo: keeping a churn model useful after the notebook", style="bold")
    out.print(
        "A model in a notebook is not a product. This demo walks the steps that make it "
        "one, on a sample project: plan, data, train, deploy, monitor, and update safely.",
        markup=False,
    )

    _step(
        1,
        "The plan",
        "Write down the problem, who uses the prediction, how success is "
        "measured, and who owns what. It lives in steadyml.yaml.",
    )
    init = scaffold.init_from_template(
        directory, "churn", n_customers=customers, force=True, progress=progress()
    )
    (init.root / MARKER).write_text("made by `steadyml demo`; safe to delete\n", encoding="utf-8")
    plan_text = init.config_path.read_text(encoding="utf-8")
    init.config_path.write_text(plan_text.replace(APPROVER_LINE, UNWRITTEN_APPROVER, 1),
                                encoding="utf-8")  # fmt: skip
    project = steadyml.open(init.config_path)
    cfg = project.config
    out.print(f"Created {init.config_path} and {init.rows:,} rows of customer data.", markup=False)
    bullet(
        [
            f"Problem: {cfg.project.problem}",
            f"Users: {cfg.project.users}",
            f"Success: {cfg.project.success_metric.name} ≥ {cfg.project.success_metric.threshold}",
            f"Mode: {cfg.project.mode} — {cfg.project.mode_reason}",
            f"Owners: model {cfg.owners.model}; release approval: not written yet (the demo "
            "leaves it for step 4)",
        ]
    )

    _step(
        2,
        "The data",
        "Check the data before any model sees it: write down what it should "
        "look like (the contract), measure its quality, and look for leakage — a column that "
        "is only known after the outcome.",
    )
    if project.contract_path.exists():
        project.contract_path.unlink()  # a fresh demo infers its contract anew
    with project:
        result = project.check_data(progress=progress())
    render_check(result)
    leak = [
        f
        for f in result.leakage
        if f.rule == "single_column_predictor" and f.column == "cancellation_reason"
    ]
    sentinel = [f for f in result.quality.findings if f.rule == "sentinel_code"]
    out.print()
    if leak:
        out.print(
            "✓ The planted leak was caught: 'cancellation_reason' is filled in only for "
            "customers who already left, so it gives the answer away. A model trained "
            "on it would look perfect in testing and be useless live.",
            style="bold green",
            markup=False,
        )
    else:  # pragma: no cover - the demo test fails if this happens
        out.print(
            "✗ The planted leak was NOT caught; this is a bug in steadyml.",
            style="bold red",
            markup=False,
        )

    out.print(
        "\nThe demo now fixes what the check found, as you would, in steadyml.yaml:", markup=False
    )
    text = init.config_path.read_text(encoding="utf-8")
    text = text.replace(", cancellation_reason]", "]")
    text = text.replace("drop: {}", f"drop:\n      cancellation_reason: {LEAK_FIX}")
    changes = ["moved cancellation_reason to drop, with the reason"]
    codes = {f.column: f.details.get("code") for f in sentinel if f.column}
    if codes:
        entries = ", ".join(f"{c}: [{v}]" for c, v in codes.items() if v is not None)
        text = text.replace(
            "  columns:\n",
            f"  missing_codes: {{{entries}}}   # codes that mean 'unknown'\n  columns:\n",
            1,
        )
        changes.append(f"declared missing codes: {entries}")
    init.config_path.write_text(text, encoding="utf-8")
    bullet(changes)

    project = steadyml.open(init.config_path)
    with project:
        project.infer_contract(overwrite=True)
        result = project.check_data(progress=progress())
        if result.passed:
            out.print(
                f"✓ Checked again: fit to train on ({result.warnings} warning(s) to read).",
                style="bold green",
                markup=False,
            )
        else:
            render_check(result)
        snap = project.snapshot()
        again = project.snapshot()
    v = snap.version
    out.print(
        f"Recorded dataset version {v.version} ({v.short}): {v.rows:,} rows. Every later "
        "step records which version it used.",
        markup=False,
    )
    out.print(
        f"Snapshotting the same data again gives version {again.version.version} and "
        f"records {'nothing new' if not again.created else 'a new version (unexpected)'}.",
        markup=False,
    )

    _step(
        3,
        "A repeatable training run",
        "Train the same way every time: one pipeline "
        "from the column roles, a do-nothing baseline to beat, gates from steadyml.yaml, and "
        "a record of the data, settings and code behind the result.",
    )
    project = steadyml.open(init.config_path)
    with project:
        trained = project.train(progress=progress())
        render_train(trained, project.config.project.success_metric.name)
        rerun = project.train()
        out.print(
            f"\nTraining again with nothing changed: "
            f"{'up to date, run ' + str(rerun.run.number) + ' reused, nothing trained' if rerun.up_to_date else 'trained again (unexpected)'}.",
            markup=False,
        )
        repro = project.reproduce()
        said = (f"the same metrics (largest difference {repro.summary['max_difference']:.1g})"
                if repro.ok else f"different metrics: {repro.error}")  # fmt: skip
        out.print(f"Retraining the same snapshot from scratch (steadyml checklist reproduce): "
                  f"{said}.", markup=False)  # fmt: skip

        _step(
            4,
            "Approve and release",
            "A model reaches production only when someone "
            "approves it, with a reason, and the previous version stays one command away.",
        )
        mv = trained.model_version
        if mv is not None and mv.gates_passed:
            project = _gate_demo(project, init.config_path, mv.version)
            approver = project.config.owners.release_approver
            event = project.promote(
                mv.version,
                "production",
                by=approver,
                reason="beats the baseline and passed every gate in the demo",
            )
            out.print(
                f"Version {event.to_version} promoted to production by {event.by}: "
                f"{event.reason!r}. Undo with `steadyml models rollback --reason …`.",
                markup=False,
            )
        elif mv is not None:
            out.print(
                f"Version {mv.version} failed its gates, so the demo does not promote it.",
                markup=False,
            )
        if mv is not None:
            card_md = init.root / "model-card.md"
            card_html = init.root / "model-card.html"
            card_md.write_text(project.model_card(mv.version), encoding="utf-8")
            card_html.write_text(project.model_card(mv.version, fmt="html"), encoding="utf-8")
            out.print(
                f"Model card written: {card_html} (open it in a browser) and {card_md.name}.",
                markup=False,
            )
    project.close()  # the plan written in step 4 opened it again

    if mv is not None and mv.gates_passed:
        _step(5, "Serve it, and watch it refuse bad input",
              "A live model validates every request against the data contract, answers with "
              "its version and a request id, logs what it did, and stops without losing a "
              "thing.")  # fmt: skip
        _serve_demo(init.root)
        _step(6, "Score a batch, and keep every row",
              "Batch scoring is often the better first deployment: a file in, a file out. A "
              "row that breaks a rule of the contract (a value of the wrong type) is not "
              "dropped: it goes to a rejects file with its line and the reason. A row that is "
              "only outside what training showed (a new category, a value beyond the training "
              "range) is scored, with a warning in its _warnings column.")  # fmt: skip
        _batch_demo(init.root)
        _step(7, "Watch it: four weeks of traffic, drift, late labels, alerts",
              "A deployed model is watched: system health, data quality, drift against the "
              "training data, performance once the true outcomes arrive, fairness over time. "
              "When a number crosses a line from steadyml.yaml, the owner is told.")  # fmt: skip
        from steadyml.cli.demo_watch import watch_demo

        watch_demo(init.root, customers=max(customers // 10, 600))
        _update_demo(init.root, customers)
        _checklist_demo(init.root)

    out.print()
    out.print(Rule("What comes next", align="left"))
    bullet([
        "the launch checklist, with the evidence behind each test: steadyml checklist",
        "what a person must still do: steadyml checklist attest privacy_fairness --note …",
    ])  # fmt: skip
    out.print(f"\nYour demo project is in {init.root}. Try:", markup=False)
    out.print(
        f"  cd {directory}\n  steadyml runs list\n  steadyml models list\n"
        "  steadyml models card 1\n  steadyml keys create --name me --scopes predict\n"
        "  steadyml serve              # then open http://127.0.0.1:8000/docs\n"
        "  steadyml monitor --window 7d --since 2026-01-05 --until 2026-02-02\n"
        "  steadyml alerts list\n"
        "  steadyml runs compare 1 2       # the retrain decision\n"
        "  steadyml rollout status\n"
        "  steadyml checklist              # the launch checklist and its score",
        markup=False,
    )


def _gate_demo(project: Any, config_path: Path, version: int) -> Any:
    """The launch gate refuses while the plan names no release approver; written, it passes.
    Returns the project opened again on the written plan."""
    import steadyml
    from steadyml.errors import SteadyMLError

    try:
        project.promote(version, "production", by="demo", reason="passed every gate")
    except SteadyMLError as exc:
        first = exc.message.splitlines()[0]
        items = [line.strip().removeprefix("- ") for line in exc.message.splitlines()[1:]]
        out.print(f"✗ Refused: {first}", style="bold red", markup=False)
        bullet(items)
    else:  # pragma: no cover - the demo test fails if this happens
        out.print("✗ The gate did NOT refuse; this is a bug in steadyml.", style="bold red",
                  markup=False)  # fmt: skip
    project.close()
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text.replace(UNWRITTEN_APPROVER, APPROVER_LINE, 1), encoding="utf-8")
    out.print("The demo writes the release approver into steadyml.yaml "
              f"({APPROVER_LINE.split(': ', 1)[1]}), as you would, and asks again:",
              markup=False)  # fmt: skip
    return steadyml.open(config_path)


def _checklist_demo(root: Path) -> None:
    """Step 12: the launch checklist, scored from what the demo recorded."""
    import steadyml
    from steadyml.worker import run_job

    _step(12, "The launch checklist: is it ready, by the evidence?",
          "The course's launch items and the 28 tests of \"The ML Test Score\" (Breck et al., "
          "2017), each checked against what steadyml recorded. A test scores 1 when the "
          "records show it automated, ½ when a person attests it; the score is the weakest "
          "section's sum.")  # fmt: skip
    with steadyml.open(root) as project:
        job = run_job(project, "monitor")  # what `steadyml worker` does every hour
        out.print(f"The worker's monitor job ran once ({'ok' if job.ok else job.error}), as "
                  "it does on its schedule.", markup=False)  # fmt: skip
        result = project.checklist()
        (root / "checklist.html").write_text(project.checklist_html(result), encoding="utf-8")
    sums = " · ".join(f"{k} {v:g}/7" for k, v in result.sections.items())
    out.print(f"ML Test Score: {result.score:g} ({sums}); {result.automated} of 28 tests "
              "evidenced automatically.", style="bold", markup=False)  # fmt: skip
    out.print(f"Band: {result.band}", markup=False)
    missing = [t for t in result.tests if t.status != "pass"]
    if missing:
        out.print("Still to earn:", markup=False)
        bullet([f"{t.id} {t.title}: {t.evidence} → {t.fix}" for t in missing])
    review = next(i for i in result.launch if i.id == "privacy_fairness")
    out.print(f"Before launch, a person still reviews privacy and fairness: {review.fix}",
              markup=False)  # fmt: skip
    out.print(f"Checklist written: {root / 'checklist.html'}", markup=False)


def _update_demo(root: Path, customers: int) -> None:
    """Steps 8-11: update safely (retrain, roll out, roll back a bad candidate, write it up)."""
    from steadyml.cli import demo_update as update

    _step(8, "Retrain: a challenger against the champion, on the same recent rows",
          "Update safely, first part: retrain on fresh, checked data, then compare the "
          "challenger with the champion on the same recent rows, with the uncertainty stated. "
          "The decision (PROMOTE, REJECT or INCONCLUSIVE) never promotes by itself.")  # fmt: skip
    challenger = update.retrain_demo(root, customers)
    if challenger is None:
        return
    _step(9, "Roll it out: shadow, canary 10 %, 50 %, then production, while traffic flows",
          "Release in shadow or to a small share first. The challenger scores every request "
          "in the shadow (never returned), then answers 10 % and 50 % of them; guardrails "
          "compare it with production on the same window, and the last step promotes it. The "
          "demo's plan holds each step 3 s instead of 30 min.")  # fmt: skip
    with update.serving(root) as traffic:
        update.good_rollout(root, traffic, challenger)
        _step(10, "A bad candidate, taken back by a guardrail",
              "Keep a rollback, and let it act by itself: a failed guardrail sends all traffic "
              "back to production within one evaluation, records a deployment event and "
              "raises an incident for the owner.")  # fmt: skip
        bad = update.bad_candidate(root)
        incident = None if bad is None else update.bad_rollout(root, traffic, bad)
    if incident is None:
        return
    _step(11, "Write it down: the incident report",
          "An incident is confirmed, stabilised, explained and written up. steadyml drafts the "
          "write-up from its records; a person fills in the cause and the lessons.")  # fmt: skip
    update.write_report(root, incident)


def _serve_demo(root: Path) -> None:
    """Start the real server in the background, use it like a client would, stop it."""
    import httpx
    import pandas as pd

    import steadyml
    from steadyml.cli.demo_server import running_server

    with steadyml.open(root) as project:
        token, _key = project.create_key("demo-client", ["predict", "feedback"], by="demo")
        sample = project.load_snapshot().tail(3)
    sample = sample.drop(columns=["churned", "cancellation_reason"], errors="ignore")
    sample["snapshot_month"] = sample["snapshot_month"].astype(str)
    records = [
        {k: (None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)) for k, v in r.items()}
        for r in sample.to_dict(orient="records")
    ]
    with running_server(root) as url:
        out.print(f"Server running at {url} (started in the background; docs at {url}/docs).",
                  markup=False)  # fmt: skip
        headers = {"X-API-Key": token}
        res = httpx.post(f"{url}/v1/predict", json={"records": records}, headers=headers,
                         timeout=30).json()  # fmt: skip
        t = table("customer", "prediction", "churn score", "model", "request id")
        for rec, r in zip(records, res["results"], strict=True):
            t.add_row(str(rec.get("customer_id")), str(r["prediction"]), f"{r['score']:.3f}",
                      f"v{r['model_version']}", r["request_id"])  # fmt: skip
        out.print(t)
        bad = dict(records[0])
        cases = [
            ("a value of the wrong type", {**bad, "tenure_months": "about a year"}, headers),
            ("a field missing", {k: v for k, v in bad.items() if k != "tenure_months"}, headers),
            ("a category never seen", {**bad, "contract": "lifetime"}, headers),
            ("a value out of range", {**bad, "tenure_months": 5000}, headers),
            ("no API key", bad, {}),
        ]
        out.print("Unusual requests, and what the service says (a broken rule is refused; a "
                  "value outside what training showed is answered, with a warning):",
                  markup=False)  # fmt: skip
        for label, rec, hdrs in cases:
            r = httpx.post(f"{url}/v1/predict", json={"records": [rec]}, headers=hdrs, timeout=30)
            out.print(f"  {label}: HTTP {r.status_code} — {_answer(r.json())}", markup=False)
        first = res["results"][0]["request_id"]
        httpx.post(f"{url}/v1/feedback", json={"labels": [{"request_id": first, "label": 0}]},
                   headers=headers, timeout=30)  # fmt: skip
        out.print("Sent a true label for the first prediction (POST /v1/feedback).", markup=False)
    with steadyml.open(root) as project:
        logged = project.count_predictions(answered=True)
    out.print(f"Stopped the server cleanly (SIGTERM). The prediction log holds {logged} "
              "prediction(s), without e-mail addresses or phone numbers.", markup=False)  # fmt: skip


def _answer(body: dict[str, Any]) -> str:
    """What the service said: its error, or the prediction with the record's warnings (a
    record outside what training showed is answered when serving.on_unexpected is answer)."""
    if "error" in body:
        return str(body["error"])
    (result,) = body["results"]
    listed = result.get("warnings") or []
    warnings = [w.get("message", w) if isinstance(w, dict) else w for w in listed]
    if not warnings:
        return f"scored (prediction {result['prediction']})"
    said = "; ".join(map(str, warnings))
    return f"scored (prediction {result['prediction']}), with a warning: {said}"


def _batch_demo(root: Path) -> None:
    """Score next month's customers, a few rows broken on purpose, and account for all: a
    value of the wrong type breaks a rule (rejected); an unseen contract and a negative
    charge only break expectations (scored, with a warning)."""
    import steadyml
    from steadyml.samples.churn import make_churn_live

    features, _labels = make_churn_live(n_customers=2000, months=1, drift_from_month=1)
    live = root / "data" / "new-customers.csv"
    features.to_csv(live, index=False, date_format="%Y-%m-%d")
    lines = live.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    broken = {3: ("tenure_months", "about a year"), 7: ("contract", "lifetime"),
              11: ("monthly_charges", "-40")}  # fmt: skip
    for line_no, (column, value) in broken.items():
        cells = lines[line_no - 1].split(",")
        cells[header.index(column)] = value
        lines[line_no - 1] = ",".join(cells)
    live.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out_path = root / "data" / "new-customers.scored.csv"
    with steadyml.open(root) as project:
        result = project.score_batch(live, out_path)
    out.print(
        f"Read {result.rows_in:,} rows: {result.rows_scored:,} scored, {result.rows_rejected:,} "
        f"rejected ({result.rows_in:,} = {result.rows_scored:,} + {result.rows_rejected:,}).",
        markup=False,
    )
    out.print(f"Scores: {out_path}", markup=False)
    if result.rejects:
        out.print(f"Rejected rows, with their line and the reason: {result.rejects}", markup=False)
        for kind, count in result.reasons.items():
            out.print(f"  {count} × {kind}", markup=False)
    if result.rows_with_warnings:
        out.print(
            f"Scored with a warning (outside what training showed), {result.rows_with_warnings:,} "
            "row(s), each saying why in its _warnings column:",
            markup=False,
        )
        for kind, count in result.warnings.items():
            out.print(f"  {count} × {kind}", markup=False)


def _prepare_folder(directory: Path) -> None:
    """Start every demo fresh, but never wipe a folder the demo did not make."""
    import shutil

    from steadyml.errors import SteadyMLError

    if not directory.exists():
        return
    if not directory.is_dir():
        raise SteadyMLError(
            f"{directory} exists and is not a folder.",
            hint="Pass another folder: `steadyml demo DIR`.",
        )
    plan = directory / "steadyml.yaml"
    made_by_demo = (directory / MARKER).exists() or (
        plan.exists() and plan.read_text(encoding="utf-8").startswith(TEMPLATE_HEADER)
    )
    if made_by_demo:
        for name in (".steadyml", "contract.yaml", "model-card.md", "model-card.html",
                     "monitor-report.html", "data/weeks", "data/retrain-weeks",
                     "data/churn-billing-export.csv", "incident-report.md",
                     "checklist.html"):  # fmt: skip
            target = directory / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        return
    if any(directory.iterdir()):
        raise SteadyMLError(
            f"{directory} is not empty and was not made by `steadyml demo`; the demo will not "
            "touch it.",
            hint="Pass a new folder: `steadyml demo DIR`.",
        )
