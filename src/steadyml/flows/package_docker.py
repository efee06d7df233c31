"""The Dockerfile ``steadyml package`` writes, and its command read back for ``--verify``.

Layers in the order they change least to most: the dependencies (``requirements.txt``, in a
build stage whose pip cache and build tools stay behind), then steadyml's own wheel, then the
model (``manifest.json`` and ``app/``). A new model version changes only the last two
``COPY`` layers, so rebuilding the image for it takes seconds. The service runs as a user
without privileges; its store and log live on the ``/data`` volume unless
``STEADYML_STORE_URL`` / ``STEADYML_ARTIFACTS_URL`` name others.
"""

from __future__ import annotations

import json
import shlex
from string import Template
from typing import Any

__all__ = ["CMD", "PACKAGE_DIR", "command_of", "render_dockerfile", "render_dockerignore"]

#: where the image holds the package (the CMD's argument)
PACKAGE_DIR = "/srv/package"
#: the service's command in the image; ``--verify`` runs the same one
CMD = ["python", "-m", "steadyml.serving.packaged", PACKAGE_DIR]

#: the image's health check: GET /health on the service's own port
HEALTHCHECK = (
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + "
    "os.environ.get('STEADYML_PORT', '8000') + '/health', timeout=2)"
)

_DOCKERFILE = Template("""\
# syntax=docker/dockerfile:1
# Written by `steadyml package` for model version $version of '$project'.
# Build:  docker build -t $image .
# Run:    docker run -p 8000:8000 -v $volume:/data -e STEADYML_API_KEY=... $image
# Layers: dependencies, then steadyml, then the model: a new model rebuilds in seconds.
ARG PYTHON_IMAGE=python:$python-slim

# --- 1. the dependencies, pinned (the pip cache and any build tools stay in this stage) ---
FROM $${PYTHON_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt

# --- 2. the service ---
FROM $${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="$project model $version" \\
      org.opencontainers.image.description="steadyml prediction service for '$project'" \\
      org.opencontainers.image.version="$version" \\
      org.opencontainers.image.revision="$commit" \\
      org.opencontainers.image.created="$created" \\
      io.steadyml.project="$project" \\
      io.steadyml.model-version="$version" \\
      io.steadyml.model-digest="$digest" \\
      io.steadyml.data-version="$data_version" \\
      io.steadyml.code-commit="$commit" \\
      io.steadyml.version="$steadyml_version"
RUN groupadd --system --gid 10001 steadyml \\
 && useradd --system --uid 10001 --gid steadyml --home-dir /data --no-create-home steadyml \\
 && mkdir -p /data && chown steadyml:steadyml /data
ENV PATH=/opt/venv/bin:$$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \\
    STEADYML_DATA_DIR=/data STEADYML_HOST=0.0.0.0 STEADYML_PORT=8000
COPY --from=deps /opt/venv /opt/venv
# the code: steadyml itself, without dependencies (they are the layer above)
COPY wheels/ /tmp/wheels/
RUN pip install --no-deps --no-compile /tmp/wheels/$wheel && rm -rf /tmp/wheels
# the model: its files are checked against manifest.json when the service starts
COPY manifest.json $package_dir/manifest.json
COPY app/ $package_dir/app/
VOLUME ["/data"]
USER steadyml
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \\
  CMD ["python", "-c", "$healthcheck"]
CMD $cmd
""")

_DOCKERIGNORE = """\
# Only requirements.txt, wheels/, manifest.json and app/ go into the image.
golden/
Dockerfile
.dockerignore
*.md
"""


def render_dockerfile(facts: dict[str, Any], wheel: str) -> str:
    version = facts["model_version"]
    project = str(facts["project"])
    image = f"{_slug(project)}:{version}"
    return _DOCKERFILE.substitute(
        project=project.replace('"', "'"),
        version=version,
        image=image,
        volume=f"{_slug(project)}-data",
        python=facts.get("python", "3.11"),
        commit=facts.get("code_commit") or "unknown",
        created=facts.get("packaged_at", ""),
        digest=facts.get("model_digest", ""),
        data_version=facts.get("data_version", ""),
        steadyml_version=facts.get("steadyml_version", ""),
        wheel=wheel,
        package_dir=PACKAGE_DIR,
        cmd=json.dumps(CMD),
        healthcheck=HEALTHCHECK,
    )


def render_dockerignore() -> str:
    return _DOCKERIGNORE


def command_of(dockerfile: str) -> list[str]:
    """The argv of a Dockerfile's last ``CMD`` (exec form or shell form)."""
    cmds, continued = [], False
    for raw in dockerfile.splitlines():
        line = raw.strip()
        if not continued and line.upper().startswith("CMD "):  # not HEALTHCHECK's own CMD
            cmds.append(line[4:].strip())
        continued = line.endswith("\\")
    if not cmds:
        return []
    text = cmds[-1]
    if text.startswith("["):
        argv = json.loads(text)
        return [str(a) for a in argv]
    return shlex.split(text)


def _slug(name: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return out or "steadyml-model"
