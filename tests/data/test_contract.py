"""The data contract: inferred from data, saved for review, enforced with pandera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.data.contract import (
    ColumnContract,
    Contract,
    infer_contract,
    load_contract,
    save_contract,
    validate,
)
from steadyml.entities import Roles
from steadyml.errors import DataContractError

# --- strategies: a contract, then data drawn from it -----------------------------------------

names = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=5, unique=True
)


@st.composite
def column_contracts(draw: st.DrawFn, name: str) -> ColumnContract:
    kind = draw(st.sampled_from(["integer", "number", "string"]))
    nullable = draw(st.booleans())
    if kind == "string":
        allowed = draw(
            st.lists(
                st.from_regex(r"[a-z]{1,6}", fullmatch=True), min_size=1, max_size=6, unique=True
            )
        )
        return ColumnContract(
            name=name, role="categorical", type="string", nullable=nullable, allowed=sorted(allowed)
        )
    lo = draw(st.integers(-1000, 1000))
    hi = lo + draw(st.integers(0, 1000))
    return ColumnContract(name=name, role="numeric", type=kind, nullable=nullable, min=lo, max=hi)


@st.composite
def contract_and_frame(draw: st.DrawFn) -> tuple[Contract, pd.DataFrame]:
    cols = {n: draw(column_contracts(n)) for n in draw(names)}
    rows = draw(st.integers(1, 25))
    data: dict[str, list[object]] = {}
    for name, c in cols.items():
        values: list[object] = []
        for _ in range(rows):
            if c.nullable and draw(st.integers(0, 4)) == 0:
                values.append(None)
            elif c.type == "string":
                values.append(draw(st.sampled_from(c.allowed or ["x"])))
            elif c.type == "integer":
                values.append(draw(st.integers(int(c.min or 0), int(c.max or 0))))
            else:
                values.append(
                    draw(st.floats(float(c.min or 0), float(c.max or 0), allow_nan=False))
                )
        data[name] = values
    frame = pd.DataFrame(data)
    for name, c in cols.items():
        if c.type != "string":
            frame[name] = pd.to_numeric(frame[name])
    return Contract(columns=cols), frame


FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(contract_and_frame())
def test_data_drawn_from_a_contract_validates(cf: tuple[Contract, pd.DataFrame]) -> None:
    contract, frame = cf
    report = validate(frame, contract)
    assert report.passed, [v.message for v in report.violations]


@pytest.mark.slow
@FAST
@given(contract_and_frame(), st.data())
def test_one_mutated_value_is_caught_at_its_level_and_its_column_named(
    cf: tuple[Contract, pd.DataFrame], data: st.DataObject
) -> None:
    contract, frame = cf
    column = data.draw(st.sampled_from(list(contract.columns)))
    row = data.draw(st.integers(0, len(frame) - 1))
    c = contract.columns[column]
    options = ["type"]
    if c.type == "string":
        options.append("allowed")
    else:
        options.append("range")
    if not c.nullable:
        options.append("not_nullable")
    mutation = data.draw(st.sampled_from(options))
    frame = frame.astype({column: "object"})
    level = "expectation"
    if mutation == "type":
        bad: object = "zz-not-valid"
        expected = "type" if c.type != "string" else "allowed"
        level = "rule" if c.type != "string" else "expectation"
    elif mutation == "allowed":
        bad, expected = "zz_unseen", "allowed"
    elif mutation == "range":
        bad, expected = float(c.max or 0) + 1, "range"
    else:
        bad, expected = None, "not_nullable"
    frame.loc[row, column] = bad
    report = validate(frame, contract)
    assert report.passed is (level == "expectation")
    hits = [v for v in report.violations if v.column == column and v.rule == expected]
    assert hits, [(v.column, v.rule) for v in report.violations]
    assert hits[0].level == level
    assert hits[0].examples[0]["row"] == row + 1
    assert f"Column '{column}'" in hits[0].message
    assert {v.column for v in report.violations} == {column}
    assert (report.bad_rows, report.flagged_rows) == ((1, 0) if level == "rule" else (0, 1))


# --- inference and the reviewable file ----------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": [0, 1, 0, 1, 1],
            "age": [20, 35, 50, np.nan, 41],
            "plan": ["a", "b", "a", "c", "b"],
            "when": ["2025-01-01", "2025-02-01", "2025-02-01", "2025-03-01", "2025-03-01"],
            "email": ["a@x", "b@x", None, "d@x", "e@x"],
        }
    )


ROLES = Roles(target="y", numeric=("age",), categorical=("plan",), timestamp="when", pii=("email",))


def test_inference_records_types_ranges_categories_and_nulls() -> None:
    c = infer_contract(_frame(), ROLES, source="d.csv", content_hash="h")
    assert c.columns["y"].allowed == [0, 1]
    assert (c.columns["age"].type, c.columns["age"].min, c.columns["age"].max) == (
        "integer",
        20,
        50,
    )
    assert c.columns["age"].nullable is True
    assert c.columns["plan"].allowed == ["a", "b", "c"] and c.columns["plan"].nullable is False
    assert c.columns["when"].type == "datetime"
    assert c.columns["email"].allowed is None  # personal data: no list of values kept
    assert c.inferred_from["source"] == "d.csv"


def test_saved_contract_round_trips_and_is_commented(tmp_path: Path) -> None:
    c = infer_contract(_frame(), ROLES)
    path = tmp_path / "contract.yaml"
    save_contract(c, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# The data contract")
    assert load_contract(path).columns == c.columns


def test_an_edited_expectation_flags_and_an_edited_rule_refuses(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    save_contract(infer_contract(_frame(), ROLES), path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("max: 50", "max: 45"), encoding="utf-8")
    report = validate(_frame(), load_contract(path))
    assert report.passed and (report.bad_rows, report.flagged_rows) == (0, 1)
    assert [(v.column, v.rule, v.level, v.examples[0]["row"]) for v in report.violations] == [
        ("age", "range", "expectation", 3)
    ]
    assert report.violations[0].message == (
        "Column 'age' has values outside the training range 20–45, e.g. 50 in row 3; an "
        "expectation, not a rule: such rows are scored, with a warning."
    )
    path.write_text(text.replace("max: 50", "max: 50, rules: {max: 45}"), encoding="utf-8")
    report = validate(_frame(), load_contract(path))
    assert not report.passed and (report.bad_rows, report.flagged_rows) == (1, 0)
    assert [(v.column, v.rule, v.level) for v in report.violations] == [("age", "range", "rule")]
    assert report.violations[0].message == (
        "Column 'age' expects a number ≤ 45 (a rule in the contract); got 50 in row 3."
    )


def test_broken_contract_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text("columns:\n  age: {type: decimal}\n", encoding="utf-8")
    with pytest.raises(DataContractError, match=r"columns.age.type is 'decimal'; allowed"):
        load_contract(path)


def test_missing_column_and_bad_values_are_all_reported() -> None:
    c = infer_contract(_frame(), ROLES)
    bad = _frame().drop(columns=["plan"])
    bad["age"] = bad["age"].astype("object")
    bad.loc[1, "age"] = "abc"
    bad["extra"] = 1
    report = validate(bad, c)
    rules = {(v.column, v.rule) for v in report.violations}
    assert rules == {("plan", "missing_column"), ("age", "type")}
    assert report.extra_columns == ["extra"]
    age = next(v for v in report.violations if v.column == "age")
    assert (
        age.message == "Column 'age' expects a whole number (its type, a rule); got 'abc' in row 2."
    )


def test_loading_a_contract_imports_neither_pandas_nor_pandera(tmp_path: Path) -> None:
    """``steadyml serve`` loads the contract on its fast path: the package stays light."""
    import subprocess
    import sys

    save_contract(infer_contract(_frame(), ROLES), tmp_path / "contract.yaml")
    code = (
        "import sys\n"
        "from steadyml.data.contract import load_contract\n"
        f"c = load_contract(__import__('pathlib').Path({str(tmp_path / 'contract.yaml')!r}))\n"
        "print(len(c.columns), [m for m in ('pandas', 'pandera', 'numpy') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[0] == "5 []"
