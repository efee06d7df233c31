"""The reviewable contract file, ``contract.yaml``: written with a header that explains each
field, read back with errors that name the column and the key that is wrong.

The file is ours (pandera's own serialisation cannot hold the role of each column or a
comment for the reader); only PyYAML is needed to read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from steadyml.data.contract.model import ColumnContract, Contract
from steadyml.errors import DataContractError

__all__ = ["load_contract", "save_contract"]

_HEADER = """\
# The data contract of this project, inferred by `steadyml data check` from the training data.
# Review it: it is what every new batch of data and every API request must look like.
#   type      integer | number | string | boolean | datetime
#   nullable  false means the column may never be missing
#   min/max   the range seen in training; widen it if larger values are legitimate
#   allowed   the categories seen in training; add a value here when it is legitimate
# Edit and save; the next `steadyml data check` uses your version. Delete the file to infer anew.
"""
_KEYS = {"role", "type", "nullable", "required", "min", "max", "allowed"}
_TYPES = ("integer", "number", "string", "boolean", "datetime")


def save_contract(contract: Contract, path: Path) -> None:
    """Write ``contract`` to ``path`` (through a temporary file, so a reader never sees half)."""
    body: dict[str, Any] = {
        "version": contract.version,
        "inferred_from": contract.inferred_from,
        "columns": {},
    }
    for name, col in contract.columns.items():
        entry: dict[str, Any] = {"role": col.role, "type": col.type, "nullable": col.nullable}
        if not col.required:
            entry["required"] = False
        if col.min is not None:
            entry["min"] = col.min
        if col.max is not None:
            entry["max"] = col.max
        if col.allowed is not None:
            entry["allowed"] = col.allowed
        body["columns"][name] = entry
    text = yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(_HEADER + text, encoding="utf-8")
    tmp.replace(path)


def load_contract(path: Path) -> Contract:
    """Read a contract file; ``DataContractError`` names what is wrong in it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataContractError(
            f"The data contract {path} is not valid YAML: {exc}",
            hint="Fix the file, or delete it to infer a new one.",
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise DataContractError(
            f"The data contract {path} has no 'columns' mapping.",
            hint="Delete the file to infer a new one with `steadyml data check`.",
        )
    columns: dict[str, ColumnContract] = {}
    for name, entry in raw["columns"].items():
        if not isinstance(entry, dict):
            raise DataContractError(f"{path}: columns.{name} must be a mapping; got {entry!r}.")
        unknown = set(entry) - _KEYS
        if unknown:
            raise DataContractError(
                f"{path}: columns.{name} has unknown key(s) {sorted(unknown)}; "
                f"allowed: {sorted(_KEYS)}."
            )
        kind = entry.get("type", "string")
        if kind not in _TYPES:
            raise DataContractError(
                f"{path}: columns.{name}.type is {kind!r}; allowed: integer, number, string, "
                "boolean, datetime."
            )
        columns[str(name)] = ColumnContract(
            name=str(name),
            role=str(entry.get("role", "unassigned")),
            type=kind,
            nullable=bool(entry.get("nullable", True)),
            required=bool(entry.get("required", True)),
            min=entry.get("min"),
            max=entry.get("max"),
            allowed=entry.get("allowed"),
        )
    return Contract(
        columns=columns,
        inferred_from=dict(raw.get("inferred_from") or {}),
        version=int(raw.get("version", 1)),
    )
