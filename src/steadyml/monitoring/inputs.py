"""Logged inputs in the contract's type, labelled the way the training reference labels them.

The prediction log holds each input as whatever path logged it: an API answer keeps the JSON
value (``1``, ``true``), a refused API record its raw JSON, a batch file integers as floats
(``1.0``) and booleans as the file's text (``"False"``), a refused batch row its text, and a
window joins them (pandas then turns a 0/1 column into floats). The training reference read
the column from the training file (``1``; ``1.0`` when it had a gap). Compared as they are,
the two sides share no category and a stable 0/1 flag reads as the largest drift there is.

So before anything is measured, each feature is read in the type the data contract stored
with the model version gives it (``ModelVersion.contract["columns"][name]["type"]``):

* numeric features become numbers; text that is not a number (a refused row) is missing;
* categorical features become canonical labels (``steadyml.training.reference.category_label``:
  ``1``, ``1.0`` and ``"1"`` are ``"1"``); in a boolean column ``1``/``0``, ``"yes"``/``"no"``
  and the like are first read as ``True``/``False``;
* the project's missing codes (``data.missing_codes``) become missing values.

The reference's own labels go through the same reading (``canonical_summary``): summaries
written before labels were canonical (``"1.0"``) still compare, counts of labels that turn
out equal are merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from steadyml.training.reference import OTHER, category_label, category_labels

__all__ = [
    "as_contract_type",
    "canonical_summary",
    "code_labels",
    "contract_types",
    "labels_in_type",
    "numeric_values",
    "typed_inputs",
]

_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


def contract_types(contract: Mapping[str, Any] | None) -> dict[str, str]:
    """Each column's contract type (integer, number, string, boolean, datetime) by name."""
    columns = (contract or {}).get("columns") or {}
    return {
        str(name): str(col["type"])
        for name, col in columns.items()
        if isinstance(col, Mapping) and col.get("type")
    }


def numeric_values(series: pd.Series, codes: Sequence[Any] | None) -> pd.Series:
    """A column as numbers: text that is not a number and the numeric missing codes become
    NaN."""
    values = pd.to_numeric(series, errors="coerce")
    if codes:
        values = values.where(~values.isin([c for c in codes if isinstance(c, int | float)]))
    return values


def as_contract_type(values: pd.Series, kind: str | None) -> pd.Series:
    """The values in the contract type ``kind`` where they parse; the others as they are.

    ``integer`` / ``number``: numbers (``"1"`` -> 1.0). ``boolean``: ``True`` / ``False``
    from booleans, 1/0 and the usual words (true/false, yes/no, t/f, y/n, on/off, any case).
    A value that does not parse is kept, so it shows as a category never seen in training.
    """
    if kind in ("integer", "number"):
        numbers = pd.to_numeric(values, errors="coerce")
        if pd.api.types.is_bool_dtype(values):
            return numbers
        return numbers.astype(object).where(numbers.notna() | values.isna(), values)
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(values):
            return values
        codes, uniques = pd.factorize(values, use_na_sentinel=True)  # True == 1 here: fine
        read = [_as_bool(u) for u in uniques]
        out = pd.Series([None if c < 0 else read[c] for c in codes], index=values.index)
        return out.astype(object)
    return values


def _as_bool(value: Any) -> Any:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.number):
        return {1.0: True, 0.0: False}.get(float(value), value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return value


def labels_in_type(values: pd.Series, kind: str | None) -> pd.Series:
    """Canonical labels of the values read in the contract type ``kind``."""
    return category_labels(as_contract_type(values, kind))


def typed_inputs(
    frame: pd.DataFrame,
    features: Mapping[str, Mapping[str, Any]],
    codes: Mapping[str, Sequence[Any]],
    types: Mapping[str, str] | None = None,
) -> None:
    """In place: each feature of ``features`` (the model version's summaries) in the contract
    type ``types`` gives it, numeric ones as numbers and categorical ones as canonical labels,
    with the feature's missing codes (``-1``, ``"unknown"``) as missing values."""
    kinds = types or {}
    for name, summary in features.items():
        if name not in frame.columns:
            continue
        if summary.get("kind") == "numeric":
            frame[name] = numeric_values(frame[name], codes.get(name))
        elif summary.get("kind") == "categorical":
            labels = labels_in_type(frame[name], kinds.get(name))
            blank = code_labels(codes.get(name), kinds.get(name))
            frame[name] = labels.where(~labels.isin(blank), None) if blank else labels
        elif codes.get(name):
            frame[name] = frame[name].where(~frame[name].isin(codes[name]))


def code_labels(codes: Sequence[Any] | None, kind: str | None = None) -> list[str]:
    """The canonical labels of a column's missing codes."""
    if not codes:
        return []
    labels = labels_in_type(pd.Series(list(codes), dtype=object), kind)
    return [str(v) for v in labels.dropna()]


def canonical_summary(summary: Mapping[str, Any], kind: str | None = None) -> dict[str, Any]:
    """A categorical feature summary with canonical labels (read in the contract type
    ``kind``); shares and counts of labels that become equal are added up. Other summaries
    are returned as they are."""
    out = dict(summary)
    if summary.get("kind") != "categorical":
        return out
    for key in ("frequencies", "counts"):
        block = summary.get(key)
        if block:
            out[key] = _relabel(block, kind)
    return out


def _relabel(block: Mapping[str, Any], kind: str | None) -> dict[str, Any]:
    names = [str(k) for k in block]
    labels = labels_in_type(pd.Series(names, dtype=object), kind).tolist()
    merged: dict[str, Any] = {}
    for name, label in zip(names, labels, strict=True):
        key = name if name == OTHER else str(label if label is not None else category_label(name))
        merged[key] = merged.get(key, 0) + block[name]
    return merged
