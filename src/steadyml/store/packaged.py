"""Repository: a packaged model version registered in the store a packaged service starts on.

``steadyml package`` writes a version's records (its run and its model version) into the
package. When the service starts on a store that does not hold that version yet (an empty
volume, a fresh PostgreSQL database), ``register_packaged`` inserts both with their own
numbers, so the service answers with the version number the registry gave it, and puts the
version in production when nothing is. One transaction: a second server starting at the same
time finds the version there (the unique constraints refuse the duplicate) and goes on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from steadyml.entities import ModelVersion
from steadyml.errors import SteadyMLError
from steadyml.store._base import RepoBase
from steadyml.store.models import DeploymentEventRow, ModelVersionRow, RunRow
from steadyml.store.versions import _version

__all__ = ["Registration", "register_packaged"]

_RUN_FIELDS = (
    "run_key", "status", "task", "model_type", "dataset_version", "data_hash", "config_hash",
    "code_commit", "code_dirty", "params", "metrics", "baseline_metrics", "gates_passed",
    "summary", "training_config", "package_versions", "duration_s", "created_by",
)  # fmt: skip
_VERSION_FIELDS = (
    "artifact_digest", "size_bytes", "model_type", "task", "gates_passed", "features",
    "dataset_version", "primary_metric", "primary_value", "contract", "reference",
    "serving_digest", "created_by",
)  # fmt: skip


@dataclass(frozen=True)
class Registration:
    """What ``register_packaged`` did: the version, whether it was added, whether promoted."""

    version: ModelVersion
    added: bool
    promoted: bool


def _when(value: Any) -> dt.datetime:
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return dt.datetime.now(dt.UTC)


def register_packaged(
    store: RepoBase, run: dict[str, Any], version: dict[str, Any], *, by: str
) -> Registration:
    """Register a packaged version (``run`` and ``version`` as ``to_dict`` wrote them) unless
    the store holds it; refuse a store whose version of that number is another model."""
    number = int(version["version"])
    for _attempt in range(3):
        existing = _find(store, number)
        if existing is not None:
            if existing.artifact_digest != version["artifact_digest"]:
                raise SteadyMLError(
                    f"The store already holds a model version {number} of project "
                    f"'{store.project}', and it is another model (its digest "
                    f"{existing.artifact_digest[:12]}… is not the package's "
                    f"{str(version['artifact_digest'])[:12]}…).",
                    hint="Point STEADYML_STORE_URL at this package's own store (or an empty "
                    "one), or package the version that store serves.",
                    field="store_url",
                )
            return Registration(existing, added=False, promoted=False)
        try:
            return _insert(store, run, version, number, by=by)
        except sa_exc.IntegrityError:  # another server registered it first: read it again
            continue
    raise SteadyMLError(f"Could not register model version {number} after 3 tries (busy store).")


def _find(store: RepoBase, number: int) -> ModelVersion | None:
    with store.reader() as s:
        row = s.scalar(
            select(ModelVersionRow).where(
                ModelVersionRow.project == store.project, ModelVersionRow.version == number
            )
        )
        return None if row is None else _version(row)


def _insert(
    store: RepoBase, run: dict[str, Any], version: dict[str, Any], number: int, *, by: str
) -> Registration:
    now = dt.datetime.now(dt.UTC)
    with store.session() as s:
        runs = set(s.scalars(select(RunRow.number).where(RunRow.project == store.project)))
        run_number = int(run["number"])
        if run_number in runs:  # the store has its own run of that number: take the next
            run_number = max(runs) + 1
        s.add(
            RunRow(
                project=store.project, number=run_number, model_version=number,
                created_at=_when(run.get("created_at")),
                **{k: run[k] for k in _RUN_FIELDS if k in run},
            )
        )  # fmt: skip
        production = s.scalar(
            select(ModelVersionRow).where(
                ModelVersionRow.project == store.project, ModelVersionRow.stage == "production"
            )
        )
        stage = "candidate" if production is not None else "production"
        row = ModelVersionRow(
            project=store.project, version=number, run_number=run_number, stage=stage,
            created_at=_when(version.get("created_at")),
            **{k: version[k] for k in _VERSION_FIELDS if k in version},
        )  # fmt: skip
        s.add(row)
        if stage == "production":
            s.add(
                DeploymentEventRow(
                    project=store.project, action="promote", stage="production",
                    from_version=None, to_version=number, by=by,
                    reason="packaged service: first start on an empty store", override=None,
                    at=now,
                )
            )  # fmt: skip
        s.flush()
        return Registration(_version(row), added=True, promoted=stage == "production")
