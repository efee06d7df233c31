"""Dataset versions: a content hash that does not depend on file format or row order of
columns on disk, plus a schema hash, so "the same data" always gets the same version.

The hash covers column names, logical dtypes and every value (via pandas' vectorised
``hash_pandas_object``, fast on millions of rows), in the file's row order.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import pandas as pd

__all__ = ["Fingerprint", "fingerprint", "from_parquet_bytes", "to_parquet_bytes"]


@dataclass(frozen=True)
class Fingerprint:
    content_hash: str
    schema_hash: str
    rows: int
    columns: int


def _schema_text(df: pd.DataFrame) -> str:
    from steadyml.data.contract import logical_type

    return "\n".join(f"{c}\t{logical_type(df[c])}" for c in df.columns)


def fingerprint(df: pd.DataFrame) -> Fingerprint:
    schema = _schema_text(df)
    h = hashlib.sha256(schema.encode())
    for col in df.columns:
        s = df[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)):
            s = (
                s.astype("object")
                .where(s.notna(), None)
                .map(lambda v: v if v is None or isinstance(v, str) else str(v))
            )
        values = pd.util.hash_pandas_object(s, index=False).to_numpy()
        h.update(str(col).encode() + b"\0")
        h.update(values.tobytes())
    return Fingerprint(
        content_hash=h.hexdigest(),
        schema_hash=hashlib.sha256(schema.encode()).hexdigest(),
        rows=len(df),
        columns=len(df.columns),
    )


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow")
    return buf.getvalue()


def from_parquet_bytes(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data), engine="pyarrow")
