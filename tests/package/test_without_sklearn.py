"""A packaged version with a serving form is served without scikit-learn and scipy: its
requirements leave them out, and the service answers every route with both imports blocked
(a ``sitecustomize`` whose meta-path finder refuses them and writes down each attempt). A
version without a serving form refuses to start there, saying why. Slow: the session's
package builds the steadyml wheel and each test starts the service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from steadyml.flows.package import PIPELINE_REQUIREMENTS, file_digest

pytestmark = pytest.mark.slow

BLOCKER = """
import os, sys, traceback
class _Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("sklearn", "scipy"):
            with open(os.environ["BLOCKED_LOG"], "a") as f:
                f.write(f"--- {name}\\n" + "".join(traceback.format_stack(limit=30)))
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, _Blocked())
"""
KEY = "sml_tests_" + "b" * 30


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
    env.update(STEADYML_DATA_DIR=str(tmp_path / "data"), STEADYML_PORT=str(port),
               STEADYML_API_KEY=KEY, PYTHONPATH=str(site),
               BLOCKED_LOG=str(tmp_path / "blocked.log"))  # fmt: skip
    return env


def _call(base: str, path: str, body: Any = None) -> tuple[int, bytes]:
    req = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(),
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_the_blocker_blocks(tmp_path: Path) -> None:
    env = _env(tmp_path, 0)
    done = subprocess.run([sys.executable, "-c", "import sklearn"], env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 1 and "sklearn is blocked" in done.stderr


def test_a_version_with_a_serving_form_serves_without_sklearn_and_scipy(
    packaged: Path, tmp_path: Path
) -> None:
    from steadyml.flows.package_verify import _free_port, _stop, _wait_ready

    pins = (packaged / "requirements.txt").read_text().lower()
    for name in PIPELINE_REQUIREMENTS:
        assert f"\n{name}==" not in pins, name
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "steadyml.serving.packaged", str(packaged)],
            env=_env(tmp_path, port), stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            assert _wait_ready(base, proc, 120, KEY) is None, log.read_text()
            golden = json.loads((packaged / "golden" / "requests.json").read_text())
            answered = next(g for g in golden["requests"] if g["expect"] == "answered")
            status, body = _call(base, "/v1/predict", {"records": [answered["record"]]})
            assert status == 200, body
            result = json.loads(body)["results"][0]
            assert result["score"] == pytest.approx(answered["score"], abs=1e-9)
            status, body = _call(base, "/v1/feedback",
                                 {"labels": [{"request_id": result["request_id"], "label": 1}]})  # fmt: skip
            assert status == 200 and json.loads(body)["stored"] == 1, body
            for path in ("/v1/model", "/v1/model/card", "/health", "/ready"):
                status, body = _call(base, path)
                assert status == 200, (path, body[:500])
            status, body = _call(base, "/v1/model/card")
            assert b"not in this store" in body  # the data snapshot stayed with the project
        finally:
            _stop(proc)
    blocked = tmp_path / "blocked.log"
    assert not blocked.exists(), blocked.read_text()[-4000:]


def test_a_version_without_a_serving_form_refuses_to_start_without_sklearn(
    package_copy: Path, tmp_path: Path
) -> None:
    """The same package made into one of a version with no serving form (its records and
    manifest changed consistently): the start stops before serving, saying what to do."""
    release_file = package_copy / "app" / "release.json"
    release = json.loads(release_file.read_text())
    release["model_version"]["serving_digest"] = None
    release_file.write_text(json.dumps(release))
    (package_copy / "app" / "model" / "serving.npz").unlink()
    manifest = json.loads((package_copy / "manifest.json").read_text())
    del manifest["files"]["app/model/serving.npz"]
    manifest["files"]["app/release.json"] = file_digest(release_file)
    (package_copy / "manifest.json").write_text(json.dumps(manifest))
    done = subprocess.run(
        [sys.executable, "-m", "steadyml.serving.packaged", str(package_copy)],
        env=_env(tmp_path, 0), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "has no serving form" in done.stderr
    assert "scikit-learn is not installed here" in done.stderr
    assert "pip install scikit-learn" in done.stderr
