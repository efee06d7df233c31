"""``python -m steadyml.serving``: run the prediction service with uvicorn.

``steadyml serve`` checks its arguments and then replaces itself with this process, so the
CLI never imports the web stack and uvicorn receives SIGTERM directly (graceful shutdown:
in-flight requests finish, the micro-batcher and the prediction log drain).
"""

from __future__ import annotations

import argparse
import os
import sys

from steadyml.serving.settings import (
    ENV,
    ENV_HEADER_TIMEOUT,
    HEADER_TIMEOUT_S,
    INFO_AUTH,
    LOOPBACK,
    ServeSettings,
)

KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this long


def main(argv: list[str] | None = None) -> None:
    args, settings = parse(argv)
    _run(args, settings)


def parse(argv: list[str] | None = None) -> tuple[argparse.Namespace, ServeSettings]:
    """The command line and the server settings it gives (argparse errors exit with 2)."""
    parser = argparse.ArgumentParser(prog="python -m steadyml.serving")
    parser.add_argument("--project", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--no-auth", action="store_true")
    parser.add_argument("--max-wait-ms", type=float, default=2.0)
    parser.add_argument("--no-log", action="store_true")
    parser.add_argument(
        "--log-chunk-min-rows", type=int, default=ServeSettings.log_chunk_min_rows,
        help="answered records gathered per second from which they are logged as one "
        "compressed chunk instead of rows of the SQL log",
    )  # fmt: skip
    parser.add_argument(
        "--info-auth", choices=INFO_AUTH, default=None,
        help="who may read /v1/model, its card, /openapi.json, /docs and /ready's details "
        "(default: the project file's serving.info_auth, else auto: a key off loopback)",
    )  # fmt: skip
    parser.add_argument(
        "--body-timeout", type=float, default=ServeSettings.body_timeout_s,
        help="seconds a request body may take to arrive, after which it is answered 408",
    )  # fmt: skip
    parser.add_argument(
        "--header-timeout", type=float, default=HEADER_TIMEOUT_S,
        help="seconds a request's line and headers may take to arrive, after which the "
        "client gets 408 and the connection is closed",
    )  # fmt: skip
    parser.add_argument(
        "--key-grace-seconds", type=float, default=ServeSettings.key_grace_seconds,
        help="while the database cannot be reached, keys checked before keep working this long",
    )  # fmt: skip
    parser.add_argument(
        "--log-buffer-rows", type=int, default=ServeSettings.log_buffer_rows,
        help="while the database cannot be reached, log rows held in memory before 503s",
    )  # fmt: skip
    parser.add_argument(
        "--access-log", action="store_true",
        help="write uvicorn's line per request to stderr (off: every answer is in the "
        "prediction log and counted in /metrics, and the line costs about 9%% of a busy "
        "server's time)",
    )  # fmt: skip
    parser.add_argument("--ui", action="store_true", help="also serve the dashboard at /ui")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if not args.body_timeout > 0:
        parser.error(f"--body-timeout must be more than 0 seconds; got {args.body_timeout:g}.")
    if not args.header_timeout > 0:
        parser.error(f"--header-timeout must be more than 0 seconds; got {args.header_timeout:g}.")
    if not args.key_grace_seconds >= 0:
        parser.error(f"--key-grace-seconds must be 0 or more; got {args.key_grace_seconds:g}.")
    if args.log_buffer_rows < 1:
        parser.error(f"--log-buffer-rows must be at least 1; got {args.log_buffer_rows}.")
    settings = ServeSettings(
        require_auth=not args.no_auth,
        host=args.host,
        info_auth=args.info_auth,
        body_timeout_s=args.body_timeout,
        key_grace_seconds=args.key_grace_seconds,
        log_buffer_rows=args.log_buffer_rows,
        max_wait_ms=args.max_wait_ms,
        log_predictions=not args.no_log,
        log_chunk_min_rows=max(args.log_chunk_min_rows, 1),
        ui=args.ui,
    )
    return args, settings


def _run(args: argparse.Namespace, settings: ServeSettings) -> None:
    if not settings.require_auth and args.host not in LOOPBACK and not args.insecure:
        sys.stderr.write(
            f"Error: refusing to serve without API keys on {args.host}, which other machines "
            "can reach. Turn auth on (serving.auth: api_key), serve on 127.0.0.1, or pass "
            "--insecure if you really mean it.\n"
        )
        raise SystemExit(1)
    # One thread per worker for BLAS/OpenMP: a model that spreads over every core per call
    # stalls a 2-core machine under concurrent requests.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["STEADYML_PROJECT"] = args.project
    os.environ[ENV] = settings.to_env()
    os.environ[ENV_HEADER_TIMEOUT] = str(args.header_timeout)
    import uvicorn

    from steadyml.serving.header_timeout import HeaderTimeoutProtocol

    uvicorn.run(
        "steadyml.serving.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=KEEP_ALIVE_S,
        access_log=args.access_log,
        http=HeaderTimeoutProtocol,  # uvicorn's h11 protocol, headers within --header-timeout
    )


if __name__ == "__main__":
    main()
