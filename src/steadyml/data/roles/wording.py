"""How role guessing shows values and names in its reasons and warnings."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["examples", "name_list", "show"]


def examples(values: pd.Series, n: int, *, sort: bool = False) -> str:
    """The first ``n`` distinct values, shown (``'a', 'b', ...`` when there are more)."""
    unique = pd.unique(values.to_numpy())
    if sort:
        with contextlib.suppress(TypeError):
            unique = np.sort(unique)
    shown = [show(v) for v in unique[:n]]
    return ", ".join(shown) + (", ..." if len(unique) > n else "")


def show(value: object) -> str:
    """One value as a reader expects it: text quoted (cut at 30), whole floats without '.0'."""
    if isinstance(value, str):
        return repr(value if len(value) <= 30 else value[:27] + "...")
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def name_list(names: Sequence[str]) -> str:
    """Column names quoted, at most ten (``... and 3 more``)."""
    shown = ", ".join(f"'{n}'" for n in names[:10])
    return shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")
