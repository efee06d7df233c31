"""Drift is measured in the contract's type whichever path logged the values (issue 11).

Each path logs inputs its own way: an API answer keeps the JSON values, a refused API record
its raw JSON (here: text), a batch file integers as floats and booleans as the file's text, a
refused batch row its text, the Dask engine the same as batch. On a project trained on two
integer-coded categoricals, one with a gap (``plan``: read as floats, so its reference labels
were "1.0") and one without (``flag``: "1"), a boolean (``member``) and a float column with
gaps (``amount``), every path must find no drift when live rows follow the
training distribution (same categories on both sides, nothing "never seen") and find drift
on all three when they move. Real parts throughout: a trained project, the app in process
(the serving tests' ``inprocess.AppServer``: its lifespan runs, so stopping it drains the log
writer), batch scoring with both engines.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import steadyml
from steadyml.flows.plan import init_from_data

COLUMNS = ("plan", "flag", "member", "amount")
N_LIVE = 400


def _inprocess() -> Any:
    """The serving tests' in-process app (``tests/serving/inprocess.py``), by its path."""
    path = Path(__file__).parents[1] / "serving" / "inprocess.py"
    spec = importlib.util.spec_from_file_location("serving_inprocess", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def customers(n: int, seed: int, *, shift: bool = False) -> pd.DataFrame:
    """``n`` rows: ``plan`` 0/1/2, ``flag`` 0/1, ``member`` true/false, ``amount`` with 10 %
    gaps, ``age``."""
    rng = np.random.default_rng(seed)
    plan = rng.choice([0, 1, 2], n, p=[0.1, 0.3, 0.6] if shift else [0.5, 0.3, 0.2])
    flag = (rng.random(n) < (0.8 if shift else 0.4)).astype(int)
    member = rng.random(n) < (0.75 if shift else 0.3)
    amount = rng.normal(65.0 if shift else 50.0, 10.0, n).round(2)
    amount[rng.random(n) < 0.1] = np.nan
    age = rng.integers(18, 80, n)
    y = 0.05 * age + np.nan_to_num(amount) / 20 + plan + flag + member + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {"cid": [f"c{seed}-{i}" for i in range(n)], "plan": plan, "flag": flag, "member": member,
         "amount": amount, "age": age, "y": y.round(3)}
    )  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A trained project, version 1 in production, an API key in ``key.txt``."""
    root = tmp_path_factory.mktemp("flags")
    train = customers(1500, seed=1)
    train["plan"] = train["plan"].astype(float)
    train.loc[train.index[:30], "plan"] = np.nan  # a gap: pandas reads the column as floats
    train.to_csv(root / "train.csv", index=False)
    init_from_data(root / "proj", root / "train.csv", target="y", id="cid")
    # as a user reviewing the roles would: plan is a code, not a quantity; one model is enough
    config = root / "proj" / "steadyml.yaml"
    text = re.sub(r"\n +- plan +#[^\n]*", "", config.read_text(encoding="utf-8"))
    text = text.replace("    categorical:\n", "    categorical:\n      - plan\n", 1)
    text = re.sub(r"models: \[[^\]]*\]", "models: [linear]", text)
    config.write_text(text, encoding="utf-8")
    with steadyml.open(root / "proj", env={}) as project:
        contract = project.infer_contract()
        assert {n: contract.columns[n].type for n in COLUMNS} == {
            "plan": "integer", "flag": "integer", "member": "boolean", "amount": "number"}  # fmt: skip
        # moved amounts go past the largest one seen: legitimate here, not a refusal
        text = project.contract_path.read_text(encoding="utf-8")
        project.contract_path.write_text(_no_range(text, "amount"), encoding="utf-8")
        project.train()
        # init --data leaves the plan for a person to write; this test is about logged types
        project.promote(1, "production", reason="tests", by="tests",
                        override="tests: the plan is not what this test is about")  # fmt: skip
        key, _ = project.create_key("app", ["predict"])
    (root / "proj" / "key.txt").write_text(key)
    return root / "proj"


def _no_range(contract_yaml: str, column: str) -> str:
    data = yaml.safe_load(contract_yaml)
    for bound in ("min", "max"):
        data["columns"][column].pop(bound, None)
    return yaml.safe_dump(data, sort_keys=False)


Log = Callable[[Path, pd.DataFrame], None]


def drift_rows(root: Path, log: Log) -> dict[str, dict[str, Any]]:
    """Log live rows like training's, then moved rows, with ``log``; the drift and quality of
    each column, per period."""
    out: dict[str, dict[str, Any]] = {}
    with steadyml.open(root, env={}) as project:
        edges = [dt.datetime.now(dt.UTC)]
        for name, frame in (("same", customers(N_LIVE, 2)), ("moved", customers(N_LIVE, 3, shift=True))):  # fmt: skip
            log(root, frame)
            time.sleep(0.01)
            edges.append(dt.datetime.now(dt.UTC))
            run = project.monitor(since=edges[-2], until=edges[-1], window="1d",
                                  alerts=False, notify=False)  # fmt: skip
            (window,) = run.result["windows"]
            drift = {d["feature"]: d for d in window["drift"]["features"]}
            quality = {q["feature"]: q for q in window["quality"]["features"]}
            out[name] = {c: {"drift": drift[c], "quality": quality[c]} for c in COLUMNS}
    return out


def assert_same_then_moved(rows: dict[str, dict[str, Any]]) -> None:
    for column in COLUMNS:
        same, moved = rows["same"][column], rows["moved"][column]
        assert same["drift"]["n_current"] >= 300, same["drift"]["message"]
        assert same["drift"]["drifted"] is False, same["drift"]["message"]
        assert same["quality"]["unseen_rate"] == 0.0, same["quality"]["message"]
        assert moved["drift"]["drifted"] is True, moved["drift"]["message"]
    assert rows["same"]["plan"]["drift"]["histogram"]["categories"][:3] == ["0", "1", "2"]
    assert sorted(rows["same"]["flag"]["drift"]["histogram"]["categories"]) == ["0", "1"]
    assert sorted(rows["same"]["member"]["drift"]["histogram"]["categories"]) == ["False", "True"]  # fmt: skip
    # the gaps are missing values, not a category
    assert 0.05 < rows["same"]["amount"]["quality"]["missing_rate"] < 0.15


# ---------------------------------------------------------------- the paths


def _records(frame: pd.DataFrame, *, as_text: bool) -> list[dict[str, Any]]:
    out = []
    for row in frame.drop(columns=["y"]).to_dict(orient="records"):
        record = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        record = {k: v.item() if hasattr(v, "item") else v for k, v in record.items()}
        if as_text:  # a client sending text; the record is refused for its age
            record = {k: None if v is None else str(v).lower() for k, v in record.items()}
            record["age"] = "not a number"
        out.append(record)
    return out


def _post(root: Path, frame: pd.DataFrame, *, refused: bool) -> None:
    key = (root / "key.txt").read_text()
    records = _records(frame, as_text=refused)
    app = _inprocess().start_app(root, {"predict": key})
    try:
        for start in range(0, len(records), 50):
            r = app.post("/v1/predict", json={"records": records[start : start + 50]},
                         headers={"X-API-Key": key})  # fmt: skip
            assert r.status_code == (422 if refused else 200), r.text
    finally:
        app.stop()  # the app's shutdown: the log writer writes everything queued


def _score(root: Path, frame: pd.DataFrame, *, reject: bool = False, engine: str = "pandas") -> None:  # fmt: skip
    data = frame.drop(columns=["y"])
    if reject:
        data["age"] = "not a number"
    path = root / f"live-{time.monotonic_ns()}.csv"
    data.to_csv(path, index=False)
    with steadyml.open(root, env={}) as project:
        result = project.score_batch(path, path.with_suffix(".out.csv"), engine=engine)  # type: ignore[arg-type]
    assert (result.rows_scored, result.rows_rejected) == ((0, len(frame)) if reject else (len(frame), 0))  # fmt: skip


@pytest.fixture
def project_copy(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "proj"))


@pytest.mark.slow
def test_api_answers_are_compared_in_the_contract_type(project_copy: Path) -> None:
    assert_same_then_moved(drift_rows(project_copy, lambda r, f: _post(r, f, refused=False)))


@pytest.mark.slow
def test_api_refusals_sent_as_text_are_compared_in_the_contract_type(project_copy: Path) -> None:
    assert_same_then_moved(drift_rows(project_copy, lambda r, f: _post(r, f, refused=True)))


@pytest.mark.slow
def test_batch_scored_rows_are_compared_in_the_contract_type(project_copy: Path) -> None:
    assert_same_then_moved(drift_rows(project_copy, _score))


@pytest.mark.slow
def test_batch_rejects_are_compared_in_the_contract_type(project_copy: Path) -> None:
    assert_same_then_moved(drift_rows(project_copy, lambda r, f: _score(r, f, reject=True)))


@pytest.mark.slow
def test_dask_engine_rows_are_compared_in_the_contract_type(project_copy: Path) -> None:
    pytest.importorskip("distributed")
    assert_same_then_moved(drift_rows(project_copy, lambda r, f: _score(r, f, engine="dask")))
