"""The contract's two levels: rules refuse a row, expectations (what training showed) flag it.

Real frames and real contract files; the row checks are the ones batch scoring and the API
share (``check_rows``), so their exact words are pinned here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steadyml.data.contract import (
    ColumnContract,
    ColumnRules,
    Contract,
    check_rows,
    column_from_dict,
    load_contract,
    row_refusals,
    row_warnings,
    save_contract,
    validate,
)
from steadyml.errors import DataContractError

TENURE = ColumnContract("tenure_months", "numeric", "integer", nullable=False, min=13, max=72)
PLAN = ColumnContract("plan", "categorical", "string", nullable=False, allowed=["a", "b"])
SCORED = "(scored; outside what the model saw)"


def _contract(*cols: ColumnContract) -> Contract:
    return Contract(columns={c.name: c for c in cols})


def test_a_new_cohort_below_the_training_range_is_scored_with_a_warning_per_row() -> None:
    frame = pd.DataFrame({"tenure_months": list(range(1, 13)), "plan": ["a"] * 12})
    check = check_rows(frame, [TENURE, PLAN])
    assert not check.refused.any() and check.reasons == {}
    assert check.flagged.all()
    assert check.row_warnings()[0] == [
        f"tenure_months: 1 is below the training range 13–72 {SCORED}"
    ]
    assert check.warning_counts == {"tenure_months: below the training range": 12}
    assert check.typed["tenure_months"].dtype == float
    report = validate(frame, _contract(TENURE, PLAN))
    assert report.passed and (report.bad_rows, report.flagged_rows) == (0, 12)
    assert [(v.rule, v.level, v.count) for v in report.violations] == [("range", "expectation", 12)]


def test_with_on_unexpected_refuse_the_new_cohort_is_refused_with_the_reason() -> None:
    frame = pd.DataFrame({"tenure_months": [1, 20], "plan": ["a", "a"]})
    check = check_rows(frame, [TENURE, PLAN], on_unexpected="refuse")
    assert check.refused.tolist() == [True, False] and check.warnings == {}
    assert check.reasons == {
        0: ["tenure_months: 1 is below the training range 13–72 (refused: on_unexpected is "
            "'refuse')"]
    }  # fmt: skip
    assert check.refused_counts == {"tenure_months: below the training range": 1}


def test_above_the_max_an_unseen_category_and_a_gap_are_warnings_not_refusals() -> None:
    frame = pd.DataFrame(
        {"tenure_months": [90, 20, np.nan], "plan": ["a", "weekly", "b"]}, dtype=object
    )
    warnings = row_warnings(frame, _contract(TENURE, PLAN))
    assert warnings == [
        [f"tenure_months: 90 is above the training range 13–72 {SCORED}"],
        [f"plan: 'weekly' was not seen in training, which had a, b {SCORED}"],
        [
            "tenure_months: is missing, and was never missing in training (scored; the model "
            "fills in missing values)"
        ],
    ]
    assert row_refusals(frame, _contract(TENURE, PLAN)) == [[], [], []]
    report = validate(frame, _contract(TENURE, PLAN))
    assert report.passed
    assert sorted((v.column, v.rule, v.level) for v in report.violations) == [
        ("plan", "allowed", "expectation"),
        ("tenure_months", "not_nullable", "expectation"),
        ("tenure_months", "range", "expectation"),
    ]


def test_a_rule_the_user_wrote_refuses_and_the_type_is_always_a_rule() -> None:
    tenure = ColumnContract(
        "tenure_months", "numeric", "integer", min=13, max=72, rules=ColumnRules(min=0)
    )
    plan = ColumnContract(
        "plan", "categorical", "string", allowed=["a"], rules=ColumnRules(allowed=["a", "b"])
    )
    frame = pd.DataFrame({"tenure_months": ["-5", "abc", "5", "5"], "plan": ["a", "a", "b", "zz"]})
    check = check_rows(frame, [tenure, plan])
    assert check.refused.tolist() == [True, True, False, True]
    assert check.reasons[0] == [
        "tenure_months: expects a number ≥ 0 (a rule in the contract); got '-5'"
    ]
    assert check.reasons[1] == [
        "tenure_months: expects a whole number (a rule: the column's type); got 'abc'"
    ]
    assert check.reasons[3] == [
        "plan: expects one of a, b (a rule in the contract); got 'zz'",
    ]  # the rule's break is the reason; the row is not also warned about
    assert check.warnings == {
        2: [
            f"tenure_months: 5 is below the training range 13–72 {SCORED}",
            f"plan: 'b' was not seen in training, which had a {SCORED}",
        ]
    }
    assert check.refused_counts == {
        "tenure_months: out of range": 1,
        "tenure_months: wrong type": 1,
        "plan: not allowed": 1,
    }
    report = validate(frame, _contract(tenure, plan))
    assert not report.passed and report.bad_rows == 3 and report.flagged_rows == 1
    assert sorted((v.column, v.rule, v.level, v.count) for v in report.violations) == [
        ("plan", "allowed", "expectation", 1),
        ("plan", "allowed", "rule", 1),
        ("tenure_months", "range", "expectation", 2),  # row 4 too (refused for plan)
        ("tenure_months", "range", "rule", 1),
        ("tenure_months", "type", "rule", 1),
    ]


def test_a_never_missing_rule_refuses_a_gap_and_an_absent_required_column_refuses_all() -> None:
    tenure = ColumnContract(
        "tenure_months", "numeric", "integer", rules=ColumnRules(nullable=False)
    )
    frame = pd.DataFrame({"tenure_months": [1.0, np.nan]})
    check = check_rows(frame, [tenure, PLAN])
    assert check.refused.tolist() == [True, True]
    assert check.reasons[1] == [
        "tenure_months: is empty; a rule in the contract says it is never missing",
        "plan: is absent; the model needs it",
    ]


OLD_FILE = """\
# The data contract of this project, inferred by `steadyml data check` from the training data.
version: 1
inferred_from: {source: data/train.csv, rows: 5}
columns:
  tenure_months: {role: numeric, type: integer, nullable: false, min: 13, max: 72}
  plan: {role: categorical, type: string, nullable: false, allowed: [a, b]}
"""


def test_an_old_contract_file_loads_and_its_bounds_are_expectations(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(OLD_FILE, encoding="utf-8")
    contract = load_contract(path)
    assert contract.columns["tenure_months"].rules == ColumnRules()
    assert not contract.has_rules
    frame = pd.DataFrame({"tenure_months": [1, 200], "plan": ["c", None]})
    check = check_rows(frame, contract.columns.values())
    assert not check.refused.any() and check.flagged.all()
    assert validate(frame, contract).passed


def test_rules_round_trip_and_the_header_explains_both_levels(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    tenure = ColumnContract(
        "tenure_months", "numeric", "integer", min=13, max=72, rules=ColumnRules(min=0, max=120)
    )
    save_contract(_contract(tenure, PLAN), path)
    text = path.read_text(encoding="utf-8")
    assert "# RULES: a row that breaks one is refused" in text
    assert "# EXPECTATIONS: what the training data showed" in text
    assert "rules: {min: 0, max: 120}" in text
    assert load_contract(path).columns == _contract(tenure, PLAN).columns


def test_rules_may_name_the_expectations_that_are_rules(tmp_path: Path) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(
        OLD_FILE.replace("allowed: [a, b]}", "allowed: [a, b], rules: [allowed, nullable]}"),
        encoding="utf-8",
    )
    plan = load_contract(path).columns["plan"]
    assert plan.rules == ColumnRules(allowed=["a", "b"], nullable=False)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("{minimum: 0}", r"columns.tenure_months.rules has unknown key\(s\) \['minimum'\]"),
        ("{min: zero}", r"columns.tenure_months.rules.min must be a number; got 'zero'"),
        ("{min: 9, max: 1}", r"columns.tenure_months.rules: min 9 is above max 1; swap them"),
        ("{allowed: a}", r"columns.tenure_months.rules.allowed must be a list of values"),
        ("{nullable: maybe}", r"columns.tenure_months.rules.nullable must be true or false"),
        ("[low]", r"columns.tenure_months.rules names \['low'\]; a rule is one of min, max"),
        ("[allowed]", r"columns.tenure_months.rules names \['allowed'\], which the column does"),
        ("yes", r"columns.tenure_months.rules must be a mapping or a list; got True"),
    ],
)
def test_wrong_rules_are_clear_errors(tmp_path: Path, rules: str, message: str) -> None:
    path = tmp_path / "contract.yaml"
    path.write_text(OLD_FILE.replace("max: 72}", f"max: 72, rules: {rules}}}"), encoding="utf-8")
    with pytest.raises(DataContractError, match=message):
        load_contract(path)


def test_a_stored_column_with_or_without_rules_loads() -> None:
    from dataclasses import asdict

    tenure = ColumnContract("t", "numeric", "integer", min=1, rules=ColumnRules(min=0))
    assert column_from_dict(asdict(tenure)) == tenure
    old = {"name": "t", "role": "numeric", "type": "integer", "nullable": True, "min": 1}
    assert column_from_dict(old).rules == ColumnRules()


# --- property: data drawn from a contract's rules is never refused -------------------------


@st.composite
def ruled_contract_and_frame(draw: st.DrawFn) -> tuple[Contract, pd.DataFrame]:
    """A contract with rules and expectations, and data anywhere inside the rules (so often
    outside the expectations: what training happened to contain)."""
    cols: dict[str, ColumnContract] = {}
    data: dict[str, list[object]] = {}
    rows = draw(st.integers(1, 20))
    for i in range(draw(st.integers(1, 4))):
        name = f"c{i}"
        nullable_rule = draw(st.sampled_from([None, False]))
        if draw(st.booleans()):
            values = sorted(draw(st.lists(st.from_regex(r"[a-z]{1,4}", fullmatch=True),
                                          min_size=1, max_size=5, unique=True)))  # fmt: skip
            seen = values[: draw(st.integers(1, len(values)))]
            rules = ColumnRules(
                allowed=values if draw(st.booleans()) else None, nullable=nullable_rule
            )
            cols[name] = ColumnContract(
                name, "categorical", "string", nullable=False, allowed=seen, rules=rules
            )
            pool: list[object] = list(values if rules.allowed else [*values, "zz"])
        else:
            lo = draw(st.integers(-100, 100))
            hi = lo + draw(st.integers(0, 100))
            rules = ColumnRules(min=lo - draw(st.integers(0, 50)), max=hi + 50,
                                nullable=nullable_rule)  # fmt: skip
            cols[name] = ColumnContract(
                name, "numeric", "integer", nullable=False, min=lo, max=hi, rules=rules
            )
            pool = list(range(int(rules.min or 0), int(rules.max or 0) + 1))
        column: list[object] = []
        for _ in range(rows):
            if nullable_rule is None and draw(st.integers(0, 5)) == 0:
                column.append(None)
            else:
                column.append(draw(st.sampled_from(pool)))
        data[name] = column
    return Contract(columns=cols), pd.DataFrame(data)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruled_contract_and_frame())
def test_data_within_the_rules_is_never_refused(cf: tuple[Contract, pd.DataFrame]) -> None:
    contract, frame = cf
    check = check_rows(frame, contract.columns.values())
    assert not check.refused.any(), check.reasons
    refusing = check_rows(frame, contract.columns.values(), on_unexpected="refuse")
    assert (refusing.refused == check.flagged).all()  # refuse mode refuses exactly the flagged
    report = validate(frame, contract)
    assert report.passed, [v.message for v in report.broken_rules]
    assert report.flagged_rows == int(check.flagged.sum())
