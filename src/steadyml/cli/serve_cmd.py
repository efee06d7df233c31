"""``steadyml serve``, ``steadyml keys …`` and ``steadyml traffic …``: the live service."""

from __future__ import annotations

import os
import sys

import typer

from steadyml.cli._common import (
    handle_errors,
    next_steps,
    note,
    open_project,
    out,
    print_json,
    split_list,
)
from steadyml.cli._lists import show_list
from steadyml.cli._next import after_scoring, serve_steps
from steadyml.errors import SteadyMLError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
INFO_AUTH = ("auto", "api_key", "none")

SERVE_HELP = """\
Serve the production model behind an HTTP API (FastAPI + uvicorn).

\b
  POST /v1/predict    {"records": [{...}, ...]} -> a prediction per record
  POST /v1/feedback   {"labels": [{"request_id": ..., "label": ...}]}
  GET  /v1/model      the version answering, its contract and traffic
  GET  /health  /ready  /metrics (Prometheus)  /docs (OpenAPI, offline)

Requests are checked against the data contract (a bad field gets a 422 that names it),
concurrent requests are scored together (micro-batching), a configured fallback answers
when the model fails or is too slow, and every prediction is logged without raw personal
data. Promotions, rollbacks and traffic changes reach the running server within seconds.
API keys go in the X-API-Key header (create one with `steadyml keys create`).
"""


@handle_errors
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow serving without API keys on a non-loopback address."
    ),
    max_wait_ms: float = typer.Option(
        2.0, "--max-wait-ms", min=0, max=100, help="How long to gather requests into a batch."
    ),
    info_auth: str = typer.Option(
        None,
        "--info-auth",
        metavar="auto|api_key|none",
        help="Who may read /v1/model, the model card, /openapi.json, /docs and /ready's "
        "details (default: serving.info_auth, auto: a key when --host is not loopback).",
    ),
    body_timeout: float = typer.Option(
        30.0,
        "--body-timeout",
        min=0.1,
        max=3600,
        help="Seconds a request body may take to arrive before it is answered 408.",
    ),
    header_timeout: float = typer.Option(
        10.0,
        "--header-timeout",
        min=0.1,
        max=3600,
        help="Seconds a request's line and headers may take to arrive; a slower client gets "
        "408 and its connection is closed (a client that never finishes its headers would "
        "otherwise hold a connection for ever).",
    ),
    access_log: bool = typer.Option(
        False,
        "--access-log",
        help="Write a line per request to the console (off by default: every answer is in "
        "the prediction log and counted in /metrics; the line costs about 9% of a busy "
        "server's time).",
    ),
    key_grace: float = typer.Option(
        300.0,
        "--key-grace-seconds",
        min=0,
        max=86_400,
        help="While the database cannot be reached, API keys this server checked before keep "
        "working this long (keys it never saw get 503).",
    ),
    ui: bool = typer.Option(
        False, "--ui", help="Also serve the dashboard (the pages of `steadyml ui`) at /ui."
    ),
    log_buffer: int = typer.Option(
        200_000,
        "--log-buffer-rows",
        min=1_000,
        max=10_000_000,
        help="While the database cannot be reached, prediction log rows held in memory; "
        "when full, new predictions get 503 rather than answers that would not be logged.",
    ),
) -> None:
    if info_auth is not None and info_auth not in INFO_AUTH:
        raise SteadyMLError(
            f"Who may read the service's description must be one of {', '.join(INFO_AUTH)}; "
            f"got {info_auth!r}.",
            hint="auto asks for a key when the server listens off loopback.",
            field="info_auth",
        )
    project = open_project(ctx)
    with project:
        cfg = project.config
        if project.contract() is None:
            raise SteadyMLError(
                "This project has no data contract yet, so requests cannot be validated.",
                hint="Run `steadyml data check`, then `steadyml train` and promote a version.",
            )
        auth = cfg.serving.auth == "api_key"
        if not auth and host not in LOOPBACK and not insecure:
            raise SteadyMLError(
                f"Refusing to serve without API keys on {host}, which other machines can reach.",
                hint="Set serving.auth: api_key in steadyml.yaml, serve on 127.0.0.1, or pass "
                "--insecure if you really mean it.",
            )
        production = project.production()
        keys = [k for k in project.api_keys() if k.active]
        root = str(project.path)
    if production is None:
        note("No version is in production: the server starts, but /ready answers 503 and "
             "predictions are refused until you promote one.")  # fmt: skip
    else:
        out.print(f"Serving {cfg.project.name} model version {production.version}.", markup=False)
    if auth and not keys:
        note("API keys are required (serving.auth: api_key) and none exists yet. Create one: "
             "steadyml keys create --name my-app --scopes predict")  # fmt: skip
    out.print(
        f"Listening on http://{host}:{port} — docs at http://{host}:{port}/docs. Stop with Ctrl+C.",
        markup=False,
    )
    sys.stdout.flush()
    argv = [
        sys.executable, "-m", "steadyml.serving", "--project", root, "--host", host,
        "--port", str(port), "--workers", str(workers), "--max-wait-ms", str(max_wait_ms),
        "--body-timeout", str(body_timeout), "--header-timeout", str(header_timeout),
        "--key-grace-seconds", str(key_grace),
        "--log-buffer-rows", str(log_buffer),
    ]  # fmt: skip
    if info_auth is not None:
        argv += ["--info-auth", info_auth]
    if access_log:
        argv.append("--access-log")
    if ui:
        argv.append("--ui")
        out.print(f"Dashboard at http://{host}:{port}/ui/", markup=False)
    if not auth:
        argv.append("--no-auth")
    if insecure:
        argv.append("--insecure")
    os.execv(sys.executable, argv)


keys_app = typer.Typer(
    help="API keys for the prediction service, stored hashed.\n\n\b\n"
    "  steadyml keys create --name NAME --scopes predict,feedback\n"
    "  steadyml keys list\n"
    "  steadyml keys revoke ID",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@keys_app.command("create", help="Create an API key. It is shown once: keep it somewhere safe.")
@handle_errors
def keys_create(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="Who uses it, e.g. crm-batch."),
    scopes: str = typer.Option(
        "predict", "--scopes", help="Comma-separated: predict, feedback, admin."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    project = open_project(ctx)
    with project:
        token, record = project.create_key(name, split_list(scopes))
        steps = serve_steps(project.config, has_key=True) + after_scoring(project.config)
    if as_json:
        print_json({"key": token, **record.to_dict()})
        return
    out.print(f"Created API key {record.id} '{record.name}' with scopes "
              f"{', '.join(record.scopes)}:", markup=False)  # fmt: skip
    out.print(f"\n  {token}\n", style="bold", markup=False)
    out.print("It is shown only now; steadyml keeps only its hash. Send it in the X-API-Key "
              "header.", markup=False)  # fmt: skip
    next_steps(steps)


@keys_app.command("list", help="List API keys (never the keys themselves).")
@handle_errors
def keys_list(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    with open_project(ctx) as project:
        keys = project.api_keys()
    show_list(
        keys,
        as_json=as_json,
        columns=("id", "name", "prefix", "scopes", "created (UTC)", "by", "status"),
        row=lambda k: (str(k.id), k.name, k.prefix, ", ".join(k.scopes),
                       f"{k.created_at:%Y-%m-%d %H:%M}", k.created_by,
                       "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"),
        empty="No API keys yet.",
        first_steps=["steadyml keys create --name my-app --scopes predict"],
    )  # fmt: skip


@keys_app.command("revoke", help="Revoke an API key; running servers refuse it within seconds.")
@handle_errors
def keys_revoke(
    ctx: typer.Context, key_id: int = typer.Argument(..., metavar="ID", help="The key's id.")
) -> None:
    project = open_project(ctx)
    with project:
        k = project.revoke_key(key_id)
    out.print(f"Revoked API key {k.id} '{k.name}'.", markup=False)


traffic_app = typer.Typer(
    help="Who answers requests: production only, a canary share, or a shadow challenger.\n\n\b\n"
    "  steadyml traffic show\n"
    "  steadyml traffic set canary --challenger V --percent 10 --sticky-by customer_id --reason …\n"
    "  steadyml traffic set shadow --challenger V --reason …\n"
    "  steadyml traffic set production --reason …",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@traffic_app.command("show", help="Show the traffic policy.")
@handle_errors
def traffic_show(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    project = open_project(ctx)
    with project:
        policy = project.traffic()
        prod = project.production()
    if as_json:
        print_json({**policy.to_dict(), "production": None if prod is None else prod.version})
        return
    who = "nothing (no production version)" if prod is None else f"version {prod.version}"
    if policy.mode == "production":
        out.print(f"Production only: every request is answered by {who}.", markup=False)
    elif policy.mode == "canary":
        sticky = f", sticky by {policy.sticky_by}" if policy.sticky_by else ""
        out.print(f"Canary: {policy.percent:g}% of records go to version "
                  f"{policy.challenger_version}{sticky}; the rest to {who}.", markup=False)  # fmt: skip
    else:
        out.print(f"Shadow: {who} answers; version {policy.challenger_version} scores every "
                  "request too, logged but never returned.", markup=False)  # fmt: skip
    if policy.updated_at is not None:
        out.print(f"Set {policy.updated_at:%Y-%m-%d %H:%M} UTC by {policy.updated_by}: "
                  f"{policy.reason!r}", markup=False)  # fmt: skip


@traffic_app.command(
    "set", help="Change the traffic policy; running servers follow within seconds."
)
@handle_errors
def traffic_set(
    ctx: typer.Context,
    mode: str = typer.Argument(..., metavar="MODE", help="production, canary or shadow."),
    challenger: int = typer.Option(
        None, "--challenger", metavar="V", help="The challenger version."
    ),
    percent: float = typer.Option(None, "--percent", help="Canary share of records (0–50)."),
    sticky_by: str = typer.Option(
        None, "--sticky-by", metavar="COL", help="Keep each id on one model."
    ),
    reason: str = typer.Option(..., "--reason", help="Why: recorded."),
    by: str = typer.Option(None, "--by", help="Who decides (default: your user name)."),
) -> None:
    project = open_project(ctx)
    with project:
        policy = project.set_traffic(mode, challenger=challenger, percent=percent,
                                     sticky_by=sticky_by, reason=reason, by=by)  # fmt: skip
    out.print(f"Traffic is now {policy.mode}"
              + (f" with version {policy.challenger_version}" if policy.challenger_version else "")
              + (f" at {policy.percent:g}%" if policy.mode == "canary" else "")
              + ". Running servers pick it up within seconds.", markup=False)  # fmt: skip
