"""A packaged service's start: the package's files checked, its version in the store.

``python -m steadyml.serving.packaged DIR`` calls ``prepare`` before it serves:

1. every file under ``app/`` must match its sha256 in ``manifest.json``, and the model's
   digest must be the one the registry recorded (``check_files``): a changed, missing or
   added file refuses the start with the file's name and what to do;
2. the project file and the contract are copied into ``$STEADYML_DATA_DIR/project`` (the
   service writes its key file and, by default, its SQLite store and artifacts there: a
   volume; ``STEADYML_STORE_URL`` / ``STEADYML_ARTIFACTS_URL`` put them elsewhere);
3. the model's files go into the artifact store, and the version is registered in a store
   that does not hold it yet, in production when nothing is (``store.packaged``);
4. ``STEADYML_API_KEY``, when set, is a key the service accepts (stored hashed).

The environment is read by the entrypoint and passed in; nothing here reads ``os.environ``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steadyml.errors import IntegrityError, SteadyMLError
from steadyml.flows.package import APP, FORMAT, MANIFEST, file_digest

__all__ = ["Prepared", "check_files", "environment", "prepare"]

KEY_NAME = "packaged-service"
KEY_SCOPES = ["predict", "feedback"]


@dataclass(frozen=True)
class Prepared:
    project_dir: Path
    store_url: str
    artifacts_url: str
    version: int
    registered: bool
    promoted: bool
    notes: list[str] = field(default_factory=list)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(
            f"The package at {path.parent} has no {path.name} ({what}).",
            hint="Package the model again with `steadyml package VERSION --out DIR`.",
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(
            f"{path} ({what}) is not valid JSON: {exc}.",
            hint="The file was changed or damaged; package the model again.",
        ) from None
    if not isinstance(data, dict):
        raise IntegrityError(f"{path} ({what}) is not a JSON object.")
    return data


def check_files(package_dir: str | Path) -> dict[str, Any]:
    """The manifest, once every file under ``app/`` matches it; IntegrityError otherwise."""
    root = Path(package_dir).resolve()
    if not root.is_dir():
        raise SteadyMLError(
            f"There is no package folder at {root}.",
            hint="Give the folder `steadyml package VERSION --out DIR` wrote.",
            field="package_dir",
        )
    manifest = _read_json(root / MANIFEST, "the list of the package's files and digests")
    if manifest.get("format") != FORMAT:
        raise SteadyMLError(
            f"{root / MANIFEST} is package format {manifest.get('format')!r}; this steadyml "
            f"reads format {FORMAT}.",
            hint="Package the model with the steadyml version the image installs.",
        )
    files: dict[str, str] = manifest.get("files") or {}
    problems = []
    for rel, digest in sorted(files.items()):
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif file_digest(path) != digest:
            problems.append(f"{rel}: its sha256 is not the one recorded when it was packaged")
    present = {p.relative_to(root).as_posix() for p in (root / APP).rglob("*") if p.is_file()}
    problems += [f"{rel}: not part of the package" for rel in sorted(present - set(files))]
    facts = manifest.get("facts") or {}
    model = files.get(f"{APP}/model/pipeline.joblib")
    if model is not None and model != facts.get("model_digest"):
        problems.append(f"{APP}/model/pipeline.joblib: the manifest's digest is not the "
                        "registry's digest of model version "
                        f"{facts.get('model_version')}")  # fmt: skip
    if problems:
        listed = "".join(f"\n  - {p}" for p in problems)
        raise IntegrityError(
            f"The package at {root} does not match its manifest, so the service does not "
            f"start:{listed}",
            hint="A file was changed after packaging (or damaged in transit). Package the "
            "model again with `steadyml package VERSION --out DIR`; never edit a package.",
        )
    return manifest


def _has_scikit_learn() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("sklearn") is not None
    except (ImportError, ValueError):
        return False


def _need_pipeline_stack(mv: Mapping[str, Any]) -> None:
    """A version without a serving form is served by unpickling its pipeline, which needs
    scikit-learn: a package of a version with a serving form leaves it out."""
    if mv.get("serving_digest") or _has_scikit_learn():
        return
    raise SteadyMLError(
        f"Model version {mv.get('version')} has no serving form, so the service would unpickle "
        "its pipeline, and scikit-learn is not installed here (a package of a version with a "
        "serving form leaves scikit-learn and scipy out of requirements.txt).",
        hint="Serve it from its own package (`steadyml package VERSION --out DIR` pins "
        "scikit-learn for a version without a serving form), or install scikit-learn "
        "(pip install scikit-learn scipy) into this environment.",
        field="model_version",
    )


def prepare(
    package_dir: str | Path,
    *,
    data_dir: str | Path,
    store_url: str | None = None,
    artifacts_url: str | None = None,
    api_key: str | None = None,
    by: str = "packaged-service",
) -> Prepared:
    """Check the package, lay out the service's project and register its version."""
    from steadyml.artifacts import ArtifactStore
    from steadyml.flows.release import hash_key
    from steadyml.store import open_store
    from steadyml.store.packaged import register_packaged

    root = Path(package_dir).resolve()
    manifest = check_files(root)
    release = _read_json(root / APP / "release.json", "the model version's records")
    data = Path(data_dir).expanduser().resolve()
    project_dir = data / "project"
    project_dir.mkdir(parents=True, exist_ok=True)
    for rel in manifest["files"]:
        path = Path(rel)
        if path.parts[1] == "model" or path.name == "release.json":
            continue
        target = project_dir.joinpath(*path.parts[1:])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)
    store_url = store_url or str(data / "store.db")
    artifacts_url = artifacts_url or str(data / "artifacts")
    name = str(release["project"])
    artifacts = ArtifactStore(artifacts_url)
    mv = release["model_version"]
    _need_pipeline_stack(mv)
    store = open_store(store_url, project=name)
    notes: list[str] = []
    try:
        model_files = [("pipeline.joblib", "model", mv["artifact_digest"])]
        if mv.get("serving_digest"):
            model_files.append(("serving.npz", "serving", mv["serving_digest"]))
        for file, kind, digest in model_files:
            if not artifacts.exists(digest):
                blob = (root / APP / "model" / file).read_bytes()
                put = artifacts.put_bytes(blob)
                if put != digest:  # pragma: no cover - check_files compared them already
                    raise IntegrityError(f"{APP}/model/{file} is not model version "
                                         f"{mv['version']}'s {kind} file.")  # fmt: skip
        registration = register_packaged(store, release["run"], mv, by=by)
        if registration.added:
            for file, kind, digest in model_files:
                size = (root / APP / "model" / file).stat().st_size
                store.add_artifact(digest=digest, size=size, kind=kind)
        production = store.production_version()
        if production is not None:
            _need_pipeline_stack({"version": production.version,
                                  "serving_digest": production.serving_digest})  # fmt: skip
        if production is not None and production.version != registration.version.version:
            notes.append(f"The store's production version is {production.version}, not the "
                         f"packaged {registration.version.version}: the service answers with "
                         "the store's production version, as every server does.")  # fmt: skip
        if api_key:
            if len(api_key) < 24:
                raise SteadyMLError(
                    "STEADYML_API_KEY is shorter than 24 characters; a key that short can be "
                    "guessed.",
                    hint='Generate one: python -c "import secrets; '
                    "print('sml_' + secrets.token_urlsafe(32))\"",
                    field="api_key",
                )
            digest = hash_key(api_key)
            if store.find_api_key(digest) is None:
                prefix = (api_key.split("_")[1] if api_key.count("_") >= 2 else api_key)[:8]
                store.add_api_key(name=KEY_NAME, prefix=prefix, key_hash=digest,
                                  scopes=list(KEY_SCOPES), created_by=by)  # fmt: skip
    finally:
        store.close()
    return Prepared(
        project_dir=project_dir, store_url=store_url, artifacts_url=artifacts_url,
        version=registration.version.version, registered=registration.added,
        promoted=registration.promoted, notes=notes,
    )  # fmt: skip


def environment(values: Mapping[str, str], prepared: Prepared) -> dict[str, str]:
    """The environment the service process runs with: the store and artifacts it prepared."""
    return {
        **values,
        "STEADYML_STORE_URL": prepared.store_url,
        "STEADYML_ARTIFACTS_URL": prepared.artifacts_url,
    }
