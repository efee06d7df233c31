"""Infer a data contract from training data: types, nullability, ranges, allowed categories.

Only the columns the project file declares get a contract; each column's role decides what
is recorded (a range for amounts, the categories for labels, nothing more for ids, free text,
personal data and dropped columns).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from steadyml.data.contract.model import ColumnContract, Contract
from steadyml.data.contract.values import (
    LogicalType,
    as_datetime,
    as_number,
    logical_type,
    plain_value,
)
from steadyml.entities import Roles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_CATEGORIES", "infer_contract"]

MAX_CATEGORIES = 200


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
            s = as_datetime(s)
        col = ColumnContract(
            name=name, role=role, type=kind, nullable=bool(s.isna().any()), required=role != "drop"
        )
        if role in ("drop", "pii", "text", "id"):
            col.nullable = True if role in ("drop", "pii", "text") else col.nullable
        elif kind in ("integer", "number") and role not in ("categorical",):
            vals = as_number(s).dropna()
            if len(vals) and not _looks_categorical(role, vals):
                col.min, col.max = plain_value(vals.min()), plain_value(vals.max())
            else:
                col.allowed = sorted(plain_value(v) for v in vals.unique())
        if (
            col.allowed is None
            and role in ("categorical", "sensitive", "target")
            and (kind in ("string", "boolean", "integer"))
        ):
            values = s.dropna().unique()
            if len(values) <= MAX_CATEGORIES:
                col.allowed = sorted(
                    (plain_value(v) for v in values), key=lambda v: (str(type(v)), v)
                )
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
