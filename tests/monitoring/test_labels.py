"""Canonical category labels and logged values read in the contract's type (issue 11).

The property tests hold ``category_label`` to its promise (one value, one label, however it
was read or logged); the window tests feed a log shaped the way the paths write it (API
integers, batch floats, refused text) through the monitor's own reading and drift table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from steadyml.entities import Roles
from steadyml.monitoring.drift import DriftSettings
from steadyml.monitoring.inputs import as_contract_type, canonical_summary, typed_inputs
from steadyml.monitoring.measures import data_quality, window_drift
from steadyml.monitoring.references import CategoricalReference, feature_references
from steadyml.training.reference import (
    OTHER,
    category_label,
    category_labels,
    label_counts,
    reference_stats,
)

MakeLog = Callable[..., pd.DataFrame]
SMALL = DriftSettings(min_samples=50, large_sample=10**9)


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_every_spelling_of_a_whole_number_has_one_label(n: int) -> None:
    spellings = [n, np.int64(n), str(n), f" {n} ", f"{n}.0", f"{n}.000"]
    if abs(n) < 2**53:  # floats hold these exactly
        spellings += [float(n), np.float64(n), repr(float(n))]
    assert {category_label(v) for v in spellings} == {str(n)}


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_and_its_text_share_a_label_and_fractions_stay_apart(x: float) -> None:
    assert category_label(x) == category_label(repr(x)) == category_label(np.float64(x))
    if not x.is_integer():
        assert category_label(x) != category_label(int(x))  # 1.5 is not 1
        assert category_label(x) == repr(x)


@given(st.booleans(), st.sampled_from([str.lower, str.upper, str.title, lambda s: f" {s} "]))
def test_booleans_have_one_label_however_spelled(b: bool, spell: Callable[[str], str]) -> None:
    labels = {category_label(b), category_label(np.bool_(b)), category_label(spell(str(b)))}
    assert labels == {"True" if b else "False"}


@given(st.text(max_size=12))
def test_labels_are_stable_and_stripped(text: str) -> None:
    label = category_label(text)
    assert category_label(label) == label  # labelling twice changes nothing
    assert label == label.strip()


def test_codes_with_leading_zeros_stay_codes() -> None:
    assert [category_label(v) for v in ["07", "007.0", "0", "-0", "0.0"]] == [
        "07", "007.0", "0", "0", "0"]  # fmt: skip


@given(st.lists(st.one_of(st.integers(-5, 5), st.booleans(), st.none(),
                          st.sampled_from(["1", "1.0", "a", " a", "true"])), max_size=40))  # fmt: skip
def test_counts_equal_counting_the_labels_one_by_one(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    expected: dict[str, int] = {}
    for v in values:
        if v is not None:
            expected[category_label(v)] = expected.get(category_label(v), 0) + 1
    assert label_counts(series) == expected  # True and 1 are not merged by hashing
    labels = category_labels(series)
    assert labels.isna().tolist() == [v is None for v in values]


def _reference(train: pd.DataFrame, categorical: tuple[str, ...]) -> dict[str, Any]:
    """The feature summaries training stores with a model version, from ``train``."""
    numeric = tuple(c for c in train.columns if c not in categorical)
    roles = Roles(target="y", numeric=numeric, categorical=categorical)
    stats = reference_stats(train, roles, np.zeros(len(train)), "regression")
    features: dict[str, Any] = stats["features"]
    return features


def test_a_flag_read_as_floats_gets_integer_labels_in_the_reference() -> None:
    train = pd.DataFrame({"flag": [1.0, 0.0, np.nan, 1.0], "member": [True, False, True, True]})
    features = _reference(train, ("flag", "member"))
    assert features["flag"]["counts"] == {"1": 2, "0": 1}  # not "1.0" / "0.0"
    assert features["flag"]["missing_rate"] == 0.25
    assert features["member"]["counts"] == {"True": 3, "False": 1}


def test_stored_references_with_float_labels_are_made_canonical_and_merged() -> None:
    old = {"kind": "categorical", "n": 10, "missing_rate": 0.0,
           "counts": {"1.0": 6, "0.0": 3, "1": 1}, "frequencies": {"1.0": 0.6, "0.0": 0.3, "1": 0.1}}  # fmt: skip
    assert CategoricalReference.from_summary(old).counts == {"1": 7, "0": 3}
    assert canonical_summary(old)["frequencies"] == pytest.approx({"1": 0.7, "0": 0.3})
    boolean = {"kind": "categorical", "counts": {"1": 4, "0": 6, OTHER: 2}}
    assert canonical_summary(boolean, "boolean")["counts"] == {"True": 4, "False": 6, OTHER: 2}


def test_values_are_read_in_the_contract_type() -> None:
    raw = pd.Series([1, "0", "yes", "No", 1.0, True, None, "maybe"], dtype=object)
    read = as_contract_type(raw, "boolean").tolist()
    assert read == [True, False, True, False, True, True, None, "maybe"]
    numbers = as_contract_type(pd.Series(["1", 2, None, "x"], dtype=object), "integer")
    assert category_labels(numbers).tolist() == ["1", "2", None, "x"]


def _paths_log(make_log: MakeLog, n: int, seed: int, moved: bool = False) -> pd.DataFrame:
    """A window logged by three paths at once, each in its own shapes: API answers (JSON ints
    and booleans), a batch file (floats, booleans as text) and refused records (text)."""
    rng = np.random.default_rng(seed)
    plan = rng.choice([0, 1, 2], n, p=[0.1, 0.3, 0.6] if moved else [0.5, 0.3, 0.2])
    member = rng.random(n) < (0.75 if moved else 0.3)
    amount = rng.normal(65.0 if moved else 50.0, 10.0, n)
    amount[rng.random(n) < 0.1] = np.nan
    third = n // 3
    plan_logged: list[object] = [int(v) for v in plan[:third]]
    plan_logged += [float(v) for v in plan[third : 2 * third]] + [str(v) for v in plan[2 * third :]]  # fmt: skip
    member_logged: list[object] = [bool(v) for v in member[:third]]
    member_logged += [str(bool(v)) for v in member[third : 2 * third]]
    member_logged += [str(bool(v)).lower() for v in member[2 * third :]]
    amount_logged: list[object] = [None if np.isnan(v) else float(v) for v in amount[:third]]
    amount_logged += [None if np.isnan(v) else str(v) for v in amount[third:]]
    return make_log(n, plan=plan_logged, member=member_logged, amount=amount_logged)


def test_a_window_from_every_path_compares_in_the_contract_type(make_log: MakeLog) -> None:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({
        "plan": np.where(rng.random(900) < 0.02, np.nan, rng.choice([0, 1, 2], 900, p=[0.5, 0.3, 0.2])),
        "member": rng.random(900) < 0.3,
        "amount": np.where(rng.random(900) < 0.1, np.nan, rng.normal(50.0, 10.0, 900)),
    })  # fmt: skip
    features = _reference(train, ("plan", "member"))
    types = {"plan": "integer", "member": "boolean", "amount": "number"}
    references = feature_references({"features": features})
    for moved, expect in ((False, []), (True, ["plan", "member", "amount"])):
        log = _paths_log(make_log, 600, seed=5, moved=moved)
        typed_inputs(log, features, {}, types)
        drift = window_drift(log, log, references, None, SMALL)
        assert sorted(drift["drifted"]) == sorted(expect), [d["message"] for d in drift["features"]]
        quality = {q["feature"]: q for q in data_quality(log, 0, 600, features, {})["features"]}
        assert quality["plan"]["unseen_rate"] == quality["member"]["unseen_rate"] == 0.0
