"""``steadyml rollout``: shadow → canary → production for a candidate, guarded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from steadyml.cli._common import handle_errors, next_steps, open_project, out, print_json

if TYPE_CHECKING:
    from steadyml.entities import Rollout
    from steadyml.flows.rollout import Evaluation, RolloutStatus

app = typer.Typer(
    help="Release a candidate safely: shadow, then canary shares, then production.\n\n"
    "Each step holds for retraining.rollout_plan.hold_minutes and until both the candidate and "
    "production answered min_requests requests in it; every server and the worker check the "
    "guardrails (failed requests, p95 latency, prediction distance, agreement in the shadow "
    "overall and on the rarer classes, the success metric once labels arrive) every "
    "evaluate_every_seconds. A failed check rolls back to production only, raises an incident "
    "and records a deployment event; too few requests holds the step (a pass needs "
    "min_requests per arm; a failure may come sooner, on decisive evidence only). See "
    "docs/rollout.md.\n\n\b\n"
    "  steadyml rollout start V --reason … [--override]\n"
    "  steadyml rollout status\n"
    "  steadyml rollout advance --reason …\n"
    "  steadyml rollout pause --reason …\n"
    "  steadyml rollout abort --reason …",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_MARK = {"PASS": "✓", "FAIL": "✗", "INCONCLUSIVE": "?", "WAITING": "…", "N/A": "·"}
JSON = typer.Option(False, "--json", help="Print JSON.")
REASON = typer.Option(..., "--reason", help="Why: recorded with the change.")
BY = typer.Option(None, "--by", help="Who decides (default: your user name).")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _where(rollout: Rollout) -> str:
    from steadyml.flows.rollout import step_name

    step = step_name(rollout.steps, rollout.step)
    return (f"Rollout {rollout.id}: v{rollout.candidate_version} against production "
            f"v{rollout.production_version}, {rollout.status.replace('_', ' ')} at {step}")  # fmt: skip


def _render_reading(reading: dict[str, Any] | None) -> None:
    if not reading:
        out.print("  No guardrail reading yet.", markup=False)
        return
    out.print(f"  Guardrails ({reading.get('verdict')}): candidate "
              f"{reading.get('candidate_requests', 0):,} requests, production "
              f"{reading.get('production_requests', 0):,} in this step; "
              f"{reading.get('refused', 0):,} refused by the contract (neither arm).",
              markup=False)  # fmt: skip
    for check in reading.get("checks", []):
        mark = _MARK.get(str(check.get("verdict")), "·")
        out.print(f"  {mark} {check.get('sentence')}", markup=False)


def _render_status(st: RolloutStatus) -> None:
    r = st.rollout
    rate = st.requests_per_second
    if r is None or not r.active:
        if r is not None:
            out.print(f"{_where(r)}.", style="bold", markup=False)
            if r.reason:
                out.print(f"  {r.reason}", markup=False)
        else:
            out.print("No rollout yet.", style="bold", markup=False)
        out.print(f"\nBefore starting one (plan {st.plan.get('steps')} %, hold "
                  f"{st.plan.get('hold_minutes')} min, {st.plan.get('min_requests')} requests "
                  f"per arm, checks every {st.plan.get('evaluate_every_seconds')} s):",
                  markup=False)  # fmt: skip
    else:
        out.print(f"{_where(r)} since {r.step_started_at:%Y-%m-%d %H:%M:%S} UTC.",
                  style="bold", markup=False)  # fmt: skip
        _render_reading(st.reading)
        if st.message:
            out.print(f"  {st.message}", markup=False)
    said = "no traffic in the last 10 minutes" if rate is None else f"{rate:.2f} requests/s"
    out.print(f"  At {said}: expected time to production {_duration(st.expected_to_production_s)}; "
              f"worst-case time to detect a bad candidate "
              f"{_duration(st.detect_worst_case_s)}.", markup=False)  # fmt: skip
    if rate is None:
        out.print("  With no traffic no step can pass: each arm needs its requests.",
                  markup=False)  # fmt: skip


def _render_evaluation(result: Evaluation) -> None:
    r = result.rollout
    if r is not None:
        out.print(f"{_where(r)}.", style="bold", markup=False)
    if result.reading is not None:
        _render_reading(result.reading.to_dict())
    if result.message:
        out.print(f"  {result.message}", markup=False)


@app.command("start", help="Start the rollout of version V: the shadow step at once.")
@handle_errors
def start(
    ctx: typer.Context,
    version: int = typer.Argument(..., metavar="V", help="The candidate version."),
    reason: str = REASON,
    override: bool = typer.Option(
        False,
        "--override",
        help="Roll out although the version's retrain decision is REJECT or INCONCLUSIVE: "
        "--reason says why and is recorded as the override (with the decision and on the "
        "rollout's event). The guardrails still roll it back on a failure.",
    ),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    project = open_project(ctx)
    with project:
        rollout = project.start_rollout(version, reason=reason, by=by,
                                        override=reason if override else None)  # fmt: skip
        st = project.rollout_status()
        events = [e for e in project.deployment_events() if e.action.startswith("rollout:")]
    overridden = bool(events and events[-1].override)
    if as_json:
        print_json({**st.to_dict(), "override": reason if overridden else None})
        return
    _render_status(st)
    if overridden:
        out.print(f"  Started against the retrain decision, on the record (override by "
                  f"{rollout.started_by}): {reason!r}.", markup=False)  # fmt: skip
    next_steps(["steadyml rollout status      # where it is, what each guardrail reads",
                "steadyml rollout abort --reason '…'   # production only, at once"])  # fmt: skip


@app.command("status", help="Where the rollout is, each guardrail, the expected times.")
@handle_errors
def status(ctx: typer.Context, as_json: bool = JSON) -> None:
    project = open_project(ctx)
    with project:
        st = project.rollout_status()
    if as_json:
        print_json(st.to_dict())
        return
    _render_status(st)


@app.command("advance", help="Go to the next step now, if no check fails or is inconclusive.")
@handle_errors
def advance(ctx: typer.Context, reason: str = REASON, by: str = BY, as_json: bool = JSON) -> None:
    project = open_project(ctx)
    with project:
        result = project.advance_rollout(reason=reason, by=by)
    if as_json:
        print_json({"action": result.action, "message": result.message,
                    "rollout": None if result.rollout is None else result.rollout.to_dict(),
                    "reading": None if result.reading is None else result.reading.to_dict()})  # fmt: skip
        return
    _render_evaluation(result)


@app.command("pause", help="Hold the current step (the guardrails still roll back).")
@handle_errors
def pause(ctx: typer.Context, reason: str = REASON, by: str = BY, as_json: bool = JSON) -> None:
    project = open_project(ctx)
    with project:
        rollout = project.pause_rollout(reason=reason, by=by)
    if as_json:
        print_json(rollout.to_dict())
        return
    out.print(f"{_where(rollout)}.", style="bold", markup=False)
    next_steps(["steadyml rollout advance --reason '…'   # go on"])


@app.command("abort", help="Stop the rollout from any state: production only, at once.")
@handle_errors
def abort(ctx: typer.Context, reason: str = REASON, by: str = BY, as_json: bool = JSON) -> None:
    project = open_project(ctx)
    with project:
        rollout = project.abort_rollout(reason=reason, by=by)
    if as_json:
        print_json(rollout.to_dict())
        return
    out.print(f"{_where(rollout)}.", style="bold", markup=False)
    out.print(f"  {rollout.reason}", markup=False)
    out.print("  Traffic is production only; running servers follow within seconds.",
              markup=False)  # fmt: skip
