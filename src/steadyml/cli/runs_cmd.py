"""``steadyml runs …``: the tracked training runs, and what changed between two."""

from __future__ import annotations

from typing import Any

import typer

from steadyml.cli._common import handle_errors, open_project, out, print_json, table
from steadyml.cli._lists import show_list

app = typer.Typer(
    help="Tracked training runs: what went in (data, settings, code) and what came out.\n\n\b\n"
    "  steadyml runs list            every run, newest last\n"
    "  steadyml runs show N          one run in full\n"
    "  steadyml runs compare A B     what changed, then what improved",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _num(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.3f}"
    return "—" if value is None else str(value)


@app.command("list", help="List every training run, oldest first.")
@handle_errors
def list_runs(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    with open_project(ctx) as project:
        runs = project.runs()
        primary = project.config.project.success_metric.name
    show_list(
        runs,
        as_json=as_json,
        columns=("run", "when (UTC)", "model", "data", primary, "baseline", "gates", "version"),
        row=lambda r: (
            str(r.number),
            f"{r.created_at:%Y-%m-%d %H:%M}",
            r.model_type,
            f"v{r.dataset_version}",
            _num(r.metrics.get(primary)),
            _num(r.baseline_metrics.get(primary)),
            "pass" if r.gates_passed else "FAIL",
            "—" if r.model_version is None else str(r.model_version),
        ),
        empty="No runs yet.",
        first_steps=["steadyml train"],
    )


@app.command("show", help="Show one run: lineage, settings, metrics, gates.")
@handle_errors
def show(
    ctx: typer.Context,
    number: int = typer.Argument(..., metavar="N", help="The run number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        r = project.run(number)
    if as_json:
        print_json(r.to_dict())
        return
    code = (r.code_commit or "not under git")[:12] + (
        " + uncommitted changes" if r.code_dirty else ""
    )
    out.print(f"Run {r.number} — {r.model_type} ({r.task})", style="bold", markup=False)
    rows = [
        ("when", f"{r.created_at:%Y-%m-%d %H:%M:%S} UTC by {r.created_by}"),
        ("data", f"version {r.dataset_version} ({r.data_hash[:12]})"),
        ("settings", f"config hash {r.config_hash[:12]}"),
        ("code", code),
        ("duration", f"{r.duration_s:.1f} s"),
        ("gates", "passed" if r.gates_passed else "FAILED"),
        ("model version", "—" if r.model_version is None else str(r.model_version)),
        ("packages", ", ".join(f"{k} {v}" for k, v in r.package_versions.items())),
    ]
    t = table("", "")
    for k, v in rows:
        t.add_row(k, v)
    out.print(t)
    from steadyml.training.evaluate import KNOWN_METRICS

    m = table("metric", "model", "baseline")
    for name, value in r.metrics.items():
        if name in KNOWN_METRICS and isinstance(value, (int, float)):
            m.add_row(name, _num(value), _num(r.baseline_metrics.get(name)))
    out.print(m)
    for check in (r.summary.get("gates") or {}).get("checks", []):
        out.print(f"  {'✓' if check.get('passed') else '✗'} {check.get('message')}", markup=False)
    if r.summary.get("decision"):
        _print_decision(r.summary["decision"])


@app.command("compare", help="Compare two runs: what changed first, then what improved.")
@handle_errors
def compare(
    ctx: typer.Context,
    a: int = typer.Argument(..., metavar="A", help="The earlier run."),
    b: int = typer.Argument(..., metavar="B", help="The later run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        result = project.compare_runs(a, b)
        # a retrain's champion/challenger decision, kept with the challenger's run
        decision = next(
            (project.run(n).summary.get("decision") for n in (b, a)
             if project.run(n).summary.get("decision")),
            None,
        )  # fmt: skip
    if decision is not None:
        result = {**result, "decision": decision}
    if as_json:
        print_json(result)
        return
    out.print(f"Run {a} → run {b}", style="bold", markup=False)
    changes = result["changes"]
    out.print("\nWhat changed", style="bold")
    if not changes:
        out.print("  Nothing: same data, settings, code and parameters.", markup=False)
    for kind in ("data", "code", "model"):
        if kind in changes:
            out.print(f"  {kind}: {changes[kind]['a']} → {changes[kind]['b']}", markup=False)
    for kind in ("config", "params", "packages"):
        for item in changes.get(kind, []):
            out.print(f"  {kind} {item['key']}: {item['a']!r} → {item['b']!r}", markup=False)
    out.print("\nWhat it did to the metrics", style="bold")
    t = table("metric", f"run {a}", f"run {b}", "change", "")
    for m in result["metrics"]:
        t.add_row(m["metric"], _num(m["a"]), _num(m["b"]), f"{m['delta']:+.3f}", m["verdict"])
    out.print(t)
    if decision is not None:
        _print_decision(decision)


def _print_decision(decision: dict[str, Any]) -> None:
    champ = decision.get("champion") or {}
    chall = decision.get("challenger") or {}
    against = f"champion version {champ['version']}" if champ else "no champion"
    out.print(
        f"\nRetrain decision: {decision.get('outcome')} (version {chall.get('version')} "
        f"against {against})",
        style="bold",
        markup=False,
    )
    marks = {"pass": "✓", "fail": "✗", "inconclusive": "?"}
    for check in decision.get("checks", []):
        out.print(f"  {marks.get(check.get('verdict'), '·')} {check.get('sentence')}", markup=False)
    out.print(f"  {decision.get('note')}", markup=False)
    if over := decision.get("override"):  # a person promoted it anyway, on the record
        out.print(f"  Overridden: promoted to {over.get('stage')} by {over.get('by')} at "
                  f"{str(over.get('at'))[:16]} despite {over.get('outcome')}, because "
                  f"{over.get('reason')!r}.", style="yellow", markup=False)  # fmt: skip
