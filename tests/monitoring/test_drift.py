"""Drift statistics: equal to scipy's, "not enough data" below the floor, readable verdicts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from steadyml.entities import Roles
from steadyml.monitoring.drift import (
    CategoricalReference,
    DriftSettings,
    NumericReference,
    categorical_drift,
    drift_table,
    numeric_drift,
)
from steadyml.training import reference_stats
from steadyml.training.reference import numeric_summary

# every sample is tested, whatever its size; the window size picks the test
SMALL = DriftSettings(min_samples=1, large_sample=10**9)
LARGE = DriftSettings(min_samples=1, large_sample=1)

values = st.lists(
    st.one_of(
        st.integers(-5, 5).map(float),  # many ties
        st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=200,
)
labels = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), min_size=1, max_size=300)
fast = settings(max_examples=60, deadline=None)


def close(a: float | None, b: float) -> bool:
    return a is not None and abs(a - b) <= 1e-9 * max(1.0, abs(b))


@fast
@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@given(values, values)
def test_ks_equals_scipy(ref: list[float], cur: list[float]) -> None:
    out = numeric_drift("x", NumericReference.from_values(ref), cur, SMALL)
    expected = stats.ks_2samp(ref, cur)
    assert out.test == "ks"
    assert close(out.statistic, expected.statistic) and close(out.p_value, expected.pvalue)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(10_001, 30_000), st.integers(1, 999))
def test_ks_with_a_large_reference_equals_scipy(seed: int, n: int, m: int) -> None:
    # above 10,000 values scipy switches to the asymptotic p-value; ours searches the
    # sorted reference instead of sorting both samples again
    rng = np.random.default_rng(seed)
    ref = np.round(rng.normal(size=n), 2)
    cur = np.round(rng.normal(rng.uniform(-0.2, 0.2), 1, size=m), 2)
    out = numeric_drift("x", NumericReference.from_values(ref), cur, SMALL)
    expected = stats.ks_2samp(ref, cur)
    assert close(out.statistic, expected.statistic) and close(out.p_value, expected.pvalue)


@fast
@given(values, values)
def test_wasserstein_normed_equals_scipy(ref: list[float], cur: list[float]) -> None:
    out = numeric_drift("x", NumericReference.from_values(ref), cur, LARGE)
    expected = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    assert out.test == "wasserstein" and out.threshold_kind == "distance"
    assert close(out.statistic, expected)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 200_000), st.integers(1, 200_000))
def test_wasserstein_on_large_samples_equals_scipy(seed: int, n: int, m: int) -> None:
    rng = np.random.default_rng(seed)
    ref, cur = rng.gamma(2.0, size=n), np.round(rng.gamma(2.2, size=m), 1)
    out = numeric_drift("x", NumericReference.from_values(ref), cur, LARGE)
    expected = stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
    assert close(out.statistic, expected)


def _table(ref: list[str], cur: list[str]) -> tuple[np.ndarray, np.ndarray]:
    keys = sorted(set(ref) | set(cur))
    r = np.array([ref.count(k) for k in keys], dtype=float)
    c = np.array([cur.count(k) for k in keys], dtype=float)
    return r, c


@fast
@given(labels, labels)
def test_chi_square_is_the_homogeneity_test_of_scipy(ref: list[str], cur: list[str]) -> None:
    out = categorical_drift("c", CategoricalReference.from_values(ref), cur, SMALL)
    r, c = _table(ref, cur)
    assert out.test == "chi_square"
    if len(r) < 2:
        assert out.statistic == 0.0 and out.p_value == 1.0
        return
    expected = stats.chi2_contingency(np.vstack((r, c)), correction=False)
    assert close(out.statistic, expected.statistic) and close(out.p_value, expected.pvalue)


@fast
@given(labels, labels)
def test_jensen_shannon_equals_scipy(ref: list[str], cur: list[str]) -> None:
    out = categorical_drift("c", CategoricalReference.from_values(ref), cur, LARGE)
    r, c = _table(ref, cur)
    assert out.test == "jensen_shannon"
    assert close(out.statistic, float(distance.jensenshannon(r / r.sum(), c / c.sum())))


def test_below_min_samples_is_not_enough_data_never_drift() -> None:
    rng = np.random.default_rng(0)
    ref = NumericReference.from_values(rng.normal(size=5000))
    out = numeric_drift("age", ref, rng.normal(10, 1, size=199), DriftSettings())
    assert out.status == "not enough data" and out.drifted is None and out.test is None
    assert out.n_current == 199 and "at least 200" in out.message
    small_ref = CategoricalReference.from_values(["a"] * 150)
    out = categorical_drift("plan", small_ref, ["b"] * 500, DriftSettings())
    assert out.status == "not enough data" and "150 reference values" in out.message


@pytest.mark.parametrize("n", [300, 5000])
def test_clear_shift_is_drift_and_same_distribution_is_not(n: int) -> None:
    rng = np.random.default_rng(1)
    ref = NumericReference.from_values(rng.normal(50, 10, size=20_000))
    same = numeric_drift("charges", ref, rng.normal(50, 10, size=n), DriftSettings())
    moved = numeric_drift("charges", ref, rng.normal(56, 10, size=n), DriftSettings())
    assert same.status == "ok" and same.drifted is False
    assert moved.status == "drift" and moved.drifted is True
    assert moved.test == ("ks" if n < 1000 else "wasserstein")
    assert moved.message.startswith("charges moved: ")

    cats = CategoricalReference.from_values(rng.choice(["m", "y", "2y"], 20_000, p=[0.5, 0.3, 0.2]))
    ok = categorical_drift(
        "contract", cats, rng.choice(["m", "y", "2y"], n, p=[0.5, 0.3, 0.2]), DriftSettings()
    )
    bad = categorical_drift(
        "contract", cats, rng.choice(["m", "y", "2y"], n, p=[0.8, 0.1, 0.1]), DriftSettings()
    )
    assert ok.status == "ok" and bad.status == "drift"
    assert bad.test == ("chi_square" if n < 1000 else "jensen_shannon")


def test_psi_is_flagged_but_does_not_decide_drift() -> None:
    rng = np.random.default_rng(2)
    ref = NumericReference.from_values(rng.normal(size=5000))
    cur = np.concatenate([rng.normal(size=4000), np.full(1000, 3.5)])  # a new lump past the top
    loose = DriftSettings(distance=10.0)
    out = numeric_drift("x", ref, cur, loose)
    assert out.psi is not None and out.psi > 0.2 and out.psi_flagged is True
    assert out.drifted is False and "PSI" in out.message
    # PSI on the extended bins: the lump lands in the last (open-ended) bin
    assert out.histogram["current"][-1] > 0.25
    r, c = np.asarray(out.histogram["reference"]), np.asarray(out.histogram["current"])
    assert abs(out.psi - float(np.sum((c - r) * np.log(c / r)))) < 1e-12


def test_missing_values_are_not_tested_and_not_counted() -> None:
    ref = NumericReference.from_values([1.0, 2.0, np.nan, np.inf, 3.0])
    assert ref.values.tolist() == [1.0, 2.0, 3.0]
    out = numeric_drift("x", ref, pd.Series([1.0, None, 2.0, "oops"], dtype=object), SMALL)
    assert out.n_reference == 3 and out.n_current == 2
    cats = categorical_drift(
        "c", CategoricalReference.from_values(["a", None, 1]), [np.nan, "1"], SMALL
    )
    assert cats.n_reference == 2 and cats.n_current == 1  # 1 and "1" are the same category


def test_new_category_counts_as_its_own_and_other_bucket_absorbs_unknowns() -> None:
    ref = CategoricalReference.from_values(["a"] * 300 + ["b"] * 300)
    out = categorical_drift("c", ref, ["a"] * 300 + ["z"] * 300, SMALL)
    hist = dict(zip(out.histogram["categories"], out.histogram["reference"], strict=True))
    assert hist == {"a": 0.5, "b": 0.5, "z": 0.0}
    assert out.drifted is True
    summary = {"n": 600, "missing_rate": 0.0, "frequencies": {"a": 0.5, "__other__": 0.5}}
    folded = CategoricalReference.from_summary(summary)
    assert folded.counts == {"a": 300, "__other__": 300} and folded.has_other
    same = categorical_drift("c", folded, ["a"] * 300 + ["q", "r", "s"] * 100, SMALL)
    assert same.statistic == 0.0 and same.drifted is False


def test_from_summary_reads_a_real_reference_summary() -> None:
    rng = np.random.default_rng(3)
    amount = rng.normal(50, 10, size=4000)
    amount[:40] = np.nan
    X = pd.DataFrame({"amount": amount, "city": rng.choice(["x", "y", "z"], size=4000)})
    roles = Roles(target="y", numeric=("amount",), categorical=("city",))
    summary = reference_stats(X, roles, np.zeros(4000), "regression")["features"]

    full = NumericReference.from_values(X["amount"])
    num = NumericReference.from_summary(summary["amount"])
    assert np.array_equal(num.edges, full.edges) and np.allclose(num.shares, full.shares)
    assert abs(num.std - full.std) < 1e-9 and len(num.values) == 1000
    cats = CategoricalReference.from_summary(summary["city"])
    assert cats.counts == CategoricalReference.from_values(X["city"]).counts

    # a summary written before std_population and counts existed
    old_num = {k: v for k, v in summary["amount"].items() if k != "std_population"}
    assert abs(NumericReference.from_summary(old_num).std - full.std) < 1e-9
    old_cat = {k: v for k, v in summary["city"].items() if k != "counts"}
    assert CategoricalReference.from_summary(old_cat).counts == cats.counts

    out = drift_table({"amount": num, "city": cats}, X.iloc[:500], DriftSettings())
    assert [f.status for f in out] == ["ok", "ok"] and out[0].n_reference == 1000


def test_constant_reference_from_summary_and_values_agree() -> None:
    summary = numeric_summary(pd.Series([5.0] * 400))
    live = [5.0] * 300 + [9.0] * 100
    a = numeric_drift("k", NumericReference.from_summary(summary), live, DriftSettings())
    b = numeric_drift("k", NumericReference.from_values([5.0] * 400), live, DriftSettings())
    assert a.histogram == b.histogram and a.histogram["current"] == [0.0, 0.75, 0.25]
    assert a.drifted is True and b.drifted is True


def test_drift_table_keeps_reference_order_skips_absent_columns() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.choice(["u", "v"], 3000)})
    refs = {
        "b": CategoricalReference.from_values(ref["b"]),
        "gone": NumericReference.from_values(ref["a"]),
        "a": NumericReference.from_values(ref["a"]),
    }
    cur = ref.sample(frac=1.0, random_state=0)
    one = drift_table(refs, cur, DriftSettings(), threads=1)
    many = drift_table(refs, cur, DriftSettings(), threads=4)
    assert [f.feature for f in one] == ["b", "a"]
    assert [f.to_dict() for f in one] == [f.to_dict() for f in many]


def test_to_dict_is_json_safe() -> None:
    rng = np.random.default_rng(5)
    refs = {
        "n": NumericReference.from_values(rng.normal(size=500)),
        "c": CategoricalReference.from_values(rng.choice(["p", "q"], 500)),
    }
    cur = pd.DataFrame({"n": rng.normal(size=100), "c": rng.choice(["p", "q"], 100)})
    for frame in (cur, pd.concat([cur] * 5)):
        for f in drift_table(refs, frame, DriftSettings()):
            text = json.dumps(f.to_dict(), allow_nan=False)
            assert json.loads(text)["feature"] == f.feature


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match=r"p_value must be between 0 and 1\. Got 5"):
        DriftSettings(p_value=5)


def test_a_distance_over_the_line_by_chance_is_not_drift() -> None:
    # 40 categories at 1,000 rows per side: the Jensen-Shannon distance of two samples of one
    # distribution often passes 0.1; the chi-square p-value says it is chance
    rng = np.random.default_rng(6)
    labels = [f"k{i}" for i in range(40)]
    ref = CategoricalReference.from_values(rng.choice(labels, 1000))
    outs = [
        categorical_drift("c", ref, rng.choice(labels, 1000), DriftSettings()) for _ in range(20)
    ]
    assert any(o.statistic is not None and o.statistic > 0.1 for o in outs)
    assert not any(o.drifted for o in outs)
    chance = next(o for o in outs if o.statistic is not None and o.statistic > 0.1)
    assert chance.test == "jensen_shannon" and chance.p_value is not None
    assert "can be chance" in chance.message
