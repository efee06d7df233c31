"""``steadyml retrain``: a challenger on fresh labelled data, and the decision against the champion."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from steadyml.cli._common import handle_errors, next_steps, open_project, out, print_json, progress

if TYPE_CHECKING:
    from steadyml.flows.retrain import RetrainResult

HELP = """\
Retrain on the champion's data plus the labelled live rows, and compare.

The training set is the data version of the production model (the champion) plus the
predictions logged in the window that have a true label (personal data was never logged).
Rows that break the data contract are refused and counted. The most recent share of the
labelled rows (retraining.holdout_share, 20 %) is held out. The result is recorded as a new
data version with its lineage; the same inputs give the same version.

The challenger is trained like `steadyml train` (same pipeline, gates, fairness checks),
tested on the champion's own test rows, and registered as a candidate. Both models are then
scored on the held-out recent rows and on the original test rows: the success metric and
every other metric with a 95 % interval from a paired bootstrap, each segment and sensitive
group, and prediction time. The outcome is PROMOTE, REJECT or INCONCLUSIVE, with one sentence
per check. It never promotes by itself. See docs/retrain.md.
"""

_MARK = {"pass": "✓", "fail": "✗", "inconclusive": "?", "info": "·"}
_STYLE = {"PROMOTE": "bold green", "REJECT": "bold red", "INCONCLUSIVE": "bold yellow"}


def render_retrain(result: RetrainResult) -> None:
    run, decision, dv = result.run, result.decision, result.dataset
    if result.up_to_date:
        out.print(
            f"Up to date: run {run.number} already retrained on these rows against this "
            "champion with these settings; its decision is shown again.",
            style="bold",
            markup=False,
        )
    else:
        out.print(
            f"Run {run.number}: trained {run.model_type} on data version {dv.version} in "
            f"{run.duration_s:.1f} s.",
            style="bold",
            markup=False,
        )
    lineage = dv.lineage or {}
    if lineage:
        window = lineage.get("feedback_window") or {}
        out.print(
            f"  Data version {dv.version} ({'new' if result.dataset_created else 'reused'}, "
            f"{dv.short}): version {lineage.get('parent_version')} + "
            f"{lineage.get('rows_added', 0):,} labelled live rows from the last "
            f"{window.get('labels_since')}; {lineage.get('rows_refused', 0):,} refused by the "
            f"data contract; {lineage.get('holdout_rows', 0):,} most recent held out.",
            markup=False,
        )
    else:
        out.print(f"  Data version {dv.version}: no labelled live rows were added.", markup=False)
    outcome = str(decision.get("outcome"))
    out.print(f"\nDecision: {outcome}", style=_STYLE.get(outcome, "bold"), markup=False)
    out.print(f"  {decision.get('summary')}", markup=False)
    for check in decision.get("checks", []):
        mark = _MARK.get(str(check.get("verdict")), "·")
        out.print(f"  {mark} {check.get('sentence')}", markup=False)
    out.print(f"\n{decision.get('note')}", markup=False)
    if result.rollout:  # retraining.rollout: auto
        out.print(f"Rollout (retraining.rollout: auto): {result.rollout}", markup=False)
    steps: list[str] = []
    mv = result.model_version
    if mv is not None and outcome == "PROMOTE":
        steps.append(f"steadyml models promote {mv.version} --to production --reason '…'")
    if mv is not None:
        steps.append(f"steadyml models card {mv.version}       # the decision is on its card")
    if outcome == "INCONCLUSIVE":
        steps.extend(_inconclusive_steps(decision, mv.version if mv is not None else None))
    champ_run = (decision.get("champion") or {}).get("run")
    if champ_run:
        steps.append(f"steadyml runs compare {champ_run} {run.number}   # and the decision")
    next_steps(steps)


def _inconclusive_steps(decision: dict[str, Any], version: int | None) -> list[str]:
    """What settles an INCONCLUSIVE decision: more labels settle checks on the recent rows;
    a check on the champion's original test rows (a fixed set) is settled by a person."""
    open_checks = [c for c in decision.get("checks", []) if c.get("verdict") == "inconclusive"]
    fixed = [str(c.get("name")) for c in open_checks if str(c.get("name")).endswith("(test)")]
    steps = []
    if len(fixed) < len(open_checks) or not open_checks:
        steps.append("collect more labels (steadyml feedback), then retrain again")
    if fixed and version is not None:
        steps.append(
            f"steadyml rollout start {version} --override --reason '…'   "
            f"# only once a person has reviewed {', '.join(fixed)}: it is measured on the "
            "champion's original test rows, a fixed set, so more labels will not settle it "
            "(shadow, then canary, with guardrails; or change its margin under `retraining:` in "
            "steadyml.yaml)"
        )
    return steps


@handle_errors
def retrain(
    ctx: typer.Context,
    labels_since: str = typer.Option(
        None,
        "--labels-since",
        metavar="WINDOW",
        help="Labelled live rows of this window, e.g. 30d (default: retraining.labels_since).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the decision as Markdown."),
) -> None:
    project = open_project(ctx)
    with project:
        quiet = as_json or markdown
        result = project.retrain(labels_since=labels_since, progress=progress(not quiet))
    if as_json:
        print_json(result.to_dict())
        return
    if markdown:
        from steadyml.training.challenge import decision_markdown

        out.print(decision_markdown(result.decision), markup=False)
        return
    render_retrain(result)
