"""A linear model's serving form: saved at registration, read back without scikit-learn, and
answering exactly as the pipeline does; a server falls back to the pipeline when it cannot
read it. (Tree ensembles' forms: test_tree_form.py; text columns: test_text_form.py.)"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steadyml
from steadyml.entities import Roles
from steadyml.errors import DataError, SteadyMLError
from steadyml.forms.serving import ServingForm
from steadyml.registry import ModelBundle, dump_serving_form
from steadyml.registry.scoring import score_frame
from steadyml.samples.churn import make_churn_history
from steadyml.training.estimators import make_estimator
from steadyml.training.features import build_pipeline

NUMERIC = ("tenure_months", "monthly_charges", "total_charges", "data_usage_gb", "support_calls")
CATEGORICAL = ("contract", "payment_method", "plan", "region")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return make_churn_history(n_customers=500, months=2, seed=11).reset_index(drop=True)


def _bundle(data: pd.DataFrame, target: str, task: str, model: str = "linear") -> ModelBundle:
    numeric = tuple(c for c in NUMERIC if c != target)
    categorical = tuple(c for c in CATEGORICAL if c != target)
    roles = Roles(target=target, numeric=numeric, categorical=categorical)
    pipe = build_pipeline(roles, make_estimator(model, task, 0), {"support_calls": [-1]})  # type: ignore[arg-type]
    pipe.fit(data[[*numeric, *categorical]], data[target])
    classes = None if task != "classification" else [c.item() if hasattr(c, "item") else c
                                                     for c in pipe.classes_]  # fmt: skip
    return ModelBundle(pipeline=pipe, task=task, model_type=model,
                       features=[*numeric, *categorical], classes=classes,
                       positive_label=True if target == "churned" else None,
                       threshold=0.4 if target == "churned" else None)  # fmt: skip


def _messy(data: pd.DataFrame) -> pd.DataFrame:
    frame = data.sample(300, random_state=5).reset_index(drop=True).astype(object)
    frame.loc[::7, "monthly_charges"] = None
    frame.loc[::5, "plan"] = "never-seen"
    frame.loc[::6, "support_calls"] = -1
    frame.loc[::9, "region"] = None
    return frame


@pytest.mark.parametrize(
    ("target", "task"),
    [("churned", "classification"), ("contract", "classification"),
     ("monthly_charges", "regression")],
)  # fmt: skip
def test_the_form_answers_as_the_pipeline(data: pd.DataFrame, target: str, task: str) -> None:
    bundle = _bundle(data, target, task)
    blob = dump_serving_form(bundle)
    assert blob is not None and len(blob) < 50_000
    form = ServingForm.from_bytes(blob)
    assert (form.task, form.features, form.classes) == (task, bundle.features, bundle.classes)
    frame = _messy(data)
    ours, theirs = score_frame(form, frame), score_frame(bundle, frame)
    assert ours.predictions == theirs.predictions
    np.testing.assert_allclose(ours.scores, theirs.scores, rtol=0, atol=1e-12)
    pipe: Any = bundle.pipeline
    if task == "classification":
        np.testing.assert_allclose(form.compiled.predict_proba(frame),
                                   pipe.predict_proba(frame), rtol=0, atol=1e-9)  # fmt: skip
    else:
        np.testing.assert_allclose(form.compiled.predict(frame), pipe.predict(frame),
                                   rtol=1e-12, atol=1e-9)  # fmt: skip


def test_a_pipeline_without_a_form_gets_none_and_bad_bytes_are_refused(data: pd.DataFrame) -> None:
    # words feeding trees have no serving form (the pipeline answers)
    frame = data.assign(notes=data["plan"].astype(str) + " plan in " + data["region"].astype(str))
    roles = Roles(target="churned", numeric=NUMERIC, categorical=CATEGORICAL, text=("notes",))
    pipe = build_pipeline(roles, make_estimator("random_forest", "classification", 0))
    pipe.set_params(model__n_estimators=5).fit(frame[list(roles.features)], frame["churned"])
    trees = ModelBundle(pipeline=pipe, task="classification", model_type="random_forest",
                        features=list(roles.features), classes=[False, True],
                        positive_label=True, threshold=None)  # fmt: skip
    assert dump_serving_form(trees) is None
    with pytest.raises(SteadyMLError, match="cannot be read"):
        ServingForm.from_bytes(b"not a serving form")
    form = ServingForm.from_bytes(dump_serving_form(_bundle(data, "churned", "classification"))
                                  or b"")  # fmt: skip
    bad = data.head(3).astype(object)
    bad.at[1, "tenure_months"] = "about a year"
    with pytest.raises(DataError, match="tenure_months"):
        score_frame(form, bad)


def test_reading_a_form_imports_neither_scikit_learn_nor_scipy(data: pd.DataFrame,
                                                              tmp_path: Path) -> None:  # fmt: skip
    blob = dump_serving_form(_bundle(data, "churned", "classification"))
    assert blob is not None
    (tmp_path / "form.npz").write_bytes(blob)
    data.head(20).to_pickle(tmp_path / "rows.pkl")
    code = (
        "import sys, pandas as pd\n"
        "from steadyml.forms.serving import ServingForm\n"
        "from steadyml.registry.scoring import score_frame\n"
        f"form = ServingForm.from_bytes(open({str(tmp_path / 'form.npz')!r}, 'rb').read())\n"
        f"out = score_frame(form, pd.read_pickle({str(tmp_path / 'rows.pkl')!r}))\n"
        "assert len(out.predictions) == 20\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_registered_linear_model_serves_from_its_form_and_a_broken_one_from_the_pipeline(
    trained_template: Path, tmp_path: Path
) -> None:
    from steadyml.serving.runtime import Runtime

    root = tmp_path / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        mv = project.model_version(1)
        assert mv.serving_digest, "a linear model is registered with its serving form"
        loaded = Runtime(project)._load(1)
        assert isinstance(loaded.bundle, ServingForm)
        frame = project.load_snapshot(1).head(50)
        expected = score_frame(project.load_model(1), frame)
        assert loaded.score(frame).predictions == expected.predictions
        # a form whose bytes no longer match its digest is not used: the pipeline answers
        path = Path(project.artifacts.path_for(mv.serving_digest))
        path.write_bytes(b"tampered")
        fresh = Runtime(project)._load(1)
        assert isinstance(fresh.bundle, ModelBundle)
        assert fresh.score(frame).predictions == expected.predictions


def test_an_older_version_gets_its_serving_form_when_promoted(
    trained_template: Path, tmp_path: Path
) -> None:
    root = tmp_path / "churn"
    shutil.copytree(trained_template, root)
    with steadyml.open(root, env={}) as project:
        project.store.set_serving_digest(1, None)  # as registered before serving forms
        assert project.model_version(1).serving_digest is None
        project.promote(1, "staging", reason="tests", by="tests")
        digest = project.model_version(1).serving_digest
        assert digest
        form = ServingForm.from_bytes(project.artifacts.get_bytes(digest))
        frame = project.load_snapshot(1).head(30)
        expected = score_frame(project.load_model(1), frame)
        assert score_frame(form, frame).predictions == expected.predictions


# the fallback strategy is what this test varies; the launch gate (a fallback that answers)
# is tested in tests/checklist
WHY = "tests: the fallback is what this test varies"


@pytest.mark.parametrize(("strategy", "loads_previous"), [("error", False), ("previous", True)])
def test_the_previous_version_is_loaded_at_start_only_for_the_previous_fallback(
    trained_template: Path, tmp_path: Path, strategy: str, loads_previous: bool
) -> None:
    from steadyml.serving.runtime import Runtime

    root = tmp_path / "churn"
    shutil.copytree(trained_template, root)
    cfg = root / "steadyml.yaml"
    cfg.write_text(cfg.read_text(encoding="utf-8")
                   + f"\nserving:\n  fallback: {{strategy: {strategy}}}\n", encoding="utf-8")  # fmt: skip
    with steadyml.open(root, env={}) as project:
        if project.production() is None:
            project.promote(1, "production", reason="tests", by="tests", override=WHY)
        version = project.train(force=True).model_version
        assert version is not None
        project.promote(version.version, "production", reason="tests", by="tests", override=WHY)
        runtime = Runtime(project)
        assert runtime.refresh()
        state = runtime.state
        assert state.production is not None and state.production.version == version.version
        if loads_previous:
            assert state.previous is not None and state.previous.version < version.version
        else:
            assert state.previous is None
