"""Data: read the project's data, check it against its contract, and version it.

The use cases of the course's second step: ``check_data`` (the contract, inferred on the
first run, plus quality and leakage, recorded in the store), ``snapshot`` (a dataset version:
the same content gives the same version) and ``load_snapshot`` (a version's exact rows, read
back verified). ``load_data`` applies ``data.missing_codes`` the same way for all of them.

A snapshot leaves the personal-data columns (``data.columns.pii``) out: they are never
features, and personal data is never stored raw. ``snapshot_contract`` is the contract a
snapshot is checked against: the same, without the rule that those columns be present.

Each function takes the project's configuration and folder (``root``, against which relative
paths in steadyml.yaml resolve) and the stores it records into.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from steadyml.entities import DatasetVersion
from steadyml.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.data.check import DataCheckResult
    from steadyml.data.contract import Contract
    from steadyml.store import Store

Progress = Callable[[str], None]

__all__ = [
    "LoadedData",
    "SnapshotResult",
    "check_data",
    "contract_path",
    "data_path",
    "infer_contract",
    "load_contract",
    "load_data",
    "load_snapshot",
    "relative",
    "snapshot",
    "snapshot_contract",
]


@dataclass(frozen=True)
class LoadedData:
    frame: pd.DataFrame
    path: Path
    notes: list[str]


@dataclass(frozen=True)
class SnapshotResult:
    version: DatasetVersion
    created: bool
    path: Path
    #: the personal-data columns of the file, not stored (``data.columns.pii``)
    left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "path": str(self.path),
            **self.version.to_dict(),
            "left_out": list(self.left_out),
        }

    @property
    def left_out_note(self) -> str | None:
        """What a person should read about the columns left out, if any."""
        if not self.left_out:
            return None
        names = ", ".join(self.left_out)
        return (
            f"Personal data left out of the snapshot: {names} (data.columns.pii). Those "
            "columns are never features, so training does not need them, and personal data "
            "is never stored raw."
        )


def relative(root: Path, path: Path) -> str:
    """``path`` relative to the project folder when it is inside it (as records show it)."""
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def data_path(config: ProjectConfig, root: Path, file: str | Path | None = None) -> Path:
    """The data file to read: ``file``, or ``data.source`` relative to the project folder."""
    source = Path(file) if file is not None else Path(config.data.source)
    if "://" in str(source):
        raise DataError(
            f"data.source '{source}' is a URL; reading SQL and remote sources is not built yet.",
            hint="Export the table to CSV or Parquet and point data.source at the file.",
        )
    if file is None and not source.is_absolute():
        source = root / source
    return source.expanduser().resolve()


def load_data(config: ProjectConfig, root: Path, file: str | Path | None = None) -> LoadedData:
    """Read a data file (default: the configured source), applying ``missing_codes``."""
    from steadyml.data.loading import read_table_with_notes

    path = data_path(config, root, file)
    frame, notes = read_table_with_notes(path)
    for column, values in config.data.missing_codes.items():
        if column not in frame.columns:
            raise DataError(
                f"data.missing_codes names column '{column}', which is not in {path.name}.",
                hint=f"Columns: {', '.join(map(str, frame.columns))}.",
            )
        mask = frame[column].isin(values)
        if mask.any():
            frame[column] = frame[column].mask(mask)
            notes.append(
                f"{int(mask.sum())} value(s) in '{column}' matched missing_codes "
                f"{values} and were treated as missing."
            )
    return LoadedData(frame=frame, path=path, notes=notes)


def contract_path(config: ProjectConfig, root: Path) -> Path:
    p = Path(config.data.contract)
    return p if p.is_absolute() else root / p


def load_contract(config: ProjectConfig, root: Path) -> Contract | None:
    """The project's data contract, or None before the first ``data check``."""
    from steadyml.data.contract import load_contract as _load

    path = contract_path(config, root)
    return _load(path) if path.exists() else None


def infer_contract(config: ProjectConfig, root: Path, *, overwrite: bool = False) -> Contract:
    """Infer the data contract from the training source and save it for review (an existing
    contract is kept unless ``overwrite``)."""
    from steadyml.data.contract import infer_contract as _infer
    from steadyml.data.contract import save_contract
    from steadyml.data.versions import fingerprint

    path = contract_path(config, root)
    if path.exists() and not overwrite:
        existing = load_contract(config, root)
        if existing is not None:
            return existing
    data = load_data(config, root)
    fp = fingerprint(data.frame)
    contract = _infer(
        data.frame,
        config.data.roles(),
        source=relative(root, data.path),
        content_hash=fp.content_hash,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    save_contract(contract, path)
    return contract


def check_data(
    config: ProjectConfig,
    root: Path,
    store: Store,
    file: str | Path | None = None,
    *,
    progress: Progress | None = None,
) -> DataCheckResult:
    """Validate data against the contract (inferring it on the first run), measure its
    quality, look for leakage, and record the check in the metadata store. A broken rule of
    the contract is an error; a broken expectation (values outside what training showed) is
    a warning, since such rows are scored."""
    from steadyml.data.check import DataCheckResult, run_checks
    from steadyml.data.versions import fingerprint

    say = progress or (lambda _m: None)
    say("Reading the data")
    data = load_data(config, root, file)
    cpath = contract_path(config, root)
    created = not cpath.exists()
    if created:
        say("Inferring the data contract from the training data")
    contract = infer_contract(config, root)
    training = config.training
    target = config.data.target
    # a file other than the training source without the target is new rows to score: check
    # it as scoring does (the target is not required); the training source always needs it
    to_score = file is not None and target not in data.frame.columns
    if to_score and data.path != data_path(config, root):
        contract = contract.for_scoring(target)
    else:
        to_score = False
    report, quality, leakage, roles, task = run_checks(
        data.frame,
        config.data.roles(),
        contract,
        needs_target=not to_score,
        task_setting=config.data.task,
        post_outcome=config.data.post_outcome,
        seed=training.seed,
        split_method=training.split.method,
        test_size=training.split.test_size,
        split_column=training.split.column,
        split_test_values=training.split.test_values,
        progress=say,
    )
    fp = fingerprint(data.frame)
    result = DataCheckResult(
        source=relative(root, data.path),
        rows=len(data.frame),
        columns=len(data.frame.columns),
        content_hash=fp.content_hash,
        contract_path=relative(root, cpath),
        contract_created=created,
        contract_source=str(contract.inferred_from.get("source", "")),
        contract_report=report,
        quality=quality,
        leakage=leakage,
        roles=roles,
        task=task,
        notes=data.notes,
        purpose="scoring" if to_score else "training",
    )
    say("Recording the check")
    store.add_check(
        kind="data_check",
        source=result.source,
        content_hash=fp.content_hash,
        passed=result.passed,
        errors=result.errors,
        warnings=result.warnings,
        summary={
            "rows": result.rows,
            "violations": len(report.violations),
            "rules_broken": len(report.broken_rules),
            "expectations_broken": len(report.unexpected),
            "rules": sorted({f.rule for f in result.findings}),
        },
    )
    return result


def snapshot(
    config: ProjectConfig,
    root: Path,
    store: Store,
    artifacts: ArtifactStore,
    file: str | Path | None = None,
) -> SnapshotResult:
    """Record a dataset version; the same content gives the same version, no new record.

    The personal-data columns are left out (``SnapshotResult.left_out``): the version is the
    rest of the file, and its content hash is that of the rest.
    """
    from steadyml.data.versions import fingerprint, to_parquet_bytes

    data = load_data(config, root, file)
    left_out = tuple(c for c in config.data.columns.pii if c in data.frame.columns)
    frame = data.frame.drop(columns=list(left_out)) if left_out else data.frame
    fp = fingerprint(frame)
    existing = store.find_dataset_version(fp.content_hash)
    if existing is not None:
        return SnapshotResult(existing, False, data.path, left_out)
    blob = to_parquet_bytes(frame)
    digest = artifacts.put_bytes(blob)
    store.add_artifact(digest=digest, size=len(blob), kind="dataset")
    version, created = store.add_dataset_version(
        content_hash=fp.content_hash,
        rows=fp.rows,
        columns=fp.columns,
        schema_hash=fp.schema_hash,
        source=relative(root, data.path),
        artifact_digest=digest,
    )
    return SnapshotResult(version, created, data.path, left_out)


def snapshot_contract(contract: Contract, config: ProjectConfig) -> Contract:
    """The contract a snapshot (or a retrain's data) is checked against: personal-data columns
    need not be present (a snapshot leaves them out, the log never holds them); where present
    (a version recorded before), their rules hold."""
    import dataclasses

    pii = set(config.data.columns.pii)
    columns = {
        name: dataclasses.replace(col, required=False) if name in pii else col
        for name, col in contract.columns.items()
    }
    return dataclasses.replace(contract, columns=columns)


def load_snapshot(
    store: Store, artifacts: ArtifactStore, version: int | None = None
) -> pd.DataFrame:
    """The exact data of a dataset version (default: the latest), read back verified."""
    from steadyml.data.versions import from_parquet_bytes

    dv = (
        store.get_dataset_version(version)
        if version is not None
        else store.latest_dataset_version()
    )
    if dv is None:
        raise DataError(
            "This project has no dataset version yet.",
            hint="Record one with `steadyml data snapshot`.",
        )
    if dv.artifact_digest is None:
        raise DataError(f"Dataset version {dv.version} has no stored copy of its data.")
    data = artifacts.get_bytes(dv.artifact_digest, what=f"data snapshot v{dv.version}")
    return from_parquet_bytes(data)
