"""Tree ensembles' serving form (``forms.trees``): scikit-learn's numbers to 1e-9 on any rows
(missing values, the missing code, unseen categories, extreme values, values on a split's
threshold), the same refusals, saved without pickle, read without scikit-learn or scipy."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import steadyml
from steadyml.entities import Roles
from steadyml.errors import DataError, IntegrityError
from steadyml.forms.decision import plain
from steadyml.forms.serving import ServingForm
from steadyml.forms.trees import CompiledTrees
from steadyml.registry import ModelBundle, dump_serving_form, load_serving_form
from steadyml.registry.scoring import score_frame
from steadyml.samples.churn import make_churn_history
from steadyml.training.compiled import compile_pipeline, fast_model
from steadyml.training.estimators import make_estimator
from steadyml.training.features import build_pipeline

NUMERIC = ("tenure_months", "monthly_charges", "total_charges", "data_usage_gb", "support_calls")
CATEGORICAL = ("contract", "payment_method", "plan", "region")
CODES = {"support_calls": [-1]}
CASES = [
    ("churned", "classification"),  # binary
    ("contract", "classification"),  # three classes
    ("monthly_charges", "regression"),
]
EXTREMES = [1e300, -1e300, 0.0, -0.0, 1e-300, 5e-324, 3.5e38, -3.5e38, 1e15, float("inf")]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return make_churn_history(n_customers=400, months=2, seed=7).reset_index(drop=True)


_FITTED: dict[tuple[str, str], Any] = {}


def _fit(data: pd.DataFrame, model: str, target: str, task: str) -> Any:
    key = (model, target)
    if key not in _FITTED:
        numeric = tuple(c for c in NUMERIC if c != target)
        categorical = tuple(c for c in CATEGORICAL if c != target)
        roles = Roles(target=target, numeric=numeric, categorical=categorical)
        estimator = make_estimator(model, task, 0)  # type: ignore[arg-type]
        if model != "linear":  # the same kind of trees, fewer of them: a faster test
            estimator.set_params(
                **({"n_estimators": 40} if model == "random_forest" else {"max_iter": 40})
            )
        pipe = build_pipeline(roles, estimator, CODES)
        _FITTED[key] = pipe.fit(data[[*numeric, *categorical]], data[target])
    return _FITTED[key]


def _ties(compiled: CompiledTrees, pipe: Any) -> dict[str, list[float]]:
    """Raw values that land exactly on (or next to) a split threshold after scaling."""
    numeric = list(pipe.named_steps["prepare"].numeric)
    internal = np.isfinite(compiled.threshold)
    out: dict[str, list[float]] = {}
    for j, col in enumerate(numeric):
        thresholds = compiled.threshold[internal & (compiled.feature == j)][:30]
        values: list[float] = []
        for t in thresholds:
            raw = t * compiled.scale[j] + compiled.mean[j]
            values += [raw, np.nextafter(raw, np.inf), np.nextafter(raw, -np.inf)]
        out[col] = values or [0.0]
    return out


def _rows(data: pd.DataFrame, draw: Any, columns: list[str], ties: dict[str, list[float]]) -> Any:
    n = draw(st.integers(1, 24))
    picks = draw(st.lists(st.integers(0, len(data) - 1), min_size=n, max_size=n))
    frame = data.iloc[picks][columns].reset_index(drop=True).astype(object)
    for col in columns:
        for i in range(n):
            roll = draw(st.integers(0, 11))
            if roll == 0:
                frame.at[i, col] = None
            elif roll == 1 and col in CATEGORICAL:
                frame.at[i, col] = draw(st.sampled_from(["never-seen", "", "42", "__missing__"]))
            elif roll == 1 and col == "support_calls":
                frame.at[i, col] = -1  # the missing code
            elif roll == 2 and col in NUMERIC:
                frame.at[i, col] = draw(st.sampled_from(EXTREMES))
            elif roll in (3, 4) and col in NUMERIC:
                frame.at[i, col] = draw(st.sampled_from(ties[col]))
            elif roll == 5 and col in NUMERIC:
                frame.at[i, col] = draw(st.floats(-1e6, 1e6, allow_nan=False))
    return frame


def _sklearn(method: Any, frame: pd.DataFrame) -> Any:
    with warnings.catch_warnings():  # its overflow warnings (1e300 scaled, cast to float32)
        warnings.simplefilter("ignore", RuntimeWarning)
        return method(frame)


def _same_answers(pipe: Any, compiled: CompiledTrees, frame: pd.DataFrame, task: str) -> None:
    try:
        method = pipe.predict_proba if task == "classification" else pipe.predict
        expected = _sklearn(method, frame)
    except ValueError:  # scikit-learn refuses the rows (an infinity, a float32 overflow)
        with pytest.raises(DataError):
            compiled.predict(frame)
        return
    got = compiled.predict_proba(frame) if task == "classification" else compiled.predict(frame)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
    if task == "classification":
        assert compiled.predict(frame).tolist() == _sklearn(pipe.predict, frame).tolist()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["random_forest", "hist_gradient_boosting"])
@pytest.mark.parametrize(("target", "task"), CASES)
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(draw=st.data())
def test_the_form_equals_scikit_learn_on_any_rows(
    data: pd.DataFrame, model: str, target: str, task: str, draw: Any
) -> None:
    pipe = _fit(data, model, target, task)
    compiled = compile_pipeline(pipe)
    assert isinstance(compiled, CompiledTrees)
    columns = [c for c in (*NUMERIC, *CATEGORICAL) if c != target]
    frame = _rows(data, draw.draw, columns, _ties(compiled, pipe))
    _same_answers(pipe, compiled, frame, task)


@pytest.mark.slow
def test_a_boosted_model_on_ties_extremes_and_gaps(data: pd.DataFrame) -> None:
    pipe = _fit(data, "hist_gradient_boosting", "churned", "classification")
    compiled = fast_model(pipe)
    assert isinstance(compiled, CompiledTrees) and compiled.link == "logistic"
    ties = _ties(compiled, pipe)
    frame = data.head(60).drop(columns=["churned"]).reset_index(drop=True).astype(object)
    for i, col in enumerate(NUMERIC):
        frame.loc[i::5, col] = ties[col][: len(frame.loc[i::5])] or 0.0
    frame.loc[::7, "monthly_charges"] = 1e300  # scaled past float64's range: +inf, still scored
    frame.loc[3::7, "total_charges"] = -1e300
    frame.loc[::4, "plan"] = "never-seen"
    frame.loc[::6, "region"] = None
    frame.loc[::9, "support_calls"] = -1
    _same_answers(pipe, compiled, frame, "classification")
    frame.loc[2, "tenure_months"] = float("inf")  # the imputer refuses it; so does the form
    with pytest.raises(DataError, match="'tenure_months' holds an infinite value"):
        compiled.predict_proba(frame)


def test_a_forest_refuses_what_overflows_single_precision(data: pd.DataFrame) -> None:
    pipe = _fit(data, "random_forest", "churned", "classification")
    compiled = compile_pipeline(pipe)
    assert isinstance(compiled, CompiledTrees) and compiled.single_precision
    frame = data.head(5).drop(columns=["churned"]).reset_index(drop=True).astype(object)
    _same_answers(pipe, compiled, frame, "classification")
    frame.at[3, "monthly_charges"] = 1e300
    with pytest.raises(ValueError, match="float32"):
        _sklearn(pipe.predict_proba, frame)
    with pytest.raises(DataError, match="'monthly_charges' holds 1e\\+300 in row 3"):
        compiled.predict_proba(frame)


def _bundle(pipe: Any, model: str, target: str, task: str) -> ModelBundle:
    classes = None if task != "classification" else [plain(c) for c in pipe.classes_]
    features = [c for c in (*NUMERIC, *CATEGORICAL) if c != target]
    return ModelBundle(pipeline=pipe, task=task, model_type=model, features=features,
                       classes=classes, positive_label=True if target == "churned" else None,
                       threshold=0.4 if target == "churned" else None)  # fmt: skip


@pytest.mark.parametrize(
    "model", ["random_forest", pytest.param("hist_gradient_boosting", marks=pytest.mark.slow)]
)
def test_the_saved_form_reads_back_and_answers_as_the_bundle(
    data: pd.DataFrame, model: str
) -> None:
    pipe = _fit(data, model, "contract", "classification")
    bundle = _bundle(pipe, model, "contract", "classification")
    blob = dump_serving_form(bundle)
    assert blob is not None and len(blob) < 3_000_000
    form = ServingForm.from_bytes(blob)
    assert isinstance(form.compiled, CompiledTrees)
    assert (form.task, form.model_type, form.classes) == ("classification", model, bundle.classes)
    frame = data.sample(50, random_state=2).reset_index(drop=True)
    ours, theirs = score_frame(form, frame), score_frame(bundle, frame)
    assert ours.predictions == theirs.predictions
    np.testing.assert_allclose(ours.scores, theirs.scores, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_reading_a_tree_form_imports_neither_scikit_learn_nor_scipy(
    data: pd.DataFrame, tmp_path: Path
) -> None:
    pipe = _fit(data, "hist_gradient_boosting", "churned", "classification")
    blob = dump_serving_form(_bundle(pipe, "hist_gradient_boosting", "churned", "classification"))
    assert blob is not None
    (tmp_path / "form.npz").write_bytes(blob)
    data.head(20).to_pickle(tmp_path / "rows.pkl")
    code = (
        "import sys, pandas as pd\n"
        "from steadyml.forms.serving import ServingForm\n"
        "from steadyml.registry.scoring import score_frame\n"
        f"form = ServingForm.from_bytes(open({str(tmp_path / 'form.npz')!r}, 'rb').read())\n"
        "assert type(form.compiled).__name__ == 'CompiledTrees'\n"
        f"out = score_frame(form, pd.read_pickle({str(tmp_path / 'rows.pkl')!r}))\n"
        "assert len(out.predictions) == 20\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


@pytest.mark.slow
def test_a_tree_model_is_registered_with_its_form_and_a_tampered_one_is_refused(
    trained_template: Path, tmp_path: Path
) -> None:
    from steadyml.serving.runtime import Runtime

    root = tmp_path / "churn"
    shutil.copytree(trained_template, root)
    cfg = root / "steadyml.yaml"
    text, changed = re.subn(r"models: \[[^\]]*\]", "models: [hist_gradient_boosting]",
                            cfg.read_text(encoding="utf-8"))  # fmt: skip
    assert changed == 1
    cfg.write_text(text, encoding="utf-8")
    with steadyml.open(root, env={}) as project:
        mv = project.train(force=True).model_version
        assert mv is not None and mv.model_type == "hist_gradient_boosting"
        assert mv.serving_digest, "a tree model is registered with its serving form"
        loaded = Runtime(project)._load(mv.version)
        assert isinstance(loaded.bundle, ServingForm)
        assert isinstance(loaded.bundle.compiled, CompiledTrees)
        frame = project.load_snapshot(1).head(40)
        expected = score_frame(project.load_model(mv.version), frame)
        assert loaded.score(frame).predictions == expected.predictions
        # registered before tree forms existed: it gets one when promoted
        project.store.set_serving_digest(mv.version, None)
        project.promote(mv.version, "staging", reason="tests", by="tests")
        fresh = project.model_version(mv.version)
        assert fresh.serving_digest
        form = load_serving_form(project.artifacts, fresh)
        assert form is not None and isinstance(form.compiled, CompiledTrees)
        # a form whose bytes no longer match its digest is refused
        Path(project.artifacts.path_for(fresh.serving_digest)).write_bytes(b"tampered")
        with pytest.raises(IntegrityError):
            load_serving_form(project.artifacts, fresh)


@pytest.mark.parametrize("model", ["linear", "random_forest"])
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(draw=st.data())
def test_columns_of_values_answer_as_the_dataframe_they_make(
    data: pd.DataFrame, model: str, draw: Any
) -> None:
    """A server may pass column -> values (no DataFrame per request): the same answers, and
    the same errors, as ``pd.DataFrame`` of those columns through the pipeline."""
    pipe = _fit(data, model, "churned", "classification")
    compiled = compile_pipeline(pipe)
    assert compiled is not None
    columns = [c for c in (*NUMERIC, *CATEGORICAL) if c != "churned"]
    ties = _ties(compiled, pipe) if isinstance(compiled, CompiledTrees) else {}
    frame = _rows(data, draw.draw, columns, {c: ties.get(c, [0.0]) for c in NUMERIC})
    if draw.draw(st.booleans()):
        frame.at[0, "tenure_months"] = draw.draw(st.sampled_from(["12", "about a year", True]))
    mapping = {c: frame[c].tolist() for c in columns}
    try:
        expected = _sklearn(pipe.predict_proba, pd.DataFrame(mapping))
    except (ValueError, DataError) as exc:
        with pytest.raises(type(exc) if isinstance(exc, DataError) else DataError):
            compiled.predict_proba(mapping)
        return
    np.testing.assert_allclose(compiled.predict_proba(mapping), expected, rtol=0, atol=1e-9)
    with pytest.raises(DataError, match="'plan'"):
        compiled.predict_proba({c: v for c, v in mapping.items() if c != "plan"})
