"""``steadyml package --verify``: the package serves what the registry answers, from scratch.

1. every file matches the manifest (the service would refuse to start otherwise);
2. a clean virtual environment is built from the package's own ``requirements.txt`` and its
   steadyml wheel, as the image's build does (pip's cache makes a re-run fast;
   ``find_links`` installs from a local wheelhouse, without the package index);
3. the service is started with the Dockerfile's own ``CMD``, on 127.0.0.1 and a free port,
   with an empty data folder (so the first-start registration runs) and a fresh API key;
4. the golden requests recorded at packaging are replayed: each answered record must carry
   the registry's prediction and score (to 1e-9), each record the contract refuses a 422;
5. with a Docker daemon, the image is built and the same replay runs against the container;
   without one, the result says so plainly ("no Docker daemon: image not built").

Only the standard library talks to the service (``urllib``), so verifying needs no web stack.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadyml.errors import SteadyMLError
from steadyml.flows.package import GOLDEN
from steadyml.flows.package_docker import PACKAGE_DIR, command_of
from steadyml.flows.package_runtime import check_files

Progress = Callable[[str], None]

__all__ = ["Check", "VerifyResult", "compare_answer", "folder_mb", "verify_package"]

NO_DAEMON = "no Docker daemon: image not built"
NO_CLIENT = "no Docker client: image not built"


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail}


@dataclass
class VerifyResult:
    package: Path
    checks: list[Check] = field(default_factory=list)
    docker: str = ""
    env_mb: float | None = None
    install_seconds: float | None = None
    start_seconds: float | None = None
    golden: int = 0

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": str(self.package),
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "docker": self.docker,
            "env_mb": self.env_mb,
            "install_seconds": self.install_seconds,
            "start_seconds": self.start_seconds,
            "golden_requests": self.golden,
        }


def folder_mb(path: Path) -> float:
    """The size of the files under ``path`` in MB (10^6 bytes), links not followed."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                total += os.path.getsize(p)
    return round(total / 1e6, 1)


def verify_package(
    package_dir: str | Path,
    *,
    pip_cache: str | Path | None = None,
    find_links: str | Path | None = None,
    env_dir: str | Path | None = None,
    docker: bool = True,
    start_timeout_s: float = 120.0,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify a package folder (see the module's help); the checks say what passed."""
    say = progress or (lambda _m: None)
    root = Path(package_dir).expanduser().resolve()
    result = VerifyResult(package=root)
    try:
        manifest = check_files(root)
    except SteadyMLError as exc:
        result.checks.append(Check("files match the manifest", False, exc.message))
        return result
    result.checks.append(Check("files match the manifest", True,
                               f"{len(manifest['files'])} files, sha256 each"))  # fmt: skip
    golden = json.loads((root / GOLDEN).read_text(encoding="utf-8"))
    result.golden = len(golden["requests"])
    argv = command_of((root / "Dockerfile").read_text(encoding="utf-8"))
    if not argv:
        result.checks.append(Check("the Dockerfile has a CMD", False, "no CMD line found"))
        return result
    with tempfile.TemporaryDirectory(prefix="steadyml-verify-") as scratch:
        venv = Path(env_dir).resolve() if env_dir is not None else Path(scratch) / "venv"
        say("Building a clean virtual environment from the package's requirements.txt")
        started = time.perf_counter()
        python, failure = _build_env(root, venv, pip_cache=pip_cache, find_links=find_links)
        result.install_seconds = round(time.perf_counter() - started, 1)
        if failure is not None:
            result.checks.append(Check("a clean environment installs", False, failure))
            return result
        result.env_mb = folder_mb(venv)
        result.checks.append(Check(
            "a clean environment installs", True,
            f"{result.env_mb:g} MB installed in {result.install_seconds:g} s",
        ))  # fmt: skip
        say("Starting the service with the Dockerfile's command")
        cmd = [str(python) if a == "python" else a for a in argv]
        cmd = [str(root) if a == PACKAGE_DIR else a for a in cmd]
        port = _free_port()
        key = f"sml_verify_{secrets.token_urlsafe(24)}"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("STEADYML_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
        }
        env.update(
            PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
            STEADYML_DATA_DIR=str(Path(scratch) / "data"), STEADYML_HOST="127.0.0.1",
            STEADYML_PORT=str(port), STEADYML_API_KEY=key,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        log = Path(scratch) / "service.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, env=env, cwd=scratch, stdout=sink,
                                    stderr=subprocess.STDOUT)  # fmt: skip
            try:
                started = time.perf_counter()
                ready = _wait_ready(base, proc, start_timeout_s, key)
                result.start_seconds = round(time.perf_counter() - started, 2)
                if ready is not None:
                    tail = log.read_text(errors="replace")[-3000:]
                    result.checks.append(Check("the service starts and is ready", False,
                                               f"{ready}\n{tail}"))  # fmt: skip
                    return result
                result.checks.append(Check(
                    "the service starts and is ready", True,
                    f"/health and /ready answered 200 after {result.start_seconds:g} s",
                ))  # fmt: skip
                say(f"Replaying {result.golden} golden requests")
                result.checks.append(replay(base, key, golden, "the service"))
            finally:
                _stop(proc)
    result.docker = _docker_check(root, golden, result, say) if docker else "not asked"
    return result


def _build_env(
    root: Path, venv: Path, *, pip_cache: str | Path | None, find_links: str | Path | None
) -> tuple[Path, str | None]:
    if venv.exists():
        shutil.rmtree(venv)
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)],
                          capture_output=True, text=True)  # fmt: skip
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if made.returncode != 0:
        return python, f"python -m venv failed: {made.stderr[-1500:]}"
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
           "--no-compile"]  # fmt: skip
    if pip_cache is not None:
        pip += ["--cache-dir", str(pip_cache)]
    if find_links is not None:
        pip += ["--no-index", "--find-links", str(find_links)]
    wheels = sorted((root / "wheels").glob("*.whl"))
    if not wheels:
        return python, f"no steadyml wheel in {root / 'wheels'}"
    for step in (["-r", str(root / "requirements.txt")], ["--no-deps", *map(str, wheels)]):
        done = subprocess.run(pip + step, capture_output=True, text=True)
        if done.returncode != 0:
            errors = "\n".join(ln for ln in done.stderr.splitlines()
                               if not ln.startswith("WARNING: Location"))  # fmt: skip
            return python, f"pip install {' '.join(step)} failed:\n{errors[-2000:]}"
    return python, None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, key: str | None = None, timeout: float = 5.0) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, _body(e)


def _body(e: urllib.error.HTTPError) -> Any:
    try:
        return json.loads(e.read() or b"null")
    except ValueError:
        return None


def post_json(url: str, body: Any, key: str | None, timeout: float = 30.0) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", **({"X-API-Key": key} if key else {})}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, _body(e)


def _wait_ready(
    base: str, proc: subprocess.Popen[bytes] | None, timeout_s: float, key: str
) -> str | None:
    """None once /health and /ready answer 200; else why not (the process ended, or time)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"the service exited with code {proc.returncode} before it was ready"
        try:
            status, _ = _get(f"{base}/health", timeout=2)
            if status == 200:
                status, body = _get(f"{base}/ready", key, timeout=2)
                if status == 200:
                    return None
                last = f"/ready answered {status}: {body}"
        except (OSError, ValueError) as exc:
            last = str(exc)
        time.sleep(0.25)
    return f"not ready after {timeout_s:g} s ({last})"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def compare_answer(expected: dict[str, Any], status: int, body: Any, version: int,
                   tolerance: float) -> str | None:  # fmt: skip
    """None when the answer is the golden one; else what differs."""
    if expected["expect"] == "refused":
        return None if status == 422 else f"expected a 422 (the contract refuses it), got {status}"
    if status != 200:
        return f"expected an answer, got {status}: {json.dumps(body)[:300]}"
    got = body["results"][0]
    if got.get("model_version") != version:
        return f"answered by model version {got.get('model_version')}, not {version}"
    if got.get("fallback"):
        return f"the fallback answered ({got.get('fallback_reason')})"
    if not _same(expected["prediction"], got.get("prediction"), tolerance):
        return f"prediction {got.get('prediction')!r}, the registry's {expected['prediction']!r}"
    if not _same(expected["score"], got.get("score"), tolerance):
        return f"score {got.get('score')!r}, the registry's {expected['score']!r}"
    want = expected.get("probabilities") or {}
    have = got.get("probabilities") or {}
    if set(want) != set(have) or any(not _same(want[k], have[k], tolerance) for k in want):
        return f"probabilities {have}, the registry's {want}"
    return None


def _same(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(float(a)) or math.isnan(float(b)):
            return math.isnan(float(a)) and math.isnan(float(b))
        return abs(float(a) - float(b)) <= tolerance
    return bool(a == b)


def replay(base: str, key: str | None, golden: dict[str, Any], where: str) -> Check:
    """Send each golden request (one record each) and compare the answers."""
    tolerance = float(golden.get("tolerance", 1e-9))
    version = int(golden["model_version"])
    wrong: list[str] = []
    for g in golden["requests"]:
        status, body = post_json(f"{base}/v1/predict", {"records": [g["record"]]}, key)
        problem = compare_answer(g, status, body, version, tolerance)
        if problem is not None:
            wrong.append(f"{g['what']}: {problem}")
    n = len(golden["requests"])
    refused = sum(1 for g in golden["requests"] if g["expect"] == "refused")
    name = f"golden answers from {where} equal the registry's (to {tolerance:g})"
    if wrong:
        listed = "".join(f"\n  - {w}" for w in wrong[:8])
        more = f"\n  … and {len(wrong) - 8} more" if len(wrong) > 8 else ""
        return Check(name, False, f"{len(wrong)} of {n} differ:{listed}{more}")
    return Check(name, True, f"{n} requests: {n - refused} answered as the registry answers, "
                             f"{refused} refused by the contract as recorded")  # fmt: skip


# --- Docker -------------------------------------------------------------------------------


def docker_available(run: Callable[..., Any] = subprocess.run) -> str | None:
    """None when a Docker daemon answers; else the plain sentence why no image is built."""
    if shutil.which("docker") is None:
        return NO_CLIENT
    try:
        done = run(["docker", "info", "--format", "{{.ServerVersion}}"],
                   capture_output=True, text=True, timeout=15)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return NO_DAEMON
    return None if done.returncode == 0 and done.stdout.strip() else NO_DAEMON


def _docker_check(root: Path, golden: dict[str, Any], result: VerifyResult,
                  say: Progress) -> str:  # fmt: skip
    """Build the image and replay the golden requests against a container (written for a
    machine with a daemon; where none runs it returns NO_DAEMON and builds nothing)."""
    missing = docker_available()
    if missing is not None:
        return missing
    tag = f"steadyml-verify:{golden['model_version']}-{secrets.token_hex(4)}"
    say(f"Building the image {tag}")
    build = subprocess.run(["docker", "build", "-t", tag, str(root)], capture_output=True,
                           text=True)  # fmt: skip
    if build.returncode != 0:
        result.checks.append(Check("the image builds", False, build.stderr[-2000:]))
        return "image build failed"
    result.checks.append(Check("the image builds", True, tag))
    port = _free_port()
    key = f"sml_verify_{secrets.token_urlsafe(24)}"
    run = subprocess.run(["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:8000",
                          "-e", f"STEADYML_API_KEY={key}", tag],
                         capture_output=True, text=True)  # fmt: skip
    if run.returncode != 0:
        result.checks.append(Check("the container starts", False, run.stderr[-2000:]))
        return "container did not start"
    container = run.stdout.strip()
    try:
        base = f"http://127.0.0.1:{port}"
        problem = _wait_ready(base, None, 120.0, key)
        if problem is not None:
            logs = subprocess.run(["docker", "logs", container], capture_output=True,
                                  text=True).stderr[-2000:]  # fmt: skip
            result.checks.append(Check("the container starts and is ready", False,
                                       f"{problem}\n{logs}"))  # fmt: skip
            return "container not ready"
        result.checks.append(Check("the container starts and is ready", True, base))
        result.checks.append(replay(base, key, golden, "the container"))
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)
    return f"image {tag} built and checked"
