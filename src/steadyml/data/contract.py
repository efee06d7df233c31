"""The data contract: what the training data looked like, written down and enforced.

The first ``steadyml data check`` infers the contract from the training data (types,
nullability, allowed categories, numeric ranges) and saves it as ``contract.yaml`` in the
project, a file people review and edit. Later checks validate data against it with pandera
and report each violation by column and rule, with a few example rows.

The reviewable YAML file is ours (pandera's own serialisation cannot hold the role of each
column or a comment for the reader); validation is pandera's, built from that file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from steadyml.entities import Roles
from steadyml.errors import DataContractError

if TYPE_CHECKING:
    import pandas as pd

LogicalType = Literal["integer", "number", "string", "boolean", "datetime"]
MAX_CATEGORIES = 200
EXAMPLES = 3

__all__ = [
    "ColumnContract",
    "Contract",
    "ContractReport",
    "Violation",
    "infer_contract",
    "validate",
    "load_contract",
    "save_contract",
]


@dataclass
class ColumnContract:
    name: str
    role: str
    type: LogicalType
    nullable: bool = True
    required: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[Any] | None = None

    def describe(self) -> str:
        parts: list[str] = [self.type]
        if self.min is not None or self.max is not None:
            parts.append(f"between {_num(self.min)} and {_num(self.max)}")
        if self.allowed is not None:
            shown = ", ".join(map(str, self.allowed[:8]))
            more = f" (+{len(self.allowed) - 8} more)" if len(self.allowed) > 8 else ""
            parts.append(f"one of {shown}{more}")
        if not self.nullable:
            parts.append("never missing")
        return ", ".join(parts)


@dataclass
class Contract:
    columns: dict[str, ColumnContract]
    inferred_from: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def for_scoring(self, target: str) -> Contract:
        """The contract live inputs must meet: everything but the target."""
        cols = {k: v for k, v in self.columns.items() if k != target}
        return Contract(columns=cols, inferred_from=self.inferred_from, version=self.version)


@dataclass(frozen=True)
class Violation:
    column: str
    rule: str
    message: str
    count: int
    examples: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ContractReport:
    rows: int
    violations: list[Violation]
    extra_columns: list[str]
    bad_rows: int

    @property
    def passed(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "bad_rows": self.bad_rows,
            "violations": [v.to_dict() for v in self.violations],
            "extra_columns": self.extra_columns,
        }


def _num(value: float | None) -> str:
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _plain(value: Any) -> Any:
    """A YAML/JSON-friendly scalar."""
    import numpy as np
    import pandas as pd

    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        f = float(value)
        if math.isnan(f):
            return None
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.isoformat()
    return value if isinstance(value, (int, str, bool)) else str(value)


# --- type handling --------------------------------------------------------------------


def _is_bool(s: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_bool_dtype(s))


def _as_number(s: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(s) and not _is_bool(s):
        return s.astype("float64")
    return pd.to_numeric(s, errors="coerce")


def _as_datetime(s: pd.Series) -> pd.Series:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    uniques = pd.Series(s.dropna().unique())
    parsed = pd.to_datetime(uniques.astype(str), errors="coerce", format="mixed")
    mapping = dict(zip(uniques, parsed, strict=True))
    return s.map(mapping)


def logical_type(s: pd.Series) -> LogicalType:
    import pandas as pd

    if _is_bool(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        vals = s.dropna()
        if pd.api.types.is_integer_dtype(s) or (len(vals) and bool((vals % 1 == 0).all())):
            return "integer"
        return "number"
    return "string"


def _type_ok(kind: LogicalType) -> Callable[[pd.Series], pd.Series]:
    import numpy as np
    import pandas as pd

    def check(s: pd.Series) -> pd.Series:
        present = s.notna()
        if kind in ("integer", "number"):
            n = _as_number(s)
            ok = n.notna() & np.isfinite(n.fillna(0))
            if kind == "integer":
                ok &= (n.fillna(0) % 1) == 0
        elif kind == "datetime":
            ok = _as_datetime(s).notna()
        elif kind == "boolean":
            ok = s.isin([True, False, 0, 1, "true", "false", "True", "False"])
        else:
            ok = pd.Series(True, index=s.index)
        return ok | ~present

    return check


# --- inference --------------------------------------------------------------------------


def infer_contract(
    df: pd.DataFrame, roles: Roles, *, source: str = "", content_hash: str = ""
) -> Contract:
    """Infer a contract from training data, for every column the project file declares."""
    import pandas as pd

    columns: dict[str, ColumnContract] = {}
    for name in roles.declared:
        if name not in df.columns:
            continue
        role = roles.role_of(name)
        s = df[name]
        kind: LogicalType = "datetime" if role == "timestamp" else logical_type(s)
        if role == "timestamp" and not pd.api.types.is_datetime64_any_dtype(s):
            s = _as_datetime(s)
        col = ColumnContract(
            name=name, role=role, type=kind, nullable=bool(s.isna().any()), required=role != "drop"
        )
        if role in ("drop", "pii", "text", "id"):
            col.nullable = True if role in ("drop", "pii", "text") else col.nullable
        elif kind in ("integer", "number") and role not in ("categorical",):
            vals = _as_number(s).dropna()
            if len(vals) and not _looks_categorical(role, vals):
                col.min, col.max = _plain(vals.min()), _plain(vals.max())
            else:
                col.allowed = sorted(_plain(v) for v in vals.unique())
        if (
            col.allowed is None
            and role in ("categorical", "sensitive", "target")
            and (kind in ("string", "boolean", "integer"))
        ):
            values = s.dropna().unique()
            if len(values) <= MAX_CATEGORIES:
                col.allowed = sorted((_plain(v) for v in values), key=lambda v: (str(type(v)), v))
        columns[name] = col
    info = {
        "source": source,
        "content_hash": content_hash,
        "rows": len(df),
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }
    return Contract(columns=columns, inferred_from=info)


def _looks_categorical(role: str, vals: pd.Series) -> bool:
    """A numeric target with few whole-number values is a class label, not an amount."""
    return role == "target" and vals.nunique() <= 20 and bool((vals % 1 == 0).all())


# --- the reviewable file -------------------------------------------------------------------

_HEADER = """\
# The data contract of this project, inferred by `steadyml data check` from the training data.
# Review it: it is what every new batch of data and every API request must look like.
#   type      integer | number | string | boolean | datetime
#   nullable  false means the column may never be missing
#   min/max   the range seen in training; widen it if larger values are legitimate
#   allowed   the categories seen in training; add a value here when it is legitimate
# Edit and save; the next `steadyml data check` uses your version. Delete the file to infer anew.
"""


def save_contract(contract: Contract, path: Path) -> None:
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
    allowed_keys = {"role", "type", "nullable", "required", "min", "max", "allowed"}
    for name, entry in raw["columns"].items():
        if not isinstance(entry, dict):
            raise DataContractError(f"{path}: columns.{name} must be a mapping; got {entry!r}.")
        unknown = set(entry) - allowed_keys
        if unknown:
            raise DataContractError(
                f"{path}: columns.{name} has unknown key(s) {sorted(unknown)}; "
                f"allowed: {sorted(allowed_keys)}."
            )
        kind = entry.get("type", "string")
        if kind not in ("integer", "number", "string", "boolean", "datetime"):
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


# --- validation -------------------------------------------------------------------------


def _schema(contract: Contract) -> Any:
    import numpy as np
    import pandera.pandas as pa

    cols = {}
    for name, col in contract.columns.items():
        checks = [pa.Check(_type_ok(col.type), error="type", element_wise=False)]
        if col.type in ("integer", "number") and (col.min is not None or col.max is not None):
            lo = -np.inf if col.min is None else float(col.min)
            hi = np.inf if col.max is None else float(col.max)
            checks.append(
                pa.Check(
                    lambda s, lo=lo, hi=hi: _as_number(s).between(lo, hi) | _as_number(s).isna(),
                    error="range",
                )
            )
        if col.allowed is not None:
            checks.append(pa.Check(_allowed_check(col), error="allowed"))
        cols[name] = pa.Column(
            checks=checks, nullable=col.nullable, required=col.required, coerce=False
        )
    return pa.DataFrameSchema(cols, strict=False)


def _allowed_check(col: ColumnContract) -> Callable[[pd.Series], pd.Series]:

    allowed = list(col.allowed or [])
    numeric = col.type in ("integer", "number") and all(
        isinstance(a, (int, float)) and not isinstance(a, bool) for a in allowed
    )

    def check(s: pd.Series) -> pd.Series:
        if numeric:
            n = _as_number(s)
            return n.isin([float(a) for a in allowed]) | s.isna()
        as_text = s.map(lambda v: v if isinstance(v, str) else str(_plain(v)))
        return as_text.isin([str(a) for a in allowed]) | s.isna()

    return check


def _describe_violation(
    col: ColumnContract | None, column: str, rule: str, count: int, examples: list[dict[str, Any]]
) -> str:
    first = examples[0] if examples else None
    where = f" in row {first['row']}" if first and first.get("row") is not None else ""
    got = f"; got {first['value']!r}{where}" if first else ""
    more = f" ({count} rows in all)" if count > 1 else ""
    if rule == "missing_column":
        role = f" (role {col.role})" if col else ""
        return f"Column '{column}' is missing; the contract expects it{role}."
    if rule == "not_nullable":
        rows = ", ".join(str(e["row"]) for e in examples)
        return (
            f"Column '{column}' is empty in {count} row(s) (e.g. rows {rows}); "
            "the contract says it is never missing."
        )
    if col is None:
        return f"Column '{column}' broke rule '{rule}'{got}{more}."
    if rule == "type":
        kind = {"integer": "a whole number", "number": "a number"}.get(col.type, f"a {col.type}")
        return f"Column '{column}' expects {kind}{got}{more}."
    if rule == "range":
        span = f"between {_num(col.min)} and {_num(col.max)}"
        return f"Column '{column}' expects a number {span}{got}{more}."
    if rule == "allowed":
        shown = ", ".join(map(str, (col.allowed or [])[:8]))
        return f"Column '{column}' expects one of {shown}{got}{more}."
    return f"Column '{column}' broke rule '{rule}'{got}{more}."


def validate(df: pd.DataFrame, contract: Contract, *, row_offset: int = 1) -> ContractReport:
    """Validate ``df``; never raises for bad data, returns every violation.

    ``row_offset`` turns the frame's positional index into the row number people see (1 = the
    first data row under the header).
    """
    import pandas as pd
    import pandera.pandas as pa

    frame = df.reset_index(drop=True)
    violations: list[Violation] = []
    bad: set[int] = set()
    try:
        _schema(contract).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        for (column, check), group in fc.groupby(["column", "check"], dropna=False, sort=False):
            col_name = (
                str(column) if isinstance(column, str) else str(group["failure_case"].iloc[0])
            )
            rule = {"column_in_dataframe": "missing_column"}.get(str(check), str(check))
            idx = [int(i) for i in group["index"].dropna()]
            bad.update(idx)
            examples = [
                {"row": int(r["index"]) + row_offset, "value": _plain(r["failure_case"])}
                for _, r in group.head(EXAMPLES).iterrows()
                if pd.notna(r["index"])
            ]
            count = max(len(idx), 1) if rule == "missing_column" else len(idx)
            col = contract.columns.get(col_name)
            violations.append(
                Violation(
                    column=col_name,
                    rule=rule,
                    count=count,
                    examples=examples,
                    message=_describe_violation(col, col_name, rule, count, examples),
                )
            )
    extra = [c for c in map(str, frame.columns) if c not in contract.columns]
    if any(v.rule == "missing_column" for v in violations):
        bad_rows = len(frame)
    else:
        bad_rows = len(bad)
    return ContractReport(
        rows=len(frame), violations=violations, extra_columns=extra, bad_rows=bad_rows
    )
