"""``steadyml package``: a folder from which a model version is served the same way anywhere.

The folder (``PACKAGE_LAYOUT``)::

    Dockerfile, .dockerignore      the image: dependencies, then code, then the model
    requirements.txt               exact versions of what the service imports (installed now)
    wheels/steadyml-*.whl          this steadyml, built from its source (or the wheel given)
    manifest.json                  the sha256 of every file under app/, and the version's facts
    app/steadyml.yaml              the project file and its data contract (contract.yaml)
    app/release.json               the version's records: its run and its model version
    app/model/pipeline.joblib      the fitted pipeline (the registry's artifact, same digest)
    app/model/serving.npz          its serving form, when it has one
    golden/requests.json           requests recorded at packaging (test rows, edge cases) and
                                   the registry's answers to them (``package_verify.py``)

The service starts with ``python -m steadyml.serving.packaged DIR`` (the Dockerfile's CMD):
it checks every file against the manifest and refuses to start on a mismatch, registers the
version in an empty store, then serves (``flows/package_runtime.py``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.errors import NotFoundError, SteadyMLError
from steadyml.flows.package_docker import render_dockerfile, render_dockerignore

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.entities import ModelVersion
    from steadyml.store import Store

Progress = Callable[[str], None]

__all__ = [
    "FORMAT",
    "MANIFEST",
    "PIPELINE_REQUIREMENTS",
    "SERVICE_REQUIREMENTS",
    "PackageResult",
    "file_digest",
    "package",
    "pinned_requirements",
    "service_requirements",
]

FORMAT = 1
MANIFEST = "manifest.json"
APP = "app"
GOLDEN = "golden/requests.json"
TEST_ROWS = 24  # golden requests from the version's test rows, besides the edge cases

#: the distributions the service imports (with their own requirements, pinned from what is
#: installed): the web stack, the store (and psycopg for PostgreSQL by URL), the artifact
#: store, the prediction log, the model (scikit-learn to unpickle a pipeline)
SERVICE_REQUIREMENTS = (
    "fastapi", "uvicorn", "pydantic", "SQLAlchemy", "alembic", "pandas", "numpy", "pyarrow",
    "fsspec", "PyYAML", "prometheus-client", "swagger-ui-bundle", "joblib", "scikit-learn",
    "scipy", "threadpoolctl", "Jinja2", "psycopg", "psycopg-binary",
)  # fmt: skip
#: what only a version without a serving form needs (its pipeline is unpickled): a version
#: with one is served by numpy alone, so its package leaves these out (about 145 MB).
#: threadpoolctl stays: the micro-batcher limits BLAS threads with it (0.1 MB)
PIPELINE_REQUIREMENTS = ("scikit-learn", "scipy", "joblib")


def service_requirements(serving_form: bool) -> tuple[str, ...]:
    """``SERVICE_REQUIREMENTS``, less ``PIPELINE_REQUIREMENTS`` when the packaged version has
    a serving form."""
    if not serving_form:
        return SERVICE_REQUIREMENTS
    return tuple(n for n in SERVICE_REQUIREMENTS if n not in PIPELINE_REQUIREMENTS)


#: installed only when present here (object storage by URL)
OPTIONAL_REQUIREMENTS = ("s3fs",)


@dataclass(frozen=True)
class PackageResult:
    out: Path
    version: int
    data_version: int
    code_commit: str | None
    steadyml_version: str
    files: dict[str, str]  # path -> sha256 (app/)
    requirements: list[str]
    wheel: str
    golden: int  # golden requests recorded
    golden_refused: int  # of them, those the contract refuses (expected 422)
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "version": self.version,
            "data_version": self.data_version,
            "code_commit": self.code_commit,
            "steadyml_version": self.steadyml_version,
            "files": self.files,
            "requirements": self.requirements,
            "wheel": self.wheel,
            "golden_requests": self.golden,
            "golden_refused": self.golden_refused,
            "seconds": round(self.seconds, 2),
            "notes": self.notes,
        }


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def steadyml_version() -> str:
    from importlib.metadata import version

    return version("steadyml")


def package(
    config: ProjectConfig,
    root: Path,
    config_path: Path,
    store: Store,
    artifacts: ArtifactStore,
    version: int | None,
    out: str | Path,
    *,
    wheel: str | Path | None = None,
    progress: Progress | None = None,
) -> PackageResult:
    """Write the package of ``version`` (default: production) into the empty folder ``out``."""
    import time

    from steadyml.flows.release import resolve_version

    started = time.perf_counter()
    say = progress or (lambda _m: None)
    target = _empty_folder(out)
    try:
        mv = resolve_version(store, version, project=config.project.name)
    except NotFoundError as exc:
        raise NotFoundError(
            exc.message,
            hint="List the versions with `steadyml models list`; without a version the one in "
            "production is packaged.",
            field="version",
        ) from None
    run = store.get_run(mv.run_number)
    contract_file = _contract_file(config, root)
    wheel_file = Path(wheel).expanduser() if wheel is not None else None
    if wheel_file is not None and (not wheel_file.is_file() or wheel_file.suffix != ".whl"):
        raise SteadyMLError(
            f"The steadyml wheel {str(wheel_file)!r} is not a .whl file.",
            hint="Give a wheel built with `pip wheel --no-deps PATH-TO-STEADYML`, or leave the "
            "option out to build one from this steadyml's source.",
            field="wheel",
        )
    target.mkdir(parents=True, exist_ok=True)
    try:
        say(f"Writing model version {mv.version} and its contract")
        app = target / APP
        (app / "model").mkdir(parents=True)
        model_bytes = artifacts.get_bytes(mv.artifact_digest, what=f"model version {mv.version}")
        (app / "model" / "pipeline.joblib").write_bytes(model_bytes)
        if mv.serving_digest:
            form = artifacts.get_bytes(
                mv.serving_digest, what=f"model version {mv.version}'s serving form"
            )
            (app / "model" / "serving.npz").write_bytes(form)
        shutil.copyfile(config_path, app / "steadyml.yaml")
        rel_contract = _relative_contract(config)
        (app / rel_contract).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(contract_file, app / rel_contract)
        facts = _facts(config, mv, run.code_commit)
        release = {"project": config.project.name, "facts": facts,
                   "run": run.to_dict(), "model_version": mv.to_dict(full=True)}  # fmt: skip
        (app / "release.json").write_text(json.dumps(release, indent=1, default=str) + "\n")
        say("Recording golden requests and the registry's answers")
        golden = golden_requests(config, root, store, artifacts, mv)
        (target / "golden").mkdir()
        (target / GOLDEN).write_text(json.dumps(golden, indent=1) + "\n")
        say("Pinning the service's requirements")
        requirements = pinned_requirements(service_requirements(bool(mv.serving_digest)))
        (target / "requirements.txt").write_text(
            f"# The packaged service's dependencies, pinned to the versions installed when "
            f"model version {mv.version} was packaged ({dt.date.today().isoformat()}).\n"
            + "\n".join(requirements)
            + "\n"
        )
        say("Building the steadyml wheel" if wheel_file is None else "Copying the steadyml wheel")
        (target / "wheels").mkdir()
        wheel_name = _wheel_into(target / "wheels", wheel_file)
        files = {
            p.relative_to(target).as_posix(): file_digest(p)
            for p in sorted(app.rglob("*"))
            if p.is_file()
        }
        manifest = {"format": FORMAT, "facts": facts, "files": files}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
        (target / "Dockerfile").write_text(render_dockerfile(facts, wheel_name))
        (target / ".dockerignore").write_text(render_dockerignore())
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # no half-written package is left behind
        raise
    notes = []
    if run.code_dirty:
        notes.append(
            f"Run {run.number} was trained from uncommitted changes (commit "
            f"{run.code_commit}, dirty): the image's code-commit label says so."
        )
    refused = sum(1 for g in golden["requests"] if g["expect"] == "refused")
    return PackageResult(
        out=target, version=mv.version, data_version=mv.dataset_version,
        code_commit=run.code_commit, steadyml_version=facts["steadyml_version"], files=files,
        requirements=requirements, wheel=f"wheels/{wheel_name}",
        golden=len(golden["requests"]), golden_refused=refused,
        seconds=time.perf_counter() - started, notes=notes,
    )  # fmt: skip


def _empty_folder(out: str | Path) -> Path:
    target = Path(out).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        what = "a file" if not target.is_dir() else "a folder that is not empty"
        raise SteadyMLError(
            f"The package folder {str(target)!r} is {what}; a package is written only into a "
            "new or empty folder, so no old file is mixed in.",
            hint="Give a new folder (e.g. --out dist/model-v3) or empty this one first.",
            field="out",
        )
    return target


def _contract_file(config: ProjectConfig, root: Path) -> Path:
    from steadyml.flows.data import contract_path

    path = contract_path(config, root)
    if not path.is_file():
        raise SteadyMLError(
            f"This project has no data contract at {path}, so a packaged service could not "
            "validate requests.",
            hint="Run `steadyml data check` (it writes contract.yaml), then package again.",
        )
    return path


def _relative_contract(config: ProjectConfig) -> Path:
    p = Path(config.data.contract)
    if p.is_absolute() or ".." in p.parts:
        raise SteadyMLError(
            f"data.contract is {config.data.contract!r}, outside the project folder; a package "
            "holds the contract at the same place relative to its steadyml.yaml.",
            hint="Keep contract.yaml in the project folder (data.contract: contract.yaml).",
            field="contract",
        )
    return p


def _facts(config: ProjectConfig, mv: ModelVersion, commit: str | None) -> dict[str, Any]:
    return {
        "project": config.project.name,
        "model_version": mv.version,
        "model_type": mv.model_type,
        "model_digest": mv.artifact_digest,
        "serving_digest": mv.serving_digest,
        "data_version": mv.dataset_version,
        "code_commit": commit,
        "steadyml_version": steadyml_version(),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "packaged_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


# --- requirements and the wheel -----------------------------------------------------------


def pinned_requirements(names: tuple[str, ...] = SERVICE_REQUIREMENTS) -> list[str]:
    """``name==version`` of ``names`` and everything they require, as installed now."""
    import importlib.metadata as md

    try:
        from packaging.requirements import Requirement
        from packaging.utils import canonicalize_name
    except ImportError:  # pragma: no cover - pip carries its own copy
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]
        from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[assignment]

    wanted = list(names) + [n for n in OPTIONAL_REQUIREMENTS if _installed(n)]
    pins: dict[str, str] = {}
    todo = list(wanted)
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in pins:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            if name in names and name not in ("psycopg", "psycopg-binary"):
                raise SteadyMLError(
                    f"The service needs {name}, which is not installed here, so its version "
                    "cannot be pinned.",
                    hint=f"Install it (pip install {name}) and package again.",
                ) from None
            continue
        pins[key] = f"{dist.metadata['Name']}=={dist.version}"
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return [pins[k] for k in sorted(pins)]


def _installed(name: str) -> bool:
    import importlib.metadata as md

    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return False
    return True


def source_tree() -> Path | None:
    """The steadyml source folder this code runs from (a checkout), or None (a wheel)."""
    here = Path(__file__).resolve()
    for parent in here.parents[:4]:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "steadyml").is_dir():
            return parent
    return None


def _wheel_into(folder: Path, wheel: Path | None) -> str:
    if wheel is not None:
        shutil.copyfile(wheel, folder / wheel.name)
        return wheel.name
    source = source_tree()
    if source is None:
        raise SteadyMLError(
            "This steadyml is installed from a wheel, so there is no source to build the "
            "package's steadyml wheel from.",
            hint="Give the wheel you installed: --wheel steadyml-X.Y.Z-py3-none-any.whl "
            "(wheel= in Python).",
            field="wheel",
        )
    import tempfile

    with tempfile.TemporaryDirectory(prefix="steadyml-wheel-") as scratch:
        copy = Path(scratch) / "steadyml"  # built from a copy: the source tree is not touched
        copy.mkdir()
        for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
            if (source / name).is_file():
                shutil.copyfile(source / name, copy / name)
        shutil.copytree(source / "src" / "steadyml", copy / "src" / "steadyml",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
               "--disable-pip-version-check", "--wheel-dir", str(folder), str(copy)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=scratch)
    wheels = sorted(folder.glob("steadyml-*.whl"))
    if done.returncode != 0 or not wheels:
        errors = "\n".join(ln for ln in done.stderr.splitlines()
                           if not ln.startswith("WARNING: Location"))  # fmt: skip
        raise SteadyMLError(
            f"Building the steadyml wheel from {source} failed:\n{errors[-2000:]}",
            hint="Build it yourself (pip wheel --no-deps PATH) and give it with --wheel.",
        )
    return wheels[0].name


# --- golden requests ----------------------------------------------------------------------


def golden_requests(
    config: ProjectConfig, root: Path, store: Store, artifacts: ArtifactStore, mv: ModelVersion
) -> dict[str, Any]:
    """Requests from the version's test rows plus edge cases (a missing value, an unseen
    category, extreme numbers), each with what the registry's model answers, or "refused"
    where the contract refuses the record (the API answers 422)."""
    from steadyml.batch.validate import build_rules, check_chunk
    from steadyml.flows.data import load_contract, load_snapshot
    from steadyml.flows.release import load_model
    from steadyml.registry.scoring import score_frame

    contract = load_contract(config, root)
    assert contract is not None  # checked by _contract_file
    roles = config.data.roles()
    columns = [c for c in contract.columns if c != roles.target]
    frame = _test_rows(config, store, artifacts, mv, load_snapshot)
    base = [_record(row, columns) for row in frame.to_dict(orient="records")]
    records = [("test row", r) for r in base[:TEST_ROWS]]
    records += _edge_cases(base[0] if base else {}, contract, roles.features)
    import pandas as pd

    given = pd.DataFrame([r for _, r in records], columns=columns)
    rules = build_rules(contract, list(roles.features), roles.id, config.data.missing_codes,
                        config.serving.on_unexpected)  # fmt: skip
    check = check_chunk(given, rules, text=False)
    bundle = load_model(store, artifacts, mv.version, project=config.project.name)
    answered = [i for i in range(len(records)) if not bool(check.refused[i])]
    scored = score_frame(bundle, given.iloc[answered].reset_index(drop=True))
    at = {row: n for n, row in enumerate(answered)}
    out = []
    for i, (what, record) in enumerate(records):
        entry: dict[str, Any] = {"what": what, "record": record}
        if i not in at:
            entry.update(expect="refused", reasons=check.reasons.get(i, []))
        else:
            n = at[i]
            entry.update(
                expect="answered",
                prediction=scored.predictions[n],
                score=scored.scores[n],
                probabilities=None if scored.probabilities is None else scored.probabilities[n],
            )
        out.append(entry)
    return {"model_version": mv.version, "tolerance": 1e-9, "requests": out}


def _test_rows(
    config: ProjectConfig,
    store: Store,
    artifacts: ArtifactStore,
    mv: ModelVersion,
    load_snapshot: Callable[..., pd.DataFrame],
) -> pd.DataFrame:
    """The version's own test rows (its split of its data, redone), the first TEST_ROWS."""
    from steadyml.config import SPLIT_TEST_VALUES
    from steadyml.data.split import split_rows

    data = load_snapshot(store, artifacts, mv.dataset_version)
    run = store.get_run(mv.run_number)
    split = (run.summary or {}).get("split") or {}
    roles = config.data.roles()
    data = data[data[roles.target].notna()]
    try:
        _, test = split_rows(
            data, roles, split.get("method", config.training.split.method),
            float(split.get("test_size", config.training.split.test_size)),
            int(split.get("seed", config.training.seed)), column=split.get("column"),
            test_values=split.get("test_values") or SPLIT_TEST_VALUES,
        )  # fmt: skip
        rows = data.loc[test]
    except SteadyMLError:  # a split that cannot be redone: the data's last rows
        rows = data.tail(TEST_ROWS)
    return rows.head(TEST_ROWS)


def _record(row: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """A row as a JSON request's record: missing as null, times as ISO text."""
    out: dict[str, Any] = {}
    for c in columns:
        v = row.get(c)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out[c] = None
        elif hasattr(v, "isoformat"):
            out[c] = None if str(v) == "NaT" else v.isoformat()
        elif hasattr(v, "item"):  # numpy scalars
            out[c] = v.item()
        else:
            out[c] = v
    for c in columns:  # pii columns are not in a snapshot: a made-up value of its type
        if c not in row:
            out[c] = None
    return out


def _edge_cases(base: dict[str, Any], contract: Any, features: Any) -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    cols = [contract.columns[f] for f in features if f in contract.columns]
    numeric = [c for c in cols if c.type in ("integer", "number")]
    categorical = [c for c in cols if c.type == "string"]
    nullable = [c for c in cols if c.nullable]
    for c in (nullable or cols)[:2]:
        cases.append((f"missing value: {c.name}", {**base, c.name: None}))
    for c in categorical[:2]:
        cases.append((f"unseen category: {c.name}", {**base, c.name: "zz-never-seen"}))
    for c in numeric[:3]:
        big = 10**12 if c.type == "integer" else 1e12
        cases.append((f"extreme number: {c.name} = {big:g}", {**base, c.name: big}))
        cases.append((f"extreme number: {c.name} = {-big:g}", {**base, c.name: -big}))
    if numeric:
        c = numeric[0]
        cases.append((f"zero: {c.name}", {**base, c.name: 0}))
        cases.append((f"text in a number column: {c.name}", {**base, c.name: "many"}))
    return cases
