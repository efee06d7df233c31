"""Batch: score a file with the model in production (or a chosen version).

The use case picks the model (digest-verified) and the contract it is checked against (the
project's contract, else the one stored with the model version), then hands the file to the
chunk engine (``steadyml.batch.score_file``), which streams it in constant memory, writes the
scored rows and the rejects, and logs the run. The CLI's ``batch score``, the worker's nightly
job and the demo all come through here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from steadyml.flows import data as data_flow
from steadyml.flows.release import load_model

if TYPE_CHECKING:
    from steadyml.artifacts import ArtifactStore
    from steadyml.batch.score import BatchResult
    from steadyml.config import ProjectConfig
    from steadyml.data.contract import Contract
    from steadyml.entities import ModelVersion
    from steadyml.store import Store

__all__ = ["score_batch", "version_contract"]


def version_contract(mv: ModelVersion) -> Contract | None:
    """The data contract stored with a model version (for a project folder without one)."""
    from steadyml.data.contract import Contract, column_from_dict

    columns = (mv.contract or {}).get("columns") or {}
    if not columns:
        return None
    return Contract(columns={k: column_from_dict(v) for k, v in columns.items()})


def score_batch(
    config: ProjectConfig,
    root: Path,
    store: Store,
    artifacts: ArtifactStore,
    input: str | Path,  # noqa: A002 - the CLI argument's name
    out: str | Path,
    *,
    rejects: str | Path | None = None,
    chunk_rows: int = 50_000,
    engine: Literal["pandas", "dask"] = "pandas",
    scheduler: str | None = None,
    model_version: int | None = None,
    log: bool = True,
    progress: Callable[[int, int | None], None] | None = None,
) -> BatchResult:
    """Score a CSV/Parquet file in chunks; rows that break a rule of the contract go to a
    rejects file with their line and reason, so rows in = rows scored + rows rejected. Rows
    outside the contract's expectations are scored with warnings (the ``_warnings`` column),
    or rejected when ``batch.on_unexpected`` is ``refuse``."""
    from steadyml.batch.score import score_file

    bundle = load_model(store, artifacts, model_version, project=config.project.name)
    contract = data_flow.load_contract(config, root)
    if contract is None:
        contract = version_contract(store.get_model_version(int(bundle.version or 0)))
    return score_file(
        input, out, bundle=bundle, contract=contract, data=config.data, store=store,
        artifacts=artifacts, root=root, pii_mode=config.serving.pii_handling, rejects=rejects,
        chunk_rows=chunk_rows, engine=engine, scheduler=scheduler, log=log, progress=progress,
        on_unexpected=config.batch.on_unexpected,
    )  # fmt: skip
