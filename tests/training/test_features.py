"""The training pipeline: one object from raw rows to predictions, the same at serving time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from steadyml.entities import Roles
from steadyml.errors import DataError
from steadyml.training import build_pipeline, make_estimator
from steadyml.training.features import (
    TEXT_MAX_FEATURES_DENSE,
    TEXT_MAX_FEATURES_SPARSE,
    PrepareColumns,
    feature_kinds,
)

ROLES = Roles(
    target="y",
    id="row_id",
    numeric=("age", "calls"),
    categorical=("plan",),
    text=("note",),
    sensitive=("gender",),
    pii=("email",),
    drop={"leak": "known only after the outcome"},
)


def make_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n).astype(float)
    plan = rng.choice(["basic", "plus", "pro"], n)
    y = ((age > 45) ^ (plan == "pro")).astype(int)
    return pd.DataFrame(
        {
            "row_id": np.arange(n),
            "age": age,
            "calls": rng.integers(-1, 6, n),
            "plan": plan,
            "note": rng.choice(["late payment again", "happy customer", "asked about price"], n),
            "gender": rng.choice(["f", "m"], n),
            "email": [f"u{i}@example.org" for i in range(n)],
            "leak": y,
            "y": y,
        }
    )


def fitted(estimator_name: str = "linear") -> tuple[object, pd.DataFrame]:
    df = make_frame()
    pipe = build_pipeline(
        ROLES, make_estimator(estimator_name, "classification", 0), {"calls": [-1]}
    )
    pipe.fit(df, df["y"])
    return pipe, df


def test_sensitive_pii_id_and_dropped_columns_are_not_features() -> None:
    pipe, _ = fitted()
    used = set(pipe.named_steps["prepare"].feature_names_in_)
    assert used == {"age", "calls", "plan", "note"}
    names = " ".join(pipe.named_steps["encode"].get_feature_names_out())
    for col in ("gender", "email", "leak", "row_id"):
        assert col not in names


def test_sensitive_columns_become_features_only_when_asked() -> None:
    roles = Roles(target="y", numeric=("age",), sensitive=("gender",), sensitive_as_features=True)
    assert feature_kinds(roles) == {"numeric": ("age",), "categorical": ("gender",), "text": ()}


def test_pipeline_ignores_extra_columns_and_column_order() -> None:
    pipe, df = fitted()
    expected = pipe.predict_proba(df)
    shuffled = df[list(reversed(df.columns))].assign(brand_new=1, another="x")
    np.testing.assert_allclose(pipe.predict_proba(shuffled), expected)
    only_features = df[["note", "plan", "calls", "age"]]
    np.testing.assert_allclose(pipe.predict_proba(only_features), expected)


@pytest.mark.parametrize("name", ["linear", "random_forest", "hist_gradient_boosting"])
def test_unseen_categories_and_missing_values_at_predict_time(name: str) -> None:
    pipe, df = fitted(name)
    messy = df.head(4).copy()
    messy["plan"] = ["never-seen-plan", None, np.nan, "basic"]
    messy["age"] = [np.nan, None, 30.0, 50.0]
    messy["note"] = [None, "", "completely new words here", "happy"]
    messy["calls"] = [-1, None, 3, 2]
    proba = pipe.predict_proba(messy)
    assert proba.shape == (4, 2)
    assert np.isfinite(proba).all()


def test_missing_codes_become_missing_values() -> None:
    step = PrepareColumns(
        numeric=("calls",), categorical=("plan",), missing_codes={"calls": [-1], "plan": ["?"]}
    )
    frame = pd.DataFrame({"calls": [-1, 2, None], "plan": ["?", "pro", None]})
    out = step.fit(frame).transform(frame)
    assert np.isnan(out["calls"].iloc[0]) and out["calls"].iloc[1] == 2.0
    assert out["plan"].tolist() == ["__missing__", "pro", "__missing__"]


def test_missing_codes_are_applied_inside_the_pipeline() -> None:
    pipe, df = fitted()
    a = df.head(1).assign(calls=-1)
    b = df.head(1).assign(calls=np.nan)
    np.testing.assert_allclose(pipe.predict_proba(a), pipe.predict_proba(b))


def test_a_word_in_a_numeric_column_names_the_column_and_row() -> None:
    pipe, df = fitted()
    bad = df.head(3).astype({"age": object})
    bad.loc[1, "age"] = "abc"
    with pytest.raises(DataError, match=r"Column 'age' expects a number; got 'abc' in row 1"):
        pipe.predict(bad)


def test_a_missing_feature_column_is_named() -> None:
    pipe, df = fitted()
    with pytest.raises(DataError, match="'plan'"):
        pipe.predict(df.drop(columns=["plan"]))


def test_dense_only_model_with_text_keeps_text_features_bounded() -> None:
    pipe, df = fitted("hist_gradient_boosting")
    encoded = pipe[:-1].transform(df)
    assert isinstance(encoded, np.ndarray)
    assert encoded.shape[1] < 250


def test_sparse_capable_model_gets_the_larger_text_vocabulary() -> None:
    pipe = build_pipeline(ROLES, LogisticRegression(max_iter=500))
    dense = build_pipeline(ROLES, make_estimator("hist_gradient_boosting", "classification", 0))
    sparse_words = pipe.named_steps["encode"].transformers[-1][1].max_features
    dense_words = dense.named_steps["encode"].transformers[-1][1].max_features
    assert sparse_words == TEXT_MAX_FEATURES_SPARSE > dense_words == TEXT_MAX_FEATURES_DENSE


def test_no_feature_columns_is_an_error() -> None:
    with pytest.raises(DataError, match="No columns are left to learn from"):
        build_pipeline(Roles(target="y", pii=("email",)), LogisticRegression())


@pytest.mark.slow
def test_fitted_pipeline_survives_pickling_and_cloning() -> None:
    import pickle

    from sklearn.base import clone

    pipe, df = fitted("hist_gradient_boosting")
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(df), pipe.predict_proba(df))
    refit = clone(pipe).fit(df, df["y"])
    np.testing.assert_array_equal(refit.predict_proba(df), pipe.predict_proba(df))
