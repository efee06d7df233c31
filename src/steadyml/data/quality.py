"""Data quality: what a beginner should know about a table before training on it.

Missing values, duplicate rows and keys, constant columns, class balance, sentinel codes
(the detector is ``data.sentinels``, shared with ``steadyml init``) and outliers.

Each finding names the column and the values, says why it matters and what to do. The
report also keeps the plain numbers (missing rates, duplicates, class balance) so the CLI
and the dashboard can show them without recomputing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steadyml.data.findings import make_finding
from steadyml.data.sentinels import find_sentinels
from steadyml.entities import Finding, Roles, Severity

__all__ = ["QualityReport", "quality_report"]

MISSING_WARN, MISSING_ERROR = 0.05, 0.50
NEAR_CONSTANT_SHARE = 0.99
MINORITY_INFO, MINORITY_WARN = 0.10, 0.05
OUTLIER_IQR, OUTLIER_SHARE = 3.0, 0.01
MAX_CLASSES = 20
_MISSING_CODES_FIX = (
    "Tell steadyml the code means missing: in steadyml.yaml, under `data:`, add "
    "`missing_codes: {{{col}: [{code}]}}` — or clean it at the source."
)


@dataclass(frozen=True)
class QualityReport:
    """Plain numbers about a table plus the findings worth acting on."""

    rows: int
    columns: int
    missing: dict[str, float]
    duplicate_rows: int
    duplicate_keys: int | None
    class_balance: dict[Any, float] | None
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.class_balance is not None:
            d["class_balance"] = {str(k): v for k, v in self.class_balance.items()}
        return d


def quality_report(
    df: pd.DataFrame,
    roles: Roles,
    *,
    missing_codes: Mapping[str, Sequence[float | int | str]] | None = None,
) -> QualityReport:
    """Measure a table and list what could hurt a model trained on it.

    ``missing_codes`` (column -> codes, from steadyml.yaml) are counted as missing, so a code
    the user already declared is neither reported again nor treated as a real value.
    """
    df = _apply_missing_codes(df, missing_codes or {})
    missing = (
        {str(c): float(r) for c, r in df.isna().mean().items()}
        if len(df)
        else {str(c): 0.0 for c in df.columns}
    )
    dup_rows = int(df.duplicated().sum()) if len(df) else 0
    dup_keys, key_cols = _duplicate_keys(df, roles)
    balance = _class_balance(df, roles)

    findings: list[Finding] = []
    findings += _missing_findings(missing, roles)
    findings += _duplicate_findings(len(df), dup_rows, dup_keys, key_cols)
    findings += _constant_findings(df, roles)
    findings += _imbalance_findings(balance, roles)
    for col in _numeric_checkable(df, roles):
        values = df[col].to_numpy(dtype="float64", na_value=np.nan)
        sentinels = find_sentinels(values)
        findings += [_sentinel_finding(col, s.code, s.count, len(df)) for s in sentinels]
        findings += _outlier_findings(col, values, [s.code for s in sentinels])
    return QualityReport(
        rows=len(df),
        columns=df.shape[1],
        missing=missing,
        duplicate_rows=dup_rows,
        duplicate_keys=dup_keys,
        class_balance=balance,
        findings=findings,
    )


def _apply_missing_codes(df: pd.DataFrame, codes: Mapping[str, Sequence[Any]]) -> pd.DataFrame:
    """A copy where declared missing codes are NaN; the caller's frame stays untouched."""
    present = {c: list(v) for c, v in codes.items() if c in df.columns and v}
    if not present:
        return df
    df = df.copy()
    for col, values in present.items():
        df[col] = df[col].mask(df[col].isin(values))
    return df


def _pct(share: float) -> str:
    return f"{share:.1%}" if share >= 0.001 or share == 0 else f"{share:.2%}"


# -- missing values and duplicates -------------------------------------------------------


def _missing_findings(missing: dict[str, float], roles: Roles) -> list[Finding]:
    """Columns with many gaps: the model sees guesses instead of facts for those rows."""
    out = []
    for col, rate in missing.items():
        if rate <= MISSING_WARN or col in roles.drop:
            continue
        # Gaps can be imputed, so only a mostly-empty target blocks training.
        severity: Severity = "error" if rate > MISSING_ERROR and col == roles.target else "warning"
        if col == roles.target:
            why = "Rows without a target value cannot be used to train or to test the model."
            fix = "Find the missing labels, or drop those rows before training."
        else:
            why = (
                "Missing values are filled with a guess when training; with this many, the "
                "column may mislead the model, and live data may be missing in other ways."
            )
            fix = (
                f"Find out why '{col}' is empty so often. Fill it at the source, or move it "
                "to `drop` in steadyml.yaml with a reason."
            )
        out.append(
            make_finding(
                "quality",
                severity,
                "missing_values",
                f"Column '{col}' is missing in {_pct(rate)} of rows.",
                col,
                why,
                fix,
                missing_rate=rate,
            )
        )
    return out


def _duplicate_keys(df: pd.DataFrame, roles: Roles) -> tuple[int | None, list[str]]:
    """Rows that repeat the (id, timestamp) key — or the id alone when there is no time."""
    if not roles.id or roles.id not in df.columns:
        return None, []
    keys = [roles.id]
    if roles.timestamp and roles.timestamp in df.columns:
        keys.append(roles.timestamp)
    return int(df.duplicated(subset=keys).sum()), keys


def _duplicate_findings(
    rows: int, dup_rows: int, dup_keys: int | None, key_cols: list[str]
) -> list[Finding]:
    """Copies make a model over-confident and can put the same row in train and in test."""
    out = []
    if dup_rows:
        share = dup_rows / rows
        out.append(
            make_finding(
                "quality",
                "warning" if share > 0.01 else "info",
                "duplicate_rows",
                f"{dup_rows} row(s) ({_pct(share)}) are exact copies of an earlier row.",
                None,
                "Copied rows count twice when training and can land in both train and test, "
                "which makes the test score look better than the model is.",
                "Check whether the data was loaded twice; if so, remove the copies "
                "(df.drop_duplicates()).",
                count=dup_rows,
                share=share,
            )
        )
    if dup_keys:
        key = " + ".join(f"'{k}'" for k in key_cols)
        out.append(
            make_finding(
                "quality",
                "warning",
                "duplicate_keys",
                f"{dup_keys} row(s) repeat a key ({key}) that should be unique.",
                key_cols[0],
                "Each key should describe one thing at one time; repeated keys usually mean a "
                "bad join or a double load, and the copies may disagree with each other.",
                "Find the repeated keys (df[df.duplicated(subset=[...], keep=False)]) and keep "
                "one row per key.",
                count=dup_keys,
                key_columns=key_cols,
            )
        )
    return out


# -- constant columns and class balance --------------------------------------------------


def _constant_findings(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """Columns with (almost) one value teach the model nothing and can break on live data."""
    out = []
    for col in df.columns:
        if col in roles.drop or col in (roles.id, roles.timestamp):
            continue
        counts = df[col].value_counts(dropna=True)
        if counts.empty:
            continue
        top_value, top_share = _plain(counts.index[0]), float(counts.iloc[0] / counts.sum())
        if len(counts) == 1:
            out.append(_constant_finding(col, top_value, col == roles.target))
        elif top_share >= NEAR_CONSTANT_SHARE and col != roles.target:
            out.append(
                make_finding(
                    "quality",
                    "info",
                    "near_constant_column",
                    f"Column '{col}' is {top_value!r} in {_pct(top_share)} of filled rows.",
                    col,
                    "A column that barely changes gives the model little to learn from, and the "
                    "few other values may be typos or rare cases it cannot learn well.",
                    "Check the rare values; if the column carries no real signal, move it to "
                    "`drop` in steadyml.yaml with a reason.",
                    value=top_value,
                    share=top_share,
                )
            )
    return out


def _constant_finding(col: str, value: Any, is_target: bool) -> Finding:
    if is_target:
        return make_finding(
            "quality",
            "error",
            "constant_column",
            f"Target '{col}' has only one value ({value!r}); there is nothing to predict.",
            col,
            "A model needs examples of every outcome to learn how to tell them apart.",
            "Check the data covers both outcomes (for example churned and stayed).",
            value=value,
        )
    return make_finding(
        "quality",
        "warning",
        "constant_column",
        f"Column '{col}' has the same value ({value!r}) in every filled row.",
        col,
        "A column that never changes cannot help a prediction; if live data ever differs, "
        "the model meets a value it has never seen.",
        f"Move '{col}' to `drop` in steadyml.yaml with a reason such as 'constant'.",
        value=value,
    )


def _class_balance(df: pd.DataFrame, roles: Roles) -> dict[Any, float] | None:
    """Share of each label, for targets that look like classes (at most 20 values)."""
    if roles.target not in df.columns:
        return None
    target = df[roles.target]
    counts = target.value_counts(normalize=True, dropna=True)
    if counts.empty or len(counts) > MAX_CLASSES:
        return None
    return {_plain(k): float(v) for k, v in counts.items()}


def _imbalance_findings(balance: dict[Any, float] | None, roles: Roles) -> list[Finding]:
    """A rare class makes accuracy look good while the model ignores that class."""
    if not balance or len(balance) < 2:
        return []
    label, share = min(balance.items(), key=lambda kv: kv[1])
    if share >= MINORITY_INFO:
        return []
    return [
        make_finding(
            "quality",
            "warning" if share < MINORITY_WARN else "info",
            "class_imbalance",
            f"Target '{roles.target}' = {label!r} is only {_pct(share)} of labelled rows.",
            roles.target,
            f"A model that never predicts {label!r} is still right {_pct(1 - share)} of the time, "
            "so accuracy will mislead.",
            "Judge the model on recall, precision and ROC AUC for the rare class, not accuracy.",
            label=label,
            share=share,
        )
    ]


# -- numeric columns: sentinel codes and outliers ----------------------------------------


def _numeric_checkable(df: pd.DataFrame, roles: Roles) -> list[str]:
    """Numeric columns whose values are measurements (not ids, personal data or labels)."""
    skip = {roles.target, roles.id, roles.timestamp, *roles.pii, *roles.drop}
    return [
        c
        for c in df.columns
        if c not in skip
        and pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]


def _sentinel_finding(col: str, code: Any, count: int, rows: int) -> Finding:
    return make_finding(
        "quality",
        "warning",
        "sentinel_code",
        f"Column '{col}' uses {code!r} in {count} row(s), far outside its other values; "
        "it looks like a code for 'unknown'.",
        col,
        f"The model will treat {code!r} as a real amount, which bends what it learns about "
        f"'{col}' and any averages computed from it.",
        _MISSING_CODES_FIX.format(col=col, code=code),
        code=code,
        count=count,
        share=count / rows if rows else 0.0,
    )


def _outlier_findings(col: str, values: np.ndarray, codes: list[Any]) -> list[Finding]:
    """Values beyond 3 times the IQR of the quartiles, when they are more than 1% of rows."""
    real = values[~np.isnan(values)]
    if codes:
        real = real[~np.isin(real, codes)]
    if len(real) < 20:
        return []
    # A non-negative, right-skewed column (amounts, usage) has a long tail of real values:
    # judge it on a log scale so that the tail itself is not called an outlier.
    skewed = bool(real.min() >= 0 and np.mean(real) > np.median(real) * 1.2)
    scale = np.log1p(real) if skewed else real
    q1, q3 = np.quantile(scale, [0.25, 0.75])
    iqr = float(q3 - q1)
    if iqr <= 0:
        return []
    low, high = q1 - OUTLIER_IQR * iqr, q3 + OUTLIER_IQR * iqr
    if skewed:
        low, high = float(np.expm1(low)), float(np.expm1(high))
    below, above = int((real < low).sum()), int((real > high).sum())
    count = below + above
    share = count / len(values)
    if share <= OUTLIER_SHARE:
        return []
    where = (
        f"above {high:.4g}"
        if not below
        else f"below {low:.4g}"
        if not above
        else f"outside {low:.4g} to {high:.4g}"
    )
    return [
        make_finding(
            "quality",
            "warning",
            "outliers",
            f"Column '{col}' has {count} value(s) ({_pct(share)} of rows) {where}, more than 3 "
            "times the middle half's spread beyond the quartiles.",
            col,
            "Extreme values can be typos, unit mix-ups, or a long tail of real cases; they pull "
            "many models towards themselves.",
            f"Look at the extreme rows of '{col}'. Fix typos at the source; if they are real "
            "(a long tail), keep them (tree models cope well) or cap them.",
            count=count,
            below=below,
            above=above,
            share=share,
            low=float(low),
            high=float(high),
        )
    ]


def _plain(value: Any) -> Any:
    """A numpy scalar as the plain Python value, so reports serialise to JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
