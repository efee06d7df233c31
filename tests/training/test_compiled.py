"""The compiled linear scorer gives scikit-learn's numbers, or is not used at all."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.entities import Roles
from steadyml.errors import DataError
from steadyml.samples.churn import make_churn_history
from steadyml.training.compiled import CompiledLinear, compile_pipeline, fast_model
from steadyml.training.estimators import make_estimator
from steadyml.training.features import build_pipeline

NUMERIC = ("tenure_months", "monthly_charges", "total_charges", "data_usage_gb", "support_calls")
CATEGORICAL = ("contract", "payment_method", "plan", "region")
CODES = {"support_calls": [-1]}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = make_churn_history(n_customers=600, months=2, seed=3)
    return frame.reset_index(drop=True)


def _fit(data: pd.DataFrame, target: str, task: str, model: str = "linear") -> Any:
    numeric = tuple(c for c in NUMERIC if c != target)
    categorical = tuple(c for c in CATEGORICAL if c != target)
    roles = Roles(target=target, numeric=numeric, categorical=categorical)
    pipe = build_pipeline(roles, make_estimator(model, task, 0), CODES)  # type: ignore[arg-type]
    return pipe.fit(data[[*numeric, *categorical]], data[target])


@pytest.fixture(scope="module")
def binary(data: pd.DataFrame) -> Any:
    return _fit(data, "churned", "classification")


def _rows(data: pd.DataFrame, draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 40))
    picks = draw(st.lists(st.integers(0, len(data) - 1), min_size=n, max_size=n))
    frame = data.iloc[picks].reset_index(drop=True).astype(object)
    for col in (*NUMERIC, *CATEGORICAL):
        for i in range(n):
            roll = draw(st.integers(0, 9))
            if roll == 0:
                frame.at[i, col] = None
            elif roll == 1 and col in CATEGORICAL:
                frame.at[i, col] = draw(st.sampled_from(["never-seen", "", "42"]))
            elif roll == 1 and col == "support_calls":
                frame.at[i, col] = -1  # the missing code
            elif roll == 2 and col in NUMERIC:
                frame.at[i, col] = draw(st.floats(-1e4, 1e4, allow_nan=False))
    return frame


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_binary_probabilities_equal_scikit_learn(binary: Any, data: pd.DataFrame,
                                                 draw: Any) -> None:  # fmt: skip
    compiled = compile_pipeline(binary)
    assert isinstance(compiled, CompiledLinear)
    frame = _rows(data, draw.draw)
    np.testing.assert_allclose(compiled.predict_proba(frame), binary.predict_proba(frame),
                               rtol=0, atol=1e-9)  # fmt: skip
    assert compiled.predict(frame).tolist() == binary.predict(frame).tolist()


def test_multiclass_and_regression_equal_scikit_learn(data: pd.DataFrame) -> None:
    multi = _fit(data, "contract", "classification")
    compiled = compile_pipeline(multi)
    assert compiled is not None and compiled.kind == "multinomial"
    sample = data.sample(200, random_state=1)
    np.testing.assert_allclose(compiled.predict_proba(sample), multi.predict_proba(sample),
                               rtol=0, atol=1e-9)  # fmt: skip
    ridge = _fit(data, "monthly_charges", "regression")
    compiled_r = compile_pipeline(ridge)
    assert compiled_r is not None and compiled_r.kind == "regression"
    np.testing.assert_allclose(compiled_r.predict(sample), ridge.predict(sample),
                               rtol=1e-12, atol=1e-9)  # fmt: skip


def test_other_pipelines_keep_the_pipeline(data: pd.DataFrame) -> None:
    # words feeding trees are not compiled (every family alone is: test_tree_form.py)
    frame = data.assign(notes=data["plan"].astype(str) + " plan in " + data["region"].astype(str))
    roles = Roles(target="churned", numeric=NUMERIC, categorical=CATEGORICAL, text=("notes",))
    trees = build_pipeline(roles, make_estimator("random_forest", "classification", 0), CODES)
    trees.set_params(model__n_estimators=5).fit(frame[list(roles.features)], frame["churned"])
    assert compile_pipeline(trees) is None
    assert fast_model(trees) is trees
    assert compile_pipeline(object()) is None


def test_bad_values_raise_the_pipelines_error(binary: Any, data: pd.DataFrame) -> None:
    compiled = compile_pipeline(binary)
    assert compiled is not None
    frame = data.head(3).astype(object)
    frame.at[1, "tenure_months"] = "about a year"
    with pytest.raises(DataError, match="'tenure_months' expects a number"):
        binary.predict_proba(frame)
    with pytest.raises(DataError, match="'tenure_months' expects a number"):
        compiled.predict_proba(frame)
    with pytest.raises(DataError, match="needs column"):
        compiled.predict_proba(frame.drop(columns=["plan"]))
