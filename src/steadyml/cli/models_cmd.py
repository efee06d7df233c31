"""``steadyml models …``: the registry — versions, approvals, rollback and model cards."""

from __future__ import annotations

from pathlib import Path

import typer

from steadyml.cli._common import handle_errors, next_steps, open_project, out, print_json, table
from steadyml.cli._lists import show_list
from steadyml.cli._next import after_release

app = typer.Typer(
    help="The model registry: every trained version, who approved it, and rollback.\n\n\b\n"
    "  steadyml models list                     every version and its stage\n"
    "  steadyml models show V                   one version: lineage, metrics, history\n"
    "  steadyml models promote V --to production --reason TEXT [--override]\n"
    "  steadyml models rollback --reason TEXT   back to the previous production version\n"
    "  steadyml models card V [--html PATH]     the model card",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


@app.command("list", help="List every model version with its stage and primary metric.")
@handle_errors
def list_models(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    with open_project(ctx) as project:
        versions = project.model_versions()
    show_list(
        versions,
        as_json=as_json,
        columns=("version", "stage", "model", "metric", "gates", "run", "data", "created (UTC)"),
        row=lambda v: (
            str(v.version),
            v.stage,
            v.model_type,
            f"{v.primary_metric} {_metric(v.primary_value)}",
            "pass" if v.gates_passed else "FAIL",
            str(v.run_number),
            f"v{v.dataset_version}",
            f"{v.created_at:%Y-%m-%d %H:%M}",
        ),
        empty="No model versions yet.",
        first_steps=["steadyml train"],
    )


@app.command("show", help="Show one model version: lineage, metrics and its deployment history.")
@handle_errors
def show(
    ctx: typer.Context,
    version: int = typer.Argument(..., metavar="V", help="The model version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        v = project.model_version(version)
        events = [
            e for e in project.deployment_events() if version in (e.to_version, e.from_version)
        ]
    if as_json:
        print_json({**v.to_dict(), "events": [e.to_dict() for e in events]})
        return
    out.print(f"Model version {v.version} — {v.stage}", style="bold", markup=False)
    t = table("", "")
    for k, val in [
        ("model", f"{v.model_type} ({v.task})"),
        (v.primary_metric, _metric(v.primary_value)),
        ("gates", "passed" if v.gates_passed else "FAILED"),
        ("trained by", f"run {v.run_number} on data version {v.dataset_version}"),
        ("artifact", f"sha256:{v.artifact_digest[:16]}… ({v.size_bytes / 1024:,.0f} KB)"),
        (
            "serving form",
            f"sha256:{v.serving_digest[:16]}… (what the server loads: the model as one formula)"
            if v.serving_digest
            else "none (the server loads the pickled pipeline)",
        ),
        ("features", ", ".join(v.features)),
        ("created", f"{v.created_at:%Y-%m-%d %H:%M} UTC by {v.created_by}"),
    ]:
        t.add_row(k, val)
    out.print(t)
    if events:
        e_t = table("when (UTC)", "action", "stage", "from → to", "by", "why")
        for e in events:
            e_t.add_row(
                f"{e.at:%Y-%m-%d %H:%M}",
                e.action + (" (override)" if e.override else ""),
                e.stage,
                f"{e.from_version or '—'} → {e.to_version}",
                e.by,
                e.reason,
            )
        out.print(e_t)


@app.command("promote", help="Promote a version to staging or production, with a recorded reason.")
@handle_errors
def promote(
    ctx: typer.Context,
    version: int = typer.Argument(..., metavar="V", help="The model version."),
    to: str = typer.Option(..., "--to", help="staging or production."),
    reason: str = typer.Option(..., "--reason", help="Why: recorded with the promotion."),
    by: str = typer.Option(None, "--by", help="Who approves (default: your user name)."),
    override: bool = typer.Option(
        False,
        "--override",
        help="Promote despite failed gates, a retrain decision of REJECT or INCONCLUSIVE, or "
        "(to production) failing launch items (launch.required, `steadyml checklist`); "
        "--reason says why and is recorded as the override.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        event = project.promote(
            version, to, reason=reason, by=by, override=reason if override else None
        )
        config = project.config
        has_key = any(k.active for k in project.api_keys())
    if as_json:
        print_json(event.to_dict())
        return
    before = f" (version {event.from_version} is now archived)" if event.from_version else ""
    out.print(
        f"Version {event.to_version} is now in {event.stage}{before}. Recorded: by {event.by}, "
        f"because {event.reason!r}.",
        style="bold green",
        markup=False,
    )
    if event.override:
        out.print(
            f"Overridden on the record (failed gates or a retrain decision other than "
            f"PROMOTE): {event.override!r}.",
            style="yellow",
            markup=False,
        )
    if event.stage == "production":
        next_steps(after_release(config, event.to_version, has_key=has_key))
    else:
        next_steps(
            [
                f"steadyml models promote {event.to_version} --to production --reason '…'"
                "   # once it looks right in staging",
                "steadyml models list",
            ]
        )


@app.command("rollback", help="Put the previous production version back, in one step.")
@handle_errors
def rollback(
    ctx: typer.Context,
    reason: str = typer.Option(..., "--reason", help="What went wrong: recorded."),
    by: str = typer.Option(None, "--by", help="Who decides (default: your user name)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        event = project.rollback(reason=reason, by=by)
    if as_json:
        print_json(event.to_dict())
        return
    out.print(
        f"Rolled back: version {event.to_version} is in production again; version "
        f"{event.from_version} is archived. Recorded: by {event.by}, because {event.reason!r}.",
        style="bold green",
        markup=False,
    )


@app.command("card", help="Print a version's model card (Markdown), or write it as an HTML page.")
@handle_errors
def card(
    ctx: typer.Context,
    version: int = typer.Argument(..., metavar="V", help="The model version."),
    html: Path = typer.Option(
        None, "--html", metavar="PATH", help="Write a self-contained HTML page."
    ),
    markdown: Path = typer.Option(
        None, "--md", metavar="PATH", help="Write the Markdown to a file."
    ),
) -> None:
    project = open_project(ctx)
    with project:
        if html is None and markdown is None:
            print(project.model_card(version, fmt="markdown"))
            return
        if markdown is not None:
            markdown.write_text(project.model_card(version, fmt="markdown"), encoding="utf-8")
            out.print(f"Wrote {markdown}", markup=False)
        if html is not None:
            html.write_text(project.model_card(version, fmt="html"), encoding="utf-8")
            out.print(f"Wrote {html} (self-contained: open it in any browser)", markup=False)
