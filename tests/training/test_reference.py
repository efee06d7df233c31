"""Reference statistics: deterministic, JSON-safe summaries monitoring compares live data with."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from steadyml.entities import Roles
from steadyml.training import reference_stats

ROLES = Roles(
    target="y",
    numeric=("amount", "calls"),
    categorical=("city",),
    text=("note",),
    sensitive=("gender",),
    pii=("email",),
)


def make_train(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    amount = rng.normal(50, 10, n)
    amount[:30] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "calls": rng.integers(-1, 4, n),
            "city": [f"c{i}" for i in rng.integers(0, 150, n)],
            "note": rng.choice(["ok", "call me back", None], n),
            "gender": rng.choice(["f", "m"], n),
            "email": "x@example.org",
        }
    )


def test_feature_summaries() -> None:
    X = make_train()
    proba = np.column_stack([np.linspace(0, 1, len(X))[::-1], np.linspace(0, 1, len(X))])
    ref = reference_stats(X, ROLES, proba, "classification", classes=[0, 1], positive_label=1)
    assert set(ref["features"]) == {"amount", "calls", "city", "note"}  # features only
    amount = ref["features"]["amount"]
    assert amount["kind"] == "numeric" and amount["n"] == 3000
    assert amount["missing_rate"] == 0.01
    assert (
        amount["quantiles"] == sorted(set(amount["quantiles"])) and len(amount["quantiles"]) == 11
    )
    assert sum(amount["bin_counts"]) == 2970 and len(amount["sample"]) == 1000
    city = ref["features"]["city"]
    assert city["kind"] == "categorical" and len(city["frequencies"]) == 101
    assert (
        abs(sum(city["frequencies"].values()) - 1.0) < 1e-9 and "__other__" in city["frequencies"]
    )
    note = ref["features"]["note"]
    assert note["kind"] == "text" and 0.2 < note["missing_rate"] < 0.45 and note["mean_length"] > 2
    pred = ref["prediction"]
    assert pred["positive_label"] == 1 and sum(pred["score_bin_counts"]) == 3000
    assert set(pred["class_frequencies"]) == {"0", "1"}
    json.dumps(ref)


def test_missing_codes_count_as_missing() -> None:
    X = make_train()
    ref = reference_stats(
        X, ROLES, np.zeros((len(X), 2)), "classification", missing_codes={"calls": [-1]}
    )
    calls = ref["features"]["calls"]
    assert calls["missing_rate"] == float((X["calls"] == -1).mean())
    assert calls["min"] == 0.0


def test_same_data_same_summary() -> None:
    X = make_train()
    preds = np.random.default_rng(0).normal(size=len(X))
    a = reference_stats(X, ROLES, preds, "regression")
    b = reference_stats(X.copy(), ROLES, preds.copy(), "regression")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["prediction"]["kind"] == "regression" and len(a["prediction"]["sample"]) == 1000


def test_constant_column_has_one_bin() -> None:
    X = make_train().assign(amount=5.0)
    ref = reference_stats(X, ROLES, np.zeros(len(X)), "regression")
    assert ref["features"]["amount"]["quantiles"] == [5.0, 5.0]
    assert ref["features"]["amount"]["bin_counts"] == [3000]


def test_exact_counts_and_population_std_for_drift_tests() -> None:
    X = make_train()
    ref = reference_stats(X, ROLES, np.zeros(len(X)), "regression")
    city = ref["features"]["city"]
    assert set(city["counts"]) == set(city["frequencies"])
    assert sum(city["counts"].values()) == 3000
    for label, count in city["counts"].items():
        assert city["frequencies"][label] == count / 3000
    amount = ref["features"]["amount"]
    present = X["amount"].dropna().to_numpy()
    assert amount["std_population"] == float(present.std(ddof=0))
    assert amount["std"] == float(present.std(ddof=1))
