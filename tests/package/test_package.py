"""``steadyml package``: the folder, its manifest and Dockerfile, the first start on an empty
store, the refusal of a changed file. Slow: the session's package builds the steadyml wheel
(about 20 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import steadyml
from steadyml.cli.app import app
from steadyml.errors import IntegrityError, SteadyMLError
from steadyml.flows.package import file_digest
from steadyml.flows.package_docker import CMD, command_of
from steadyml.flows.package_runtime import check_files, prepare
from steadyml.flows.package_verify import verify_package

pytestmark = pytest.mark.slow


def test_the_folder_holds_the_model_its_contract_requirements_wheel_and_golden_requests(
    packaged: Path, release_project: Path
) -> None:
    files = {p.relative_to(packaged).as_posix() for p in packaged.rglob("*") if p.is_file()}
    assert {
        "Dockerfile", ".dockerignore", "manifest.json", "requirements.txt",
        "app/steadyml.yaml", "app/contract.yaml", "app/release.json",
        "app/model/pipeline.joblib", "app/model/serving.npz", "golden/requests.json",
    } <= files  # fmt: skip
    assert any(f.startswith("wheels/steadyml-") and f.endswith(".whl") for f in files)
    manifest = json.loads((packaged / "manifest.json").read_text())
    assert set(manifest["files"]) == {f for f in files if f.startswith("app/")}
    for rel, digest in manifest["files"].items():
        assert file_digest(packaged / rel) == digest
    with steadyml.open(release_project, env={}) as project:
        mv = project.model_version(1)
    # the model file is the registry's artifact, byte for byte
    assert manifest["files"]["app/model/pipeline.joblib"] == mv.artifact_digest
    assert manifest["files"]["app/model/serving.npz"] == mv.serving_digest
    facts = manifest["facts"]
    assert (facts["model_version"], facts["data_version"]) == (1, mv.dataset_version)
    pins = (packaged / "requirements.txt").read_text().splitlines()
    assert all("==" in p for p in pins if not p.startswith("#"))
    names = {p.split("==")[0].lower() for p in pins if "==" in p}
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic", "numpy", "pyarrow"} <= names
    assert not {"typer", "rich", "plotly", "fairlearn", "pandera", "dask"} & names  # CLI/training


def test_the_dockerfile_is_multi_stage_non_root_with_a_healthcheck_and_labels(
    packaged: Path,
) -> None:
    text = (packaged / "Dockerfile").read_text()
    assert text.count("\nFROM ") == 2 and "-slim" in text and " AS deps" in text
    assert "\nUSER steadyml" in text and "useradd" in text
    assert "HEALTHCHECK" in text and "/health" in text
    for label in ("io.steadyml.model-version=\"1\"", "io.steadyml.data-version=",
                  "io.steadyml.code-commit=", "io.steadyml.version=",
                  "org.opencontainers.image.revision="):  # fmt: skip
        assert label in text
    # dependencies, then code, then the model: a new model changes only the last layers
    at = [text.index(s) for s in ("COPY requirements.txt", "COPY wheels/", "COPY app/")]
    assert at == sorted(at)
    assert command_of(text) == CMD  # the service's command, not the health check's
    ignored = (packaged / ".dockerignore").read_text()
    assert "golden/" in ignored


def test_first_start_on_an_empty_store_registers_the_version_in_production(
    packaged: Path, tmp_path: Path, store_url: str
) -> None:
    key = "sml_abcd1234_" + "k" * 30
    first = prepare(packaged, data_dir=tmp_path / "data", store_url=store_url, api_key=key)
    assert (first.version, first.registered, first.promoted) == (1, True, True)
    assert (first.project_dir / "steadyml.yaml").is_file()
    again = prepare(packaged, data_dir=tmp_path / "data", store_url=store_url, api_key=key)
    assert (again.registered, again.promoted) == (False, False)  # a restart changes nothing
    with steadyml.open(first.project_dir, env={"STEADYML_STORE_URL": store_url,
                       "STEADYML_ARTIFACTS_URL": first.artifacts_url}) as project:  # fmt: skip
        prod = project.production()
        assert prod is not None and prod.version == 1
        assert project.run(prod.run_number).model_version == 1
        assert project.load_model(1).version == 1  # the artifact is there, digest verified
        assert [k.name for k in project.api_keys()] == ["packaged-service"]  # once


def test_a_store_holding_another_model_as_that_version_is_refused(
    packaged: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    prepare(packaged, data_dir=other)
    manifest = json.loads((packaged / "manifest.json").read_text())
    from steadyml.store import open_store

    store = open_store(str(other / "store.db"), project=manifest["facts"]["project"])
    try:
        from sqlalchemy import update

        from steadyml.store.models import ModelVersionRow

        with store.session() as s:  # the store's version 1 is another model
            s.execute(update(ModelVersionRow).values(artifact_digest="0" * 64))
    finally:
        store.close()
    with pytest.raises(SteadyMLError, match="another model") as caught:
        prepare(packaged, data_dir=other)
    assert caught.value.field == "store_url"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("model", "app/model/pipeline.joblib: its sha256 is not the one recorded"),
        ("contract", "app/contract.yaml: its sha256 is not the one recorded"),
        ("missing", "app/model/serving.npz: missing"),
        ("added", "app/model/extra.bin: not part of the package"),
    ],
)
def test_a_changed_file_is_found(package_copy: Path, change: str, said: str) -> None:
    model = package_copy / "app" / "model"
    if change == "model":
        (model / "pipeline.joblib").write_bytes((model / "pipeline.joblib").read_bytes() + b"x")
    elif change == "contract":
        with (package_copy / "app" / "contract.yaml").open("a") as f:
            f.write("\n# edited\n")
    elif change == "missing":
        (model / "serving.npz").unlink()
    else:
        (model / "extra.bin").write_bytes(b"\0")
    with pytest.raises(IntegrityError, match="does not match its manifest") as caught:
        check_files(package_copy)
    assert said in caught.value.message
    assert "Package the model again" in (caught.value.hint or "")


@pytest.mark.slow
def test_a_tampered_model_refuses_to_start_and_fails_verify(
    package_copy: Path, tmp_path: Path
) -> None:
    form = package_copy / "app" / "model" / "serving.npz"
    blob = bytearray(form.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # one byte flipped
    form.write_bytes(bytes(blob))
    env = {**os.environ, "STEADYML_DATA_DIR": str(tmp_path / "data"), "STEADYML_PORT": "9"}
    done = subprocess.run([sys.executable, "-m", "steadyml.serving.packaged", str(package_copy)],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert "does not match its manifest, so the service does not start" in done.stderr
    assert "app/model/serving.npz" in done.stderr
    assert not (tmp_path / "data").exists()  # nothing was registered
    result = verify_package(package_copy, docker=False)
    assert not result.passed
    assert [c.name for c in result.checks] == ["files match the manifest"]


def test_package_with_a_given_wheel_and_json(
    release_project: Path, tmp_path: Path, wheel: Path
) -> None:
    result = CliRunner().invoke(app, ["-p", str(release_project), "package", "1", "--out",
                                      str(tmp_path / "p"), "--wheel", str(wheel), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["version"] == 1 and payload["wheel"] == f"wheels/{wheel.name}"
    assert payload["golden_requests"] >= 30 and payload["golden_refused"] >= 1
    check_files(tmp_path / "p")


def test_the_packaged_service_answers_the_golden_requests_as_the_registry(
    packaged: Path, tmp_path: Path
) -> None:
    """The entrypoint in this environment (the clean one is test_verify.py's): registered on
    first start, every golden request answered as recorded, and a restart keeps the store."""
    from steadyml.flows.package_verify import _free_port, _stop, _wait_ready, replay

    golden = json.loads((packaged / "golden" / "requests.json").read_text())
    key = "sml_tests_" + "k" * 30
    for start in ("first", "restart"):
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEADYML_")}
        env.update(STEADYML_DATA_DIR=str(tmp_path / "data"), STEADYML_PORT=str(port),
                   STEADYML_API_KEY=key)  # fmt: skip
        log = tmp_path / f"{start}.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, "-m", "steadyml.serving.packaged", str(packaged)],
                env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                base = f"http://127.0.0.1:{port}"
                assert _wait_ready(base, proc, 120, key) is None, log.read_text()
                check = replay(base, key, golden, "the service")
                assert check.passed, check.detail
            finally:
                _stop(proc)
        said = log.read_text()
        if start == "first":
            assert "model version 1 registered and put in production" in said
        else:
            assert "model version 1 already in the store" in said
