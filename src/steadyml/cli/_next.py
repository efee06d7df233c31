"""The "Next:" hints that lead a newcomer around the loop once a model is released.

Following only the first command of each "Next:" list walks the whole lifecycle:
init → data check → data snapshot → train → models promote → batch score, or keys create
and serve (by ``project.mode``) → feedback → monitor. The steps after a release depend on
the project file, so they are built here, once, for every command that prints them
(``models promote``, ``keys create``, ``batch score``); tests/cli/test_next_steps.py walks the
loop by the hints alone.

Placeholders are few and written in capitals: ``FILE`` (the file to score) and
``OUTCOMES.csv`` (the true outcomes, when they are known); everything the project file
knows (the version, the id and target columns) is filled in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from steadyml.config import ProjectConfig

__all__ = ["after_release", "after_scoring", "serve_steps"]


def after_release(config: ProjectConfig, version: int, *, has_key: bool) -> list[str]:
    """After ``version`` went to production: score with it the way ``project.mode`` says
    (a batch file, the HTTP service, or both), then watch it."""
    steps = []
    if config.project.mode in ("batch", "both"):
        steps.append(
            f"steadyml batch score FILE --out scores.csv   # score a file with version {version}"
        )
    if config.project.mode in ("realtime", "both"):
        steps += serve_steps(config, has_key=has_key)
    steps += after_scoring(config)
    steps.append("steadyml models rollback --reason '…'   # if it misbehaves")
    return steps


def serve_steps(config: ProjectConfig, *, has_key: bool) -> list[str]:
    """Start the service, with a key first when the service requires one and none exists."""
    steps = []
    if config.serving.auth == "api_key" and not has_key:
        steps.append(
            "steadyml keys create --name my-app --scopes predict   # the service needs a key"
        )
    steps.append("steadyml serve   # the production model behind the HTTP API (Ctrl+C stops it)")
    return steps


def after_scoring(config: ProjectConfig) -> list[str]:
    """Once predictions are logged: send the true outcomes when known, then watch."""
    ident = config.data.id or "ID"
    return [
        f"steadyml feedback OUTCOMES.csv --id-column {ident} --label-column "
        f"{config.data.target}   # true outcomes, when known",
        "steadyml monitor   # drift, data quality and, with outcomes, performance",
    ]
