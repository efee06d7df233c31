"""``steadyml train``: step 3 of the lifecycle, a repeatable, tracked training run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from steadyml.cli._common import (
    bullet,
    handle_errors,
    next_steps,
    open_project,
    out,
    print_json,
    progress,
    table,
)

if TYPE_CHECKING:
    from steadyml.flows.train import TrainResult

HELP = """\
Train a model the same way every time, and record the run.

It uses the latest data snapshot (taking one if there is none), checks it against the data
contract, splits it (random, stratified or by time, from steadyml.yaml), builds one
scikit-learn pipeline from the column roles (the same object later serves predictions),
fits the candidate models and a do-nothing baseline, evaluates them on held-out rows, checks
the gates, and registers the model as a new candidate version.

If nothing changed since the last run (same data, settings and code), it reports that run
as up to date instead of training again; --force trains anyway.
"""


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, (int, float)):
        return f"{value:.3f}"
    return str(value)


def render_train(result: TrainResult, primary: str) -> None:
    run = result.run
    s = run.summary
    if result.up_to_date:
        out.print(
            f"Up to date: nothing changed since run {run.number} (same data version "
            f"{run.dataset_version}, settings and code), so nothing was trained. Use --force "
            "to train anyway.",
            style="bold",
            markup=False,
        )
    else:
        out.print(
            f"Run {run.number}: trained {run.model_type} on data version {run.dataset_version} "
            f"in {run.duration_s:.1f} s.",
            style="bold green",
            markup=False,
        )
    split = s.get("split", {})
    threshold = run.metrics.get("threshold")
    if split and split.get("method") == "group":
        col = split.get("column")
        out.print(
            f"  Split: group by {col} — {split.get('train_rows', 0):,} rows "
            f"({split.get('train_groups', 0):,} {col} values) to learn from, "
            f"{split.get('test_rows', 0):,} ({split.get('test_groups', 0):,}) held out: the "
            f"test rows are {col} values the model has not seen.",
            markup=False,
        )
    elif split:
        out.print(
            f"  Split: {split.get('method')} — {split.get('train_rows', 0):,} rows to learn "
            f"from, {split.get('test_rows', 0):,} held out to test on.",
            markup=False,
        )
    t = table("metric", "model", "baseline (do nothing)", "difference")
    from steadyml.training.evaluate import KNOWN_METRICS

    for name, value in run.metrics.items():
        if name not in KNOWN_METRICS or not isinstance(value, (int, float)):
            continue
        base = run.baseline_metrics.get(name)
        diff = value - base if isinstance(base, (int, float)) else None
        label = f"{name} ◀ success metric" if name == primary else name
        t.add_row(label, _fmt(value), _fmt(base), "—" if diff is None else f"{diff:+.3f}")
    out.print(t)
    if isinstance(threshold, (int, float)):
        out.print(
            f"  Decision threshold: a score ≥ {threshold:.2f} counts as "
            f"'{run.metrics.get('positive_label')}'.",
            markup=False,
        )
    latency = s.get("latency") or {}
    if latency:
        size = s.get("artifact_size_bytes")
        size_text = f"; model file {size / 1024:,.0f} KB" if isinstance(size, int) else ""
        out.print(
            f"  Prediction time: {latency.get('one_row_ms', 0):.1f} ms for 1 row, "
            f"{latency.get('thousand_rows_ms', 0):.1f} ms for 1,000 rows{size_text}.",
            markup=False,
        )
    gates = s.get("gates", {})
    verdict = "passed" if run.gates_passed else "FAILED"
    out.print(
        f"Gates: {verdict}",
        style="bold green" if run.gates_passed else "bold red",
        markup=False,
    )
    for check in gates.get("checks", []):
        mark = "✓" if check.get("passed") else "✗"
        out.print(f"  {mark} {check.get('message')}", markup=False)
    fairness = (s.get("fairness") or {}).get("columns", {})
    for col, info in fairness.items():
        gap = info.get("gap")
        if gap is not None:
            out.print(f"  Fairness across '{col}': largest gap {gap:.3f}", markup=False)
    warnings = s.get("warnings", [])
    if warnings:
        out.print("Warnings:", style="yellow")
        bullet(warnings)
    mv = result.model_version
    steps = []
    if mv is not None:
        better = _beats_baseline(run, primary)
        out.print(
            f"\nIn plain words: the model {'beats' if better else 'does NOT beat'} doing "
            f"nothing on {primary}"
            + (
                ", and it passed every gate."
                if run.gates_passed
                else ", but it failed a gate (see ✗ above)."
            ),
            markup=False,
        )
        out.print(f"Registered as model version {mv.version} (stage: {mv.stage}).", markup=False)
        card = f"steadyml models card {mv.version}       # what it does and its limits"
        if run.gates_passed:
            steps.append(
                f"steadyml models promote {mv.version} --to production --reason '…'"
                "   # once its card (below) reads right"
            )
            steps.append(card)
        else:
            steps.append(card)
            steps.append("improve the data or settings in steadyml.yaml, then train again")
    steps.append("steadyml runs compare A B          # what changed between two runs")
    next_steps(steps)


def _beats_baseline(run: Any, primary: str) -> bool:
    gates = run.summary.get("gates", {})
    for check in gates.get("checks", []):
        if check.get("name") == "beat_baseline":
            return bool(check.get("passed"))
    return False


@handle_errors
def train(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Train even if nothing changed."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        result = project.train(force=force, progress=progress(not as_json))
        primary = project.config.project.success_metric.name
    if as_json:
        print_json(result.to_dict())
        return
    render_train(result, primary)
