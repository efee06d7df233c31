"""The candidate models and the baseline every model must beat.

A model is a decision engine with limits, so every run keeps a *baseline*: a model that
ignores the inputs and always answers with the training data's class shares (classification)
or mean (regression). If a real model cannot beat that, it has learned nothing useful.

The candidates are deliberately few and well understood:

* ``linear`` — logistic regression (classification) or ridge regression (regression): fast,
  stable, easy to explain;
* ``random_forest`` — many small decision trees averaged;
* ``hist_gradient_boosting`` — boosted trees, usually the strongest on tables.

Every estimator gets the run's seed, so the same data and settings give the same model.
"""

from __future__ import annotations

from typing import Any, Literal

from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from steadyml.errors import SteadyMLError

__all__ = ["MODEL_CHOICES", "Task", "make_baseline", "make_estimator"]

Task = Literal["classification", "regression"]
MODEL_CHOICES = ("linear", "random_forest", "hist_gradient_boosting")
_TASKS = ("classification", "regression")
_MAX_ROWS_PER_TREE = 30_000


def make_estimator(name: str, task: Task, seed: int, *, n_rows: int | None = None) -> Any:
    """A fresh, unfitted scikit-learn estimator for candidate ``name``.

    ``n_rows`` (the number of rows it will be fitted on) lets a random forest cap the rows
    each tree sees, so training time stays bounded on large tables.
    """
    _check_task(task)
    classify = task == "classification"
    if name == "linear":
        if classify:
            return LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        return Ridge(alpha=1.0)
    if name == "random_forest":
        forest = RandomForestClassifier if classify else RandomForestRegressor
        return forest(
            n_estimators=200,
            min_samples_leaf=20,  # keeps every tree (and the saved model) small
            max_features="sqrt",
            max_samples=_forest_rows(n_rows),
            n_jobs=1,
            random_state=seed,
        )
    if name == "hist_gradient_boosting":
        boosting = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        return boosting(
            max_iter=200,
            learning_rate=0.1,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,  # no hidden random validation split: same data, same model
            random_state=seed,
        )
    raise SteadyMLError(
        f"Model must be one of {', '.join(MODEL_CHOICES)}. Got {name!r} instead.",
        hint="Fix training.models in steadyml.yaml.",
    )


def make_baseline(task: Task) -> Any:
    """The model that ignores the inputs: class shares, or the mean of the target."""
    _check_task(task)
    if task == "classification":
        return DummyClassifier(strategy="prior")
    return DummyRegressor(strategy="mean")


def _forest_rows(n_rows: int | None) -> float | int:
    """Rows per tree: half the table, at most 30,000 (fast, and hardly less accurate)."""
    if n_rows is not None and n_rows * 0.5 > _MAX_ROWS_PER_TREE:
        return _MAX_ROWS_PER_TREE
    return 0.5


def _check_task(task: str) -> None:
    if task not in _TASKS:
        raise SteadyMLError(
            f"Task must be one of {', '.join(_TASKS)}. Got {task!r} instead.",
            hint="Set data.task in steadyml.yaml.",
        )
