"""``steadyml package`` and ``steadyml verify-package``: a model version as a folder that
serves the same way anywhere (a Dockerfile included), and the proof that it does."""

from __future__ import annotations

from pathlib import Path

import typer

from steadyml.cli._common import (
    handle_errors,
    next_steps,
    note,
    open_project,
    out,
    print_json,
    progress,
)
from steadyml.errors import SteadyMLError

HELP = """\
Package a model version (default: the one in production) into a folder that serves it the
same way anywhere: the model and its data contract (checked against their sha256 when the
service starts: a changed file refuses to start), pinned requirements, the steadyml wheel,
an entrypoint, a Dockerfile (slim, non-root, HEALTHCHECK, OCI labels; a new model rebuilds
in seconds) and golden requests with the registry's answers.

\b
  steadyml package --out dist/churn-v3              the production version
  steadyml package 3 --out dist/churn-v3 --verify   version 3, then prove it serves
  docker build -t churn:3 dist/churn-v3             (see docs/package.md)
  python -m steadyml.serving.packaged dist/churn-v3 the same service without Docker

--verify builds a clean virtual environment from the folder's requirements.txt, starts the
service with the Dockerfile's command on 127.0.0.1, replays the golden requests and checks
each answer equals the registry's to 1e-9; with a Docker daemon it also builds the image and
checks the container.
"""

VERIFY_HELP = """\
Verify a package folder written by `steadyml package`: its files match the manifest, a clean
virtual environment installs from its requirements.txt, the service starts with the
Dockerfile's command and answers the golden requests as the registry did (to 1e-9); with a
Docker daemon, the image too. Exits 1 when a check fails.
"""


@handle_errors
def package(
    ctx: typer.Context,
    version: int = typer.Argument(
        None, metavar="V", help="The model version (default: the one in production)."
    ),
    out_dir: Path = typer.Option(
        ..., "--out", metavar="DIR", help="A new or empty folder to write the package into."
    ),
    verify: bool = typer.Option(False, "--verify", help="Then verify it (see below)."),
    wheel: Path = typer.Option(
        None,
        "--wheel",
        metavar="FILE",
        help="The steadyml wheel to ship (default: built from this steadyml's source).",
    ),
    find_links: Path = typer.Option(
        None,
        "--find-links",
        metavar="DIR",
        help="--verify installs from this folder of wheels instead of the package index.",
    ),
    pip_cache: Path = typer.Option(
        None, "--pip-cache", metavar="DIR", help="--verify's pip cache (default: pip's own)."
    ),
    no_docker: bool = typer.Option(
        False, "--no-docker", help="--verify skips the image even when Docker runs."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    if not verify and (find_links is not None or pip_cache is not None or no_docker):
        raise SteadyMLError(
            "--find-links, --pip-cache and --no-docker only change what --verify does.",
            hint="Add --verify, or leave them out.",
        )
    with open_project(ctx) as project:
        result = project.package(out_dir, version, wheel=wheel, progress=progress(not as_json))
    verified = None
    if verify:
        from steadyml.flows.package_verify import verify_package

        verified = verify_package(result.out, pip_cache=pip_cache, find_links=find_links,
                                  docker=not no_docker, progress=progress(not as_json))  # fmt: skip
    if as_json:
        payload = result.to_dict()
        if verified is not None:
            payload["verify"] = verified.to_dict()
        print_json(payload)
    else:
        out.print(
            f"Packaged model version {result.version} (data version {result.data_version}, "
            f"code {result.code_commit or 'unknown'}, steadyml {result.steadyml_version}) "
            f"into {result.out} in {result.seconds:.1f} s.",
            markup=False,
        )  # fmt: skip
        out.print(
            f"  {len(result.files)} files checked by digest at start, {len(result.requirements)} "
            f"pinned requirements, {result.wheel}, a Dockerfile, and {result.golden} golden "
            f"requests ({result.golden_refused} the contract refuses).",
            markup=False,
        )  # fmt: skip
        for n in result.notes:
            note(n)
        if verified is not None:
            _show_verify(verified)
    if verified is not None and not verified.passed:
        raise typer.Exit(1)
    if not as_json:
        steps: list[str] = [] if verify else [f"steadyml verify-package {result.out}"]
        steps.append(f"docker build -t model:{result.version} {result.out}   (how to run it: "
                     "docs/package.md)")  # fmt: skip
        next_steps(steps)


@handle_errors
def verify_package(
    package_dir: Path = typer.Argument(..., metavar="DIR", help="The package folder."),
    find_links: Path = typer.Option(
        None,
        "--find-links",
        metavar="DIR",
        help="Install from this folder of wheels instead of the package index.",
    ),
    pip_cache: Path = typer.Option(
        None, "--pip-cache", metavar="DIR", help="pip's cache (default: pip's own)."
    ),
    no_docker: bool = typer.Option(False, "--no-docker", help="Skip the image."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    from steadyml.flows.package_verify import verify_package as run_verify

    if not package_dir.is_dir():
        raise SteadyMLError(
            f"DIR: there is no package folder at {package_dir}.",
            hint="Give the folder `steadyml package VERSION --out DIR` wrote.",
        )
    result = run_verify(package_dir, pip_cache=pip_cache, find_links=find_links,
                        docker=not no_docker, progress=progress(not as_json))  # fmt: skip
    if as_json:
        print_json(result.to_dict())
    else:
        _show_verify(result)
    if not result.passed:
        raise typer.Exit(1)


def _show_verify(result: object) -> None:
    from steadyml.flows.package_verify import VerifyResult

    assert isinstance(result, VerifyResult)
    for check in result.checks:
        mark = "PASS" if check.passed else "FAIL"
        out.print(f"{mark}  {check.name}", markup=False,
                  style="green" if check.passed else "bold red")  # fmt: skip
        for line in check.detail.splitlines():
            out.print(f"      {line}", markup=False)
    if result.docker:
        out.print(f"Docker: {result.docker}.", markup=False)
    if result.passed:
        out.print(f"The package at {result.package} serves what the registry answers.",
                  markup=False)  # fmt: skip
    else:
        out.print(f"The package at {result.package} failed verification: see FAIL above.",
                  markup=False)  # fmt: skip
