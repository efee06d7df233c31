"""Text columns in a linear model's serving form: the tf-idf values replayed bit for bit
(``forms.text``) and the model's answers equal to scikit-learn's to 1e-9."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from steadyml.entities import Roles
from steadyml.forms.linear import CompiledLinear
from steadyml.forms.serving import ServingForm
from steadyml.registry import ModelBundle, dump_serving_form
from steadyml.samples.churn import make_churn_history
from steadyml.training.compiled import _words, compile_pipeline
from steadyml.training.estimators import make_estimator
from steadyml.training.features import build_pipeline

WORDS = ["Great", "service", "slow", "internet", "billing", "ISSUE", "café", "très", "bien",
         "über", "İstanbul", "straße", "fiber_optic", "5G", "a", "x1", "ok", "OK", "Ok"]  # fmt: skip
DOCS = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=12).map(
    lambda parts: st_join(parts)
)


def st_join(parts: list[str]) -> str:
    seps = [" ", ", ", "!", "\t", "-", "..."]
    return "".join(p + seps[i % len(seps)] for i, p in enumerate(parts))


def _corpus(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, rng.integers(0, 9))) for _ in range(n)]


@pytest.mark.parametrize(
    "settings_",
    [{"dtype": np.float32, "max_features": 12}, {}, {"sublinear_tf": True, "lowercase": False},
     {"norm": None, "use_idf": False}, {"token_pattern": r"(?u)\b\w+\b", "smooth_idf": False}],
)  # fmt: skip
@settings(max_examples=25, deadline=None)
@given(docs=st.lists(DOCS, min_size=1, max_size=8))
def test_tfidf_values_are_the_same_floats(settings_: dict[str, Any], docs: list[str]) -> None:
    vectorizer = TfidfVectorizer(**settings_).fit(_corpus(80, 1))
    expected = vectorizer.transform(docs).tocsr()
    expected.sort_indices()
    indptr, cols, values = _words(vectorizer).rows(docs)
    assert indptr.tolist() == expected.indptr.tolist()
    assert cols.tolist() == expected.indices.tolist()
    assert values.dtype == expected.data.dtype
    assert values.tobytes() == expected.data.tobytes()  # bit for bit


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = make_churn_history(n_customers=300, months=2, seed=5).reset_index(drop=True)
    notes = _corpus(len(frame), 2)
    frame["notes"] = [f"{n} {p}" for n, p in zip(notes, frame["plan"].astype(str), strict=True)]
    frame.loc[::13, "notes"] = None
    return frame


CASES = [("churned", "classification"), ("contract", "classification"),
         ("monthly_charges", "regression")]  # fmt: skip


def _fit(data: pd.DataFrame, target: str, task: str) -> Any:
    numeric = tuple(c for c in ("tenure_months", "monthly_charges", "support_calls") if c != target)
    categorical = tuple(c for c in ("contract", "plan") if c != target)
    roles = Roles(target=target, numeric=numeric, categorical=categorical, text=("notes",))
    pipe = build_pipeline(roles, make_estimator("linear", task, 0), {"support_calls": [-1]})  # type: ignore[arg-type]
    return pipe.fit(data[list(roles.features)], data[target])


@pytest.mark.slow
@pytest.mark.parametrize(("target", "task"), CASES)
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(draw=st.data())
def test_a_linear_model_with_words_equals_scikit_learn(
    data: pd.DataFrame, target: str, task: str, draw: Any
) -> None:
    pipe = _fit(data, target, task)
    compiled = compile_pipeline(pipe)
    assert isinstance(compiled, CompiledLinear) and compiled.texts
    n = draw.draw(st.integers(1, 20))
    frame = data.sample(n, random_state=draw.draw(st.integers(0, 999))).reset_index(drop=True)
    frame = frame.astype(object)
    for i in range(n):
        frame.at[i, "notes"] = draw.draw(st.one_of(st.none(), DOCS))
        if draw.draw(st.booleans()):
            frame.at[i, "plan"] = draw.draw(st.sampled_from(["never-seen", None]))
        if draw.draw(st.integers(0, 4)) == 0:
            frame.at[i, "tenure_months"] = draw.draw(st.sampled_from([None, 1e300, -1e300, 0.0]))
    if task == "classification":
        np.testing.assert_allclose(compiled.predict_proba(frame), pipe.predict_proba(frame),
                                   rtol=0, atol=1e-9)  # fmt: skip
        assert compiled.predict(frame).tolist() == pipe.predict(frame).tolist()
    else:
        np.testing.assert_allclose(compiled.predict(frame), pipe.predict(frame),
                                   rtol=1e-12, atol=1e-9)  # fmt: skip


def test_the_form_with_words_is_saved_and_read_back(data: pd.DataFrame) -> None:
    pipe = _fit(data, "churned", "classification")
    bundle = ModelBundle(pipeline=pipe, task="classification", model_type="linear",
                         features=list(pipe.named_steps["prepare"].feature_names_in_),
                         classes=[False, True], positive_label=True, threshold=0.5)  # fmt: skip
    blob = dump_serving_form(bundle)
    assert blob is not None
    form = ServingForm.from_bytes(blob)
    assert isinstance(form.compiled, CompiledLinear) and form.compiled.texts
    frame = data.sample(40, random_state=3)
    np.testing.assert_allclose(form.compiled.predict_proba(frame), pipe.predict_proba(frame),
                               rtol=0, atol=1e-9)  # fmt: skip
    with pytest.raises(Exception, match="notes"):
        form.compiled.predict_proba(frame.drop(columns=["notes"]))
