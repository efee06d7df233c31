"""How the contract reads values: logical types, numbers and dates, and plain scalars.

Shared by inference, validation and batch scoring's row checks, so a value passes or fails
the same way everywhere. pandas and numpy are imported where they are used: loading a
contract (``steadyml serve``'s checks) does not import them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LogicalType",
    "as_datetime",
    "as_number",
    "format_bound",
    "logical_type",
    "plain_value",
    "type_check",
]

LogicalType = Literal["integer", "number", "string", "boolean", "datetime"]


def format_bound(value: float | None) -> str:
    """A range bound as people write it: ``3`` not ``3.0``; no bound is ``-inf``."""
    if value is None:
        return "-inf"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def plain_value(value: Any) -> Any:
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


def _is_bool(s: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_bool_dtype(s))


def as_number(s: pd.Series) -> pd.Series:
    """The values as floats; what is not a number becomes NaN (booleans are not numbers)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(s) and not _is_bool(s):
        return s.astype("float64")
    return pd.to_numeric(s, errors="coerce")


def as_datetime(s: pd.Series) -> pd.Series:
    """The values as timestamps (each distinct text parsed once); what is no date is NaT."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s):
        return s
    uniques = pd.Series(s.dropna().unique())
    parsed = pd.to_datetime(uniques.astype(str), errors="coerce", format="mixed")
    mapping = dict(zip(uniques, parsed, strict=True))
    return s.map(mapping)


def logical_type(s: pd.Series) -> LogicalType:
    """The contract type of a column: boolean, datetime, integer, number or string."""
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


def type_check(kind: LogicalType) -> Callable[[pd.Series], pd.Series]:
    """A check that each value has type ``kind`` (a missing value passes)."""
    import numpy as np
    import pandas as pd

    def check(s: pd.Series) -> pd.Series:
        present = s.notna()
        if kind in ("integer", "number"):
            n = as_number(s)
            ok = n.notna() & np.isfinite(n.fillna(0))
            if kind == "integer":
                ok &= (n.fillna(0) % 1) == 0
        elif kind == "datetime":
            ok = as_datetime(s).notna()
        elif kind == "boolean":
            ok = s.isin([True, False, 0, 1, "true", "false", "True", "False"])
        else:
            ok = pd.Series(True, index=s.index)
        return ok | ~present

    return check
