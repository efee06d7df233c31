"""``python -m steadyml.serving.packaged DIR``: serve a folder written by ``steadyml package``.

The image's command (its Dockerfile's ``CMD``) and what ``steadyml package --verify`` runs.
Settings come from the environment, so one image runs anywhere:

  STEADYML_DATA_DIR       where the service keeps its project copy, SQLite store and artifacts
                          (default: DIR/data; the image: /data, a volume)
  STEADYML_STORE_URL      the metadata store instead (postgresql://…)
  STEADYML_ARTIFACTS_URL  the artifact store instead (s3://… with s3fs installed)
  STEADYML_HOST, STEADYML_PORT, STEADYML_WORKERS   where it listens (127.0.0.1:8000, 1)
  STEADYML_API_KEY        a key the service accepts (when serving.auth is api_key)
  STEADYML_INSECURE=1     serve without keys off loopback (serving.auth: none)
  STEADYML_PII_KEY        the key that hashes personal data (else a key file in the data dir)

It checks the package against its manifest (a changed file: exit 1 with what changed),
registers the packaged version in an empty store, then runs ``python -m steadyml.serving`` in
this process (uvicorn gets SIGTERM directly). ``/health`` answers once the process listens;
``/ready`` says not ready until the model is loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from steadyml.errors import SteadyMLError

__all__ = ["main", "serve_argv"]


def serve_argv(project_dir: str, env: Mapping[str, str], *, auth: bool) -> list[str]:
    """The arguments of ``python -m steadyml.serving`` for this environment."""
    argv = [
        "--project", project_dir,
        "--host", env.get("STEADYML_HOST", "127.0.0.1"),
        "--port", env.get("STEADYML_PORT", "8000"),
        "--workers", env.get("STEADYML_WORKERS", "1"),
    ]  # fmt: skip
    if not auth:
        argv.append("--no-auth")
    if env.get("STEADYML_INSECURE", "") in ("1", "true", "yes"):
        argv.append("--insecure")
    return argv


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write(
            "usage: python -m steadyml.serving.packaged DIR\n"
            "  DIR: a folder written by `steadyml package VERSION --out DIR`.\n"
            "  Settings come from STEADYML_* variables; see docs/package.md.\n"
        )
        raise SystemExit(2)
    env = dict(os.environ)
    package_dir = os.path.abspath(args[0])
    try:
        from steadyml.config import load_config
        from steadyml.flows.package_runtime import environment, prepare

        prepared = prepare(
            package_dir,
            data_dir=env.get("STEADYML_DATA_DIR") or os.path.join(package_dir, "data"),
            store_url=env.get("STEADYML_STORE_URL") or None,
            artifacts_url=env.get("STEADYML_ARTIFACTS_URL") or None,
            api_key=env.get("STEADYML_API_KEY") or None,
        )
        auth = load_config(prepared.project_dir).config.serving.auth == "api_key"
    except SteadyMLError as exc:
        sys.stderr.write(f"Error: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"{exc.hint}\n")
        raise SystemExit(1) from None
    what = "registered and put in production" if prepared.promoted else (
        "registered" if prepared.registered else "already in the store")  # fmt: skip
    sys.stderr.write(f"Package checked against its manifest; model version {prepared.version} "
                     f"{what}.\n")  # fmt: skip
    for note in prepared.notes:
        sys.stderr.write(f"Note: {note}\n")
    if auth and not env.get("STEADYML_API_KEY"):
        sys.stderr.write(
            "Note: API keys are required (serving.auth: api_key) and STEADYML_API_KEY is "
            "not set: only keys already in the store work.\n"
        )
    os.environ.update(environment({}, prepared))
    from steadyml.serving.__main__ import _run, parse

    parsed, settings = parse(serve_argv(str(prepared.project_dir), env, auth=auth))
    _run(parsed, settings)


if __name__ == "__main__":
    main()
