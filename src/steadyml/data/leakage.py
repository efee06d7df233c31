"""Leakage checks: find columns that give the answer away.

A column filled in only after the outcome is known (a cancellation reason, a refund date)
makes a model look excellent in tests and useless live, because live rows do not have it
yet. The strongest signal is a single column that predicts the target almost perfectly on
its own; names, ids and rows shared between train and test are weaker hints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from steadyml.config.schema import SPLIT_TEST_VALUES
from steadyml.data.findings import make_finding
from steadyml.data.split import split_rows
from steadyml.entities import Finding, Roles
from steadyml.errors import DataError

__all__ = ["POST_OUTCOME_WORDS", "check_leakage"]

Task = Literal["classification", "regression"]
LEAK_SCORE = 0.95
POST_OUTCOME_WORDS = (
    "cancel",
    "churn",
    "refund",
    "closed",
    "outcome",
    "result",
    "resolution",
    "termination",
    "reason",
    "_after",
    "final",
)
ID_NAMES = ("id", "uuid", "key")
_FOLDS = 3
_TOP_CATEGORIES = 50
_MIN_ROWS = 30


def check_leakage(
    df: pd.DataFrame,
    roles: Roles,
    *,
    task: Task,
    split_method: str = "stratified",
    test_size: float = 0.2,
    seed: int = 0,
    max_rows: int = 20_000,
    post_outcome: Mapping[str, str] | None = None,
    split_column: str | None = None,
    split_test_values: Sequence[str] = SPLIT_TEST_VALUES,
) -> list[Finding]:
    """Look for columns and rows that would let a model see the answer it should predict.

    Works on a deterministic sample of at most ``max_rows`` rows for the model-based check, so
    it stays quick on large tables; the same inputs always give the same findings.
    ``split_column`` and ``split_test_values`` are for ``split_method="column"`` (the
    user's own split, as ``training.split`` names it).
    """
    if task not in ("classification", "regression"):
        raise DataError(f"task must be 'classification' or 'regression'. Got {task!r} instead.")
    if roles.target not in df.columns:
        raise DataError(
            f"The target column '{roles.target}' named in steadyml.yaml is not in the data."
        )
    candidates = _candidate_columns(df, roles)
    findings = _single_column_findings(df, roles, candidates, task, seed, max_rows)
    findings += _declared_post_outcome_findings(roles, post_outcome or {})
    flagged = {f.column for f in findings if f.severity == "error"}
    findings += _post_outcome_name_findings(roles, candidates, flagged | set(post_outcome or {}))
    findings += _id_like_findings(df, roles, candidates)
    split = _Split(split_method, test_size, seed, split_column, split_test_values)
    findings += _overlap_findings(df, roles, split)
    return findings


def _candidate_columns(df: pd.DataFrame, roles: Roles) -> list[str]:
    """Declared features plus columns the project file does not mention at all."""
    not_features = {roles.target, roles.id, roles.timestamp, *roles.pii, *roles.drop}
    declared = set(roles.declared)
    cols = [c for c in roles.features if c in df.columns and c not in not_features]
    cols += [c for c in df.columns if c not in declared and c not in not_features]
    return list(dict.fromkeys(cols))


# -- single-column predictor -------------------------------------------------------------


def _single_column_findings(
    df: pd.DataFrame, roles: Roles, columns: list[str], task: Task, seed: int, max_rows: int
) -> list[Finding]:
    """Fit a small tree on each column alone; near-perfect scores point at a leak."""
    sample = _sample(df, roles.target, max_rows, seed)
    y, labels = _encode_target(sample[roles.target], task, roles.target)
    if len(y) < _MIN_ROWS:
        return []
    keep = _rows_with_enough_per_class(y) if task == "classification" else np.ones(len(y), bool)
    sample, y = sample.loc[keep], y[keep]
    if len(y) < _MIN_ROWS or (task == "classification" and len(np.unique(y)) < 2):
        return []
    folds = _folds(y, task, seed)
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor()
    baseline = _cv_score(dummy, np.zeros((len(y), 1)), y, folds, task)
    metric = "ROC AUC" if task == "classification" else "R²"
    out = []
    for col in columns:
        x = _encode_column(sample[col])
        if x is None:
            continue
        tree = (
            DecisionTreeClassifier(max_depth=4, random_state=seed)
            if task == "classification"
            else DecisionTreeRegressor(max_depth=4, random_state=seed)
        )
        score = _cv_score(tree, x, y, folds, task)
        if score >= LEAK_SCORE:
            hint = (
                _missing_hint(sample[col], y, labels, roles.target)
                if task == "classification"
                else None
            )
            out.append(_leak_finding(col, roles.target, metric, score, baseline, hint, len(y)))
    return out


def _sample(df: pd.DataFrame, target: str, max_rows: int, seed: int) -> pd.DataFrame:
    """Labelled rows, at most ``max_rows`` of them, picked the same way every time."""
    labelled = df[df[target].notna()]
    if len(labelled) <= max_rows:
        return labelled
    picks = np.random.default_rng(seed).choice(len(labelled), size=max_rows, replace=False)
    return labelled.iloc[np.sort(picks)]


def _encode_target(target: pd.Series, task: Task, name: str) -> tuple[np.ndarray, list[Any]]:
    """Class codes (with their labels) for classification, floats for regression."""
    if task == "classification":
        try:
            codes, uniques = pd.factorize(target, sort=True)
        except TypeError:  # labels of mixed types cannot be sorted; their order does not matter
            codes, uniques = pd.factorize(target)
        return codes, list(uniques)
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        raise DataError(
            f"task is 'regression' but target '{name}' is not numeric (dtype {target.dtype}).",
            hint="Use task 'classification' for labels, or convert the target to numbers.",
        )
    return target.to_numpy(dtype="float64"), []


def _rows_with_enough_per_class(y: np.ndarray) -> np.ndarray:
    """Classes with fewer rows than folds cannot be cross-validated; leave them out."""
    counts = np.bincount(y)
    return np.asarray(counts[y] >= _FOLDS)


def _folds(y: np.ndarray, task: Task, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = (
        StratifiedKFold(_FOLDS, shuffle=True, random_state=seed)
        if task == "classification"
        else KFold(_FOLDS, shuffle=True, random_state=seed)
    )
    return list(splitter.split(np.zeros(len(y)), y))


def _cv_score(
    model: Any, x: np.ndarray, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], task: Task
) -> float:
    """Out-of-fold ROC AUC (macro one-vs-rest for many classes) or R²."""
    if task == "regression":
        pred = np.empty(len(y))
        for train, test in folds:
            pred[test] = model.fit(x[train], y[train]).predict(x[test])
        return float(r2_score(y, pred))
    k = int(y.max()) + 1
    proba = np.zeros((len(y), k))
    for train, test in folds:
        model.fit(x[train], y[train])
        proba[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
    present = np.unique(y)
    if len(present) == 2:
        return float(roc_auc_score(y == present[1], proba[:, present[1]]))
    proba = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=present))


def _encode_column(values: pd.Series) -> np.ndarray | None:
    """One column as numbers a tree can split: values plus a missing flag, or category codes.

    Returns None when the column has a single value (and no gaps), as it cannot predict.
    """
    if values.nunique(dropna=True) + int(values.isna().any()) < 2:
        return None
    if pd.api.types.is_datetime64_any_dtype(values):
        values = (values - values.min()).dt.total_seconds()
    elif pd.api.types.is_timedelta64_dtype(values):
        values = values.dt.total_seconds()
    if pd.api.types.is_numeric_dtype(values):
        x = values.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(x)
        low, high = np.nanmin(x), np.nanmax(x)
        filled = np.where(missing, low - (high - low) - 1.0, x)
        return np.column_stack([filled, missing.astype("float64")])
    as_text = values.astype("object").where(values.notna(), None)
    top = as_text.value_counts(dropna=True).index[:_TOP_CATEGORIES]
    codes = pd.Index(top).get_indexer(as_text).astype("float64")  # not in top (or NaN): -1
    codes[as_text.isna().to_numpy()] = -2  # missing is its own category
    return np.asarray(codes.reshape(-1, 1))


def _missing_hint(values: pd.Series, y: np.ndarray, labels: list[Any], target: str) -> str | None:
    """Say so when a column is filled for some classes and empty for the others."""
    filled = values.notna().to_numpy()
    if filled.all() or not filled.any():
        return None
    rates = {labels[c]: float(filled[y == c].mean()) for c in np.unique(y)}
    full = [lab for lab, r in rates.items() if r >= 0.9]
    empty = [lab for lab, r in rates.items() if r <= 0.1]
    if not full or len(full) + len(empty) != len(rates):
        return None
    shown = " or ".join(str(lab) for lab in full)
    return f"only filled when {target} = {shown}"


def _leak_finding(
    col: str, target: str, metric: str, score: float, baseline: float, hint: str | None, rows: int
) -> Finding:
    message = (
        f"Column '{col}' alone predicts '{target}' almost perfectly ({metric} "
        f"{score:.2f}; doing nothing scores {baseline:.2f})."
    )
    if hint:
        message += f" It is {hint}."
    return make_finding(
        "leakage",
        "error",
        "single_column_predictor",
        message,
        col,
        "A column this strong on its own is usually filled in only after the outcome is known "
        "(post-outcome leakage) or is a copy of the target. The model will look great in tests "
        "and fail live, where the value is not there yet.",
        f"If '{col}' is only known after the outcome, move it to `drop` in steadyml.yaml with "
        "a reason. If it truly is known at prediction time, keep it and note why.",
        score=score,
        baseline=baseline,
        metric=metric,
        missing_hint=hint,
        rows_used=rows,
    )


# -- declared and name-based post-outcome columns ----------------------------------------


def _declared_post_outcome_findings(roles: Roles, post_outcome: Mapping[str, str]) -> list[Finding]:
    """Columns the user marked as known only after the outcome must not be features."""
    out = []
    for col, reason in post_outcome.items():
        if col in roles.features:
            out.append(
                make_finding(
                    "leakage",
                    "error",
                    "declared_post_outcome",
                    f"Column '{col}' is marked as known only after the outcome ({reason}) but is "
                    "still used as a feature.",
                    col,
                    "Live rows will not have this value when the prediction is made, so the model "
                    "would learn from information it cannot get.",
                    f"Move '{col}' to `drop` in steadyml.yaml with the reason: {reason}.",
                    reason=reason,
                )
            )
        else:
            out.append(
                make_finding(
                    "leakage",
                    "info",
                    "declared_post_outcome",
                    f"Column '{col}' is known only after the outcome ({reason}) and is excluded "
                    "from the features. Good.",
                    col,
                    reason=reason,
                )
            )
    return out


def _post_outcome_name_findings(
    roles: Roles, columns: list[str], skip: set[str | None]
) -> list[Finding]:
    """Names like 'cancel_date' or 'refund_reason' often hold after-the-fact information."""
    features = set(roles.features)
    out = []
    for col in columns:
        words = [w for w in POST_OUTCOME_WORDS if w in str(col).lower()]
        if not words or col in skip or col == roles.target:
            continue
        out.append(
            make_finding(
                "leakage",
                "warning" if col in features else "info",
                "post_outcome_name",
                f"Column '{col}' has a name ({', '.join(repr(w) for w in words)}) that suggests it "
                "is only known after the outcome.",
                col,
                "A value recorded after the outcome is not there when a live prediction is made.",
                f"Ask when '{col}' is filled in. If only after the outcome, move it to `drop` in "
                "steadyml.yaml with a reason; if before, keep it and note why.",
                words=words,
            )
        )
    return out


# -- id-like features --------------------------------------------------------------------


def _id_like_findings(df: pd.DataFrame, roles: Roles, columns: list[str]) -> list[Finding]:
    """Identifiers carry no pattern that carries over to new rows."""
    out = []
    for col in columns:
        reason = _id_reason(df[col], str(col), col in roles.text)
        if reason:
            out.append(
                make_finding(
                    "leakage",
                    "warning",
                    "id_like_feature",
                    f"Column '{col}' looks like an identifier: {reason}.",
                    col,
                    "An id is different for every row or customer, so any pattern the model finds "
                    "in it will not hold for new ones; it only lets the model memorise rows.",
                    f"Give '{col}' the `id` role in steadyml.yaml, or move it to `drop`.",
                    reason=reason,
                )
            )
    return out


def _id_reason(values: pd.Series, name: str, is_text: bool) -> str | None:
    low = name.lower()
    if low in ID_NAMES:
        return f"'{name}' is a usual name for an identifier"
    if low.endswith("_id"):
        return "its name ends in '_id'"
    if is_text or pd.api.types.is_bool_dtype(values):
        return None  # free text is expected to be unique
    filled = values.dropna()
    if pd.api.types.is_float_dtype(filled) and not np.all(np.mod(filled, 1) == 0):
        return None  # measurements with decimals are naturally all different
    if not (
        pd.api.types.is_numeric_dtype(filled)
        or pd.api.types.is_string_dtype(filled)
        or filled.dtype == object
    ):
        return None
    distinct = int(filled.nunique())
    if not len(filled) or distinct / len(filled) <= 0.9:
        return None
    if distinct >= 1000 or (distinct == len(filled) and distinct >= 20):
        return f"{distinct} distinct values in {len(filled)} filled rows"
    return None


# -- rows shared by train and test -------------------------------------------------------


class _Split(NamedTuple):
    """How training splits the rows (``training.split``), for the overlap check."""

    method: str
    test_size: float
    seed: int
    column: str | None
    test_values: Sequence[str]


def _overlap_findings(df: pd.DataFrame, roles: Roles, split: _Split) -> list[Finding]:
    """Rows whose features appear identically in train and in test inflate the test score."""
    cols = [c for c in roles.features if c in df.columns and c not in (roles.id, roles.timestamp)]
    if not cols:
        return []
    train, test = split_rows(
        df,
        roles,
        split.method,  # type: ignore[arg-type]
        split.test_size,
        split.seed,
        column=split.column,
        test_values=split.test_values,
    )
    count = count_overlap(df, cols, train, test)
    if not count:
        return []
    share = count / len(test)
    return [
        make_finding(
            "leakage",
            "warning" if share > 0.01 else "info",
            "train_test_overlap",
            f"{count} of {len(test)} test rows ({share:.1%}) have exactly the same feature values "
            "as a training row.",
            None,
            "The model has already seen those rows when it is tested, so the test score is better "
            "than what it will get on new data.",
            "Remove duplicate rows before splitting, or split by id or by time so the same "
            "customer or period is not in both.",
            count=count,
            share=share,
            test_rows=len(test),
            split_method=split.method,
            columns=cols,
        )
    ]


def count_overlap(df: pd.DataFrame, columns: list[str], train: pd.Index, test: pd.Index) -> int:
    """Number of test rows whose values in ``columns`` equal some training row."""
    hashes = pd.util.hash_pandas_object(df[columns], index=False)
    return int(np.isin(hashes.loc[test].to_numpy(), hashes.loc[train].to_numpy()).sum())
