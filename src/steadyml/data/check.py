"""``data check``: the contract, the quality report and the leakage checks, in one result.

A broken rule of the contract is an error; a broken expectation (outside the training range,
an unseen category, missing where training never was) is a warning: such rows are scored.

This module only combines the parts (contract.py, quality.py, leakage.py) and checks that the
project file's column roles fit the data; the project handle records the result.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from steadyml.config.schema import SPLIT_TEST_VALUES
from steadyml.data.contract import Contract, ContractReport, Violation, validate
from steadyml.data.leakage import check_leakage
from steadyml.data.quality import QualityReport, quality_report
from steadyml.data.split import SplitMethod, split_rows
from steadyml.entities import Finding, Roles
from steadyml.errors import DataError

Task = Literal["classification", "regression"]
Progress = Callable[[str], None]

__all__ = ["DataCheckResult", "contract_finding", "run_checks", "detect_task", "role_findings"]


def contract_finding(v: Violation) -> Finding:
    """A contract violation as a finding: a broken rule is an error (such rows would be
    refused), a broken expectation a warning (such rows would be scored and flagged)."""
    details = {"count": v.count, "examples": v.examples, "level": v.level}
    if v.level == "expectation":
        return Finding(
            check="contract",
            rule=f"expectation:{v.rule}",
            severity="warning",
            message=v.message,
            column=v.column,
            details=details,
            why="These values are outside what the training data showed; the model scores "
            "them, but on ground it never saw, and the monitor counts them.",
            fix="Nothing, if they are legitimate (new customers, a new year). To refuse such "
            f"rows instead, copy the bound under `rules:` for '{v.column}' in contract.yaml "
            "(e.g. `rules: [min, max]`), or set on_unexpected: refuse under serving/batch.",
        )
    return Finding(
        check="contract",
        rule=v.rule,
        severity="error",
        message=v.message,
        column=v.column,
        details=details,
        why="A row that breaks a rule of the contract (its type, a required column, a bound "
        "written under `rules:`) is refused by batch scoring and the API.",
        fix="Fix the data at its source, or, if the values are legitimate, edit the rule in "
        "contract.yaml and check again.",
    )


@dataclass(frozen=True)
class DataCheckResult:
    source: str
    rows: int
    columns: int
    content_hash: str
    contract_path: str
    contract_created: bool
    contract_source: str
    contract_report: ContractReport
    quality: QualityReport
    leakage: list[Finding]
    roles: list[Finding]
    task: Task | None
    notes: list[str] = field(default_factory=list)
    # "training": the file carries the target; "scoring": a file of new rows to score (it
    # lacks the target, so the target is not required and leakage cannot be checked)
    purpose: str = "training"

    @property
    def findings(self) -> list[Finding]:
        contract = [contract_finding(v) for v in self.contract_report.violations]
        return [*self.roles, *contract, *self.quality.findings, *self.leakage]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == "warning")

    @property
    def passed(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.passed,
            "source": self.source,
            "rows": self.rows,
            "columns": self.columns,
            "content_hash": self.content_hash,
            "task": self.task,
            "purpose": self.purpose,
            "errors": self.errors,
            "warnings": self.warnings,
            "contract": {
                "path": self.contract_path,
                "created": self.contract_created,
                "inferred_from": self.contract_source,
                **self.contract_report.to_dict(),
            },
            "quality": self.quality.to_dict(),
            "leakage": [f.to_dict() for f in self.leakage],
            "roles": [f.to_dict() for f in self.roles],
            "findings": [f.to_dict() for f in self.findings],
            "notes": self.notes,
        }


def detect_task(target: pd.Series, configured: str = "auto") -> Task:
    """Classification for labels (text, or few whole numbers); regression for amounts."""
    if configured in ("classification", "regression"):
        return configured  # type: ignore[return-value]
    values = target.dropna()
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return "classification"
    if values.nunique() <= 20 and bool((values % 1 == 0).all()):
        return "classification"
    return "regression"


def role_findings(df: pd.DataFrame, roles: Roles, *, needs_target: bool = True) -> list[Finding]:
    """Columns the project file names but the data lacks, and data columns with no role."""
    out: list[Finding] = []
    present = [str(c) for c in df.columns]
    for col in roles.declared:
        if col in present or (col == roles.target and not needs_target):
            continue
        if col in roles.drop:
            continue
        close = difflib.get_close_matches(col, present, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        out.append(
            Finding(
                check="roles",
                rule="declared_column_missing",
                severity="error",
                column=col,
                message=f"Column '{col}' is named in steadyml.yaml ({roles.role_of(col)}) but is "
                f"not in the data.{hint}",
                why="Training and scoring need every declared column.",
                fix="Fix the name in steadyml.yaml, or add the column to the data.",
            )
        )
    declared = set(roles.declared)
    for col in present:
        if col not in declared:
            out.append(
                Finding(
                    check="roles",
                    rule="unassigned_column",
                    severity="warning",
                    column=col,
                    message=f"Column '{col}' is in the data but has no role in steadyml.yaml, so "
                    "it is ignored.",
                    why="A column without a role is neither a feature nor checked.",
                    fix=f"Give '{col}' a role under data.columns (numeric, categorical, "
                    "text, ...), "
                    "or list it under drop with the reason.",
                )
            )
    return out


def run_checks(
    df: pd.DataFrame,
    roles: Roles,
    contract: Contract,
    *,
    task_setting: str = "auto",
    post_outcome: dict[str, str] | None = None,
    seed: int = 0,
    split_method: str = "stratified",
    test_size: float = 0.2,
    split_column: str | None = None,
    split_test_values: Sequence[str] = SPLIT_TEST_VALUES,
    progress: Progress | None = None,
    needs_target: bool = True,
) -> tuple[ContractReport, QualityReport, list[Finding], list[Finding], Task | None]:
    """Run every check on one frame; returns (contract, quality, leakage, roles, task).

    The train/test overlap check splits the rows as training would: ``split_method`` with
    ``test_size`` and ``seed``, or, for ``column``, by ``split_column`` and its
    ``split_test_values``. Where that split cannot be made on this frame (no timestamp or a
    single one, no split column or one naming a single side), it splits at random instead.
    """
    say = progress or (lambda _msg: None)
    say("Checking the data against the contract")
    report = validate(df, contract)
    say("Checking column roles")
    roles_found = role_findings(df, roles, needs_target=needs_target)
    say("Measuring data quality")
    quality = quality_report(df, roles)
    leakage: list[Finding] = []
    task: Task | None = None
    if roles.target in df.columns and df[roles.target].notna().any():
        task = detect_task(df[roles.target], task_setting)
        say("Looking for leakage (a quick model per column)")
        present = Roles(
            target=roles.target,
            id=roles.id if roles.id in df.columns else None,
            timestamp=roles.timestamp if roles.timestamp in df.columns else None,
            numeric=tuple(c for c in roles.numeric if c in df.columns),
            categorical=tuple(c for c in roles.categorical if c in df.columns),
            text=tuple(c for c in roles.text if c in df.columns),
            sensitive=tuple(c for c in roles.sensitive if c in df.columns),
            pii=tuple(c for c in roles.pii if c in df.columns),
            drop={k: v for k, v in roles.drop.items() if k in df.columns},
            sensitive_as_features=roles.sensitive_as_features,
        )
        method = _overlap_method(
            df,
            present,
            task,
            split_method,
            test_size=test_size,
            seed=seed,
            column=split_column,
            test_values=split_test_values,
        )
        leakage = check_leakage(
            df,
            present,
            task=task,
            split_method=method,
            test_size=test_size,
            seed=seed,
            post_outcome=post_outcome,
            split_column=split_column,
            split_test_values=split_test_values,
        )
    return report, quality, leakage, roles_found, task


def _overlap_method(
    df: pd.DataFrame,
    roles: Roles,
    task: Task,
    method: str,
    *,
    test_size: float,
    seed: int,
    column: str | None,
    test_values: Sequence[str],
) -> str:
    """The split the overlap check can make on ``df``: training's own where it can be made
    here, random otherwise (a regression target cannot be stratified; a file to score may
    lack the timestamp or the split column, hold a single month, or only test rows)."""
    if task == "regression" and method == "stratified":
        return "random"
    if method == "random":
        return method
    kind: SplitMethod = method  # type: ignore[assignment]
    try:
        split_rows(df, roles, kind, test_size, seed, column=column, test_values=test_values)
    except DataError:
        return "random"
    return method
