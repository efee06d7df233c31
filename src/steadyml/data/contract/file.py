"""The reviewable contract file, ``contract.yaml``: written with a header that explains each
field, read back with errors that name the column and the key that is wrong.

The file is ours (pandera's own serialisation cannot hold the role of each column or a
comment for the reader); only PyYAML is needed to read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from steadyml.data.contract.model import ColumnContract, ColumnRules, Contract
from steadyml.errors import DataContractError

__all__ = ["load_contract", "save_contract"]

_HEADER = """\
# The data contract of this project, inferred by `steadyml data check` from the training data.
# It has two levels; review both.
#
# RULES: a row that breaks one is refused (batch: the rejects file; API: an error), with the reason.
#   type      integer | number | string | boolean | datetime: the value must parse as this type
#   required  false means the column may be absent (default: it must be present)
#   rules     what you decide to refuse, per column (none are inferred):
#               rules: {min: 0}                 a number below 0 is refused
#               rules: {min: 0, max: 120}       outside 0..120 is refused
#               rules: {allowed: [yes, no]}     any other value is refused
#               rules: {nullable: false}        a missing value is refused
#             or name the expectations below that are rules: `rules: [min, allowed]`.
#
# EXPECTATIONS: what the training data showed. A row outside them is still scored, carries a
# warning per field (batch: the _warnings column; API: warnings) and is counted by the monitor.
#   min/max   the range seen in training
#   allowed   the categories seen in training
#   nullable  false means the column was never missing in training
# To refuse rows that break an expectation too, set on_unexpected: refuse under serving: or
# batch: in steadyml.yaml.
#
# Edit and save; the next `steadyml data check` uses your version. Delete the file to infer anew.
"""
_KEYS = {"role", "type", "nullable", "required", "min", "max", "allowed", "rules"}
_RULE_KEYS = ("min", "max", "allowed", "nullable")
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
        if not col.rules.empty:
            entry["rules"] = col.rules.to_dict()
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
            rules=_rules(path, str(name), entry),
        )
    return Contract(
        columns=columns,
        inferred_from=dict(raw.get("inferred_from") or {}),
        version=int(raw.get("version", 1)),
    )


def _rules(path: Path, name: str, entry: dict[str, Any]) -> ColumnRules:
    """The ``rules:`` of a column: a mapping of rules, or a list naming the expectations of
    the column that are rules; ``DataContractError`` says what is wrong and how to write it."""
    raw = entry.get("rules")
    where = f"{path}: columns.{name}.rules"
    example = "for example `rules: {min: 0}` or `rules: [min, max]`"
    if raw is None:
        return ColumnRules()
    if isinstance(raw, list):
        unknown = [k for k in raw if k not in _RULE_KEYS]
        if unknown:
            raise DataContractError(
                f"{where} names {unknown}; a rule is one of {', '.join(_RULE_KEYS)} ({example})."
            )
        absent = [k for k in raw if entry.get(k) is None]
        if absent:
            raise DataContractError(
                f"{where} names {absent}, which the column does not set.",
                hint=f"Write the value itself, {example}.",
            )
        raw = {k: entry[k] for k in raw}
    if not isinstance(raw, dict):
        raise DataContractError(
            f"{where} must be a mapping or a list; got {raw!r}.", hint=f"Write it {example}."
        )
    unknown = sorted(set(map(str, raw)) - set(_RULE_KEYS))
    if unknown:
        raise DataContractError(
            f"{where} has unknown key(s) {unknown}; allowed: {', '.join(_RULE_KEYS)}.",
            hint=f"Write it {example}.",
        )
    for key in ("min", "max"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise DataContractError(f"{where}.{key} must be a number; got {value!r}.")
    lo, hi = raw.get("min"), raw.get("max")
    if lo is not None and hi is not None and lo > hi:
        raise DataContractError(f"{where}: min {lo} is above max {hi}; swap them.")
    allowed = raw.get("allowed")
    if allowed is not None and (not isinstance(allowed, list) or not allowed):
        raise DataContractError(
            f"{where}.allowed must be a list of values; got {allowed!r}.",
            hint="For example `allowed: [yes, no]`.",
        )
    nullable = raw.get("nullable")
    if nullable is not None and not isinstance(nullable, bool):
        raise DataContractError(
            f"{where}.nullable must be true or false; got {nullable!r}.",
            hint="`nullable: false` refuses a missing value.",
        )
    return ColumnRules(min=lo, max=hi, allowed=allowed, nullable=nullable)
