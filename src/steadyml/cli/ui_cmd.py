"""``steadyml ui``: the dashboard in a browser."""

from __future__ import annotations

import os
import sys

import typer

from steadyml.cli._common import handle_errors, note, open_project, out
from steadyml.errors import SteadyMLError

LOOPBACK = ("127.0.0.1", "localhost", "::1")

HELP = """\
Open the dashboard: the whole lifecycle in a browser, served from this machine.

\b
  Overview     the plan, the production model and its age, traffic or rollout
               step, health (volume, p95, errors, fallbacks, live metric),
               open incidents
  Data         the contract, the latest checks, dataset versions and lineage
  Runs         every run, filtered and paged; two runs compared, diff first
  Models       versions, stages and gates; lineage; the model card; promote
               and roll back
  Monitoring   the stored windows of `steadyml monitor`: volume, latency,
               errors, drift with histograms, quality, performance as
               labels arrive, segments, fairness
  Alerts       incidents with their history; acknowledge and resolve
  Rollout      candidate against production, the decision record; advance,
               pause, abort

Reading needs nothing. Acting needs an API key with the admin scope, entered once per
session (create one: steadyml keys create --name YOUR-NAME --scopes admin). Nothing is
loaded from another host: styles, scripts and charts are served by this process.

\b
Examples:
  steadyml ui                      # http://127.0.0.1:8100
  steadyml ui --port 9000 --open   # and open it in the browser
  steadyml serve --ui              # the same pages at /ui of the prediction API
"""


@handle_errors
def ui(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8100, "--port", min=1, max=65535, help="Port to listen on."),
    open_browser: bool = typer.Option(False, "--open", help="Open the dashboard in a browser."),
) -> None:
    project = open_project(ctx)
    with project:
        root = str(project.path)
        name = project.name
        admins = [k for k in project.api_keys() if k.active and "admin" in k.scopes]
    if not host.strip():
        raise SteadyMLError("--host must be an address; got nothing.",
                            hint="Use 127.0.0.1 for this machine only.", field="host")  # fmt: skip
    out.print(f"The dashboard of {name}: http://{host}:{port}/ (stop with Ctrl+C).",
              markup=False)  # fmt: skip
    if host not in LOOPBACK:
        note(f"Listening on {host}: anyone who can reach it can read the pages (acting still "
             "needs an admin key). Put it behind HTTPS before using it across a network.")  # fmt: skip
    if not admins:
        note("No API key has the admin scope, so the pages are read only. To promote, roll "
             "back or answer alerts here: steadyml keys create --name YOUR-NAME --scopes admin")  # fmt: skip
    sys.stdout.flush()
    argv = [sys.executable, "-m", "steadyml.serving.ui", "--project", root,
            "--host", host, "--port", str(port)]  # fmt: skip
    if open_browser:
        argv.append("--open")
    os.execv(sys.executable, argv)
