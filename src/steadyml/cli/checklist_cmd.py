"""``steadyml checklist``: the launch checklist, scored from the project's own records."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from steadyml.cli._common import handle_errors, next_steps, open_project, out, print_json, table

if TYPE_CHECKING:
    from steadyml.flows.checklist import Checklist, ItemResult

HELP = """\
Is this model ready to launch? The course's launch items and the 28 tests of "The ML Test
Score" (Breck et al., 2017), each checked against what steadyml recorded: pass, fail, not
measured yet or does not apply, with the evidence, its date, and the command that earns the
missing point.

A test scores 1 when steadyml's records show it done automatically, ½ when a person attests
it was done by hand (steadyml checklist attest ITEM --note …); each section (data, model,
infrastructure, monitoring) sums its seven tests, and the score is the lowest sum (0: a
research project · up to 1: serious holes · up to 2: a first pass · up to 3: reasonably
tested · up to 5: strong · above 5: exceptional).

The items under launch.required in steadyml.yaml (by default: the plan written, gates
passed, contract in place, logging and a fallback, an alert rule with an owner and a
channel, a rollback path) must pass before `steadyml models promote V --to production` or a
rollout's last step; --override --reason passes and is recorded. See docs/launch.md.

\b
  steadyml checklist                       the report
  steadyml checklist --html checklist.html the same as one HTML page
  steadyml checklist attest data-3 --note 'feature cost reviewed, wiki/ML-12'
  steadyml checklist reproduce             retrain a snapshot: the same metrics?
"""

app = typer.Typer(help=HELP, invoke_without_command=True, rich_markup_mode=None)

_MARK = {"pass": "✓", "fail": "✗", "not measured yet": "…", "does not apply": "·"}
_STYLE = {"pass": "green", "fail": "red", "not measured yet": "yellow", "does not apply": ""}


def _row(item: ItemResult) -> tuple[str, str, str]:
    status = f"{_MARK.get(item.status, '')} {item.status}"
    if item.how:
        status += f" ({item.how}, {item.points:g})"
    when = f" [{item.at:%Y-%m-%d}]" if item.at else ""
    evidence = item.evidence + when
    if item.fix:
        evidence += f"\n→ {item.fix}"
    return status, item.title, evidence


def render(result: Checklist) -> None:
    out.print(f"ML Test Score: {result.score:g} (the lowest of the four sections)", style="bold",
              markup=False)  # fmt: skip
    out.print(result.band, markup=False)
    sums = " · ".join(f"{k} {v:g}/7" for k, v in result.sections.items())
    out.print(f"{sums}; {result.automated} of 28 tests evidenced automatically.", markup=False)
    t = table("status", "before launch", "evidence / what to do", title="The course's items")
    for item in result.launch:
        status, title, evidence = _row(item)
        t.add_row(status, title + (" (required)" if item.required else ""), evidence,
                  style=_STYLE.get(item.status, ""))  # fmt: skip
    out.print(t)
    for section in result.sections:
        t = table("status", "test", "evidence / what to do",
                  title=f"{section}: {result.sections[section]:g} / 7")  # fmt: skip
        for item in (i for i in result.tests if i.section == section):
            status, title, evidence = _row(item)
            t.add_row(status, f"{item.id} {title}", evidence, style=_STYLE.get(item.status, ""))
        out.print(t)
    if result.blocking:
        out.print(f"A promotion to production is refused until these pass: "
                  f"{', '.join(i.id for i in result.blocking)} (launch.required).",
                  style="bold red", markup=False)  # fmt: skip
    else:
        out.print("Every required launch item passes: a promotion to production is allowed.",
                  style="bold green", markup=False)  # fmt: skip
    missing = [i for i in result.tests if i.how != "automated" and i.fix][:3]
    next_steps(
        [f"{i.fix}   # {i.id}" for i in missing]
        or ["steadyml checklist --html checklist.html   # share it"]
    )


@app.callback()
@handle_errors
def checklist(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    html: Path = typer.Option(
        None, "--html", metavar="FILE", help="Also write the checklist as one HTML page."
    ),
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    project = open_project(ctx)
    with project:
        result = project.checklist()
        page = project.checklist_html(result) if html else None
    if html is not None and page is not None:
        html.write_text(page, encoding="utf-8")
    if as_json:
        print_json(result.to_dict())
        return
    render(result)
    if html is not None:
        out.print(f"Written: {html} (open it in a browser).", markup=False)


@app.command("attest", help="Record that a person did ITEM by hand (who, when, a note): ½ "
             "point until it expires (launch.attestation_expires). ITEM is a test id such as "
             "data-3 or model-1, or privacy_fairness.", no_args_is_help=True)  # fmt: skip
@handle_errors
def attest(
    ctx: typer.Context,
    item: str = typer.Argument(..., metavar="ITEM", help="The item, e.g. data-3."),
    note: str = typer.Option(..., "--note", help="What was done and where it is written."),
    by: str = typer.Option(None, "--by", help="Who did it (default: your user name)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        done = project.attest(item, note=note, by=by)
    if as_json:
        print_json(done.to_dict())
        return
    out.print(
        f"Attested {done.item} by {done.by}: {done.note!r}. It counts ½ point until "
        f"{done.expires_at:%Y-%m-%d}, then needs attesting again.",
        markup=False,
    )
    next_steps(["steadyml checklist   # the score with it"])


@app.command("reproduce", help="Retrain a run's data version with its recorded settings and "
             "compare every metric with the run's (launch.reproduce_tolerance); recorded as a "
             "'reproduce' job, which the test 'Training is reproducible' reads. Registers "
             "nothing.")  # fmt: skip
@handle_errors
def reproduce(
    ctx: typer.Context,
    run: int = typer.Argument(
        None, metavar="[RUN]", help="The run (default: the latest of `steadyml train`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        job = project.reproduce(run)
    if as_json:
        print_json(job.to_dict())
        return
    s = job.summary
    if job.ok:
        out.print(f"✓ Run {s['run']} reproduced on data version {s['dataset_version']}: the "
                  f"largest difference over {len(s['metrics'])} metrics is "
                  f"{s['max_difference']:.2g} (tolerance {s['tolerance']:g}).", style="green",
                  markup=False)  # fmt: skip
    else:
        out.print(f"✗ Run {s.get('run')} did not reproduce: {job.error}.", style="red",
                  markup=False)  # fmt: skip
        out.print("Look for randomness without a seed, or data read in another order.",
                  markup=False)  # fmt: skip
    next_steps(["steadyml checklist"])
