"""training.split.method: group keeps each person's (customer's) rows together, and the
calibration behind estimates before labels is checked on whole held-out people too."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from steadyml.config import SplitConfig, TrainingSection, parse_config
from steadyml.data.split import group_codes, split_rows
from steadyml.entities import Roles
from steadyml.errors import ConfigError, DataError
from steadyml.training import train_model
from steadyml.training.calibration import fit_calibration


def _panel(people: int = 120, years: int = 5, seed: int = 0) -> pd.DataFrame:
    """One row per person and year; each person has a lasting trait the features hint at."""
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=people)
    rows = []
    for person in range(people):
        for year in range(years):
            x = trait[person] + rng.normal(scale=0.3)
            rows.append({"person": f"p{person:03d}", "x": x, "year": year,
                         "y": "yes" if trait[person] + rng.normal() > 0 else "no"})  # fmt: skip
    return pd.DataFrame(rows)


ROLES = Roles(target="y", id="person", numeric=("x", "year"))


def test_a_group_split_never_puts_one_person_on_both_sides() -> None:
    frame = _panel()
    train, test = split_rows(frame, ROLES, "group", 0.25, 3, column="person")
    assert len(train) + len(test) == len(frame)
    assert not set(frame.loc[train, "person"]) & set(frame.loc[test, "person"])
    assert frame.loc[test, "person"].nunique() == 30  # a quarter of the people, not rows
    again = split_rows(frame, ROLES, "group", 0.25, 3, column="person")
    assert (list(again[0]), list(again[1])) == (list(train), list(test))  # repeatable


def test_rows_without_a_group_are_groups_of_their_own_and_errors_teach() -> None:
    codes = group_codes(pd.Series(["a", None, "a", None, "b"]))
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 4
    one = pd.DataFrame({"person": ["a"] * 5, "y": [0, 1] * 2 + [0]})
    with pytest.raises(DataError, match=r"holds 1 group; a group split needs at least 2"):
        split_rows(one, ROLES, "group", column="person")
    with pytest.raises(DataError, match="no column names the groups") as info:
        split_rows(one, ROLES, "group")
    assert "training.split.column" in (info.value.hint or "")


def _raw(split: dict[str, object]) -> dict[str, object]:
    return {
        "project": {"name": "p", "problem": "x", "prediction_target": "y", "users": "u",
                    "success_metric": {"name": "roc_auc", "threshold": 0.7}},
        "owners": {"model": "a", "deployment": "b", "monitoring": "c", "release_approver": "d"},
        "data": {"source": "d.csv", "target": "y", "columns": {"numeric": ["a"]}},
        "training": {"split": split},
    }  # fmt: skip


def test_method_group_needs_the_column_that_names_the_groups() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_raw({"method": "group"}))
    [problem] = info.value.problems
    assert problem.startswith("training.split:") and "add `column: <name>`" in problem
    split = parse_config(_raw({"method": "group", "column": "person"})).training.split
    assert (split.method, split.column) == ("group", "person")


def _train(frame: pd.DataFrame, roles: Roles) -> object:
    training = TrainingSection(
        split=SplitConfig(method="group", column="person", test_size=0.25), models=["linear"]
    )
    return train_model(frame, roles, training, task="classification",
                       primary_metric="roc_auc", direction="higher_is_better")  # fmt: skip


def test_training_tests_on_new_people_and_checks_calibration_on_whole_people() -> None:
    frame = _panel()
    outcome = _train(frame, ROLES)
    split = outcome.split  # type: ignore[attr-defined]
    assert (split["method"], split["column"]) == ("group", "person")
    assert (split["train_groups"], split["test_groups"]) == (90, 30)
    assert split["test_rows"] == 150
    estimation = outcome.reference["estimation"]  # type: ignore[attr-defined]
    assert estimation["groups"] == 30  # the calibration check held out whole people


def test_the_group_column_can_never_be_a_feature() -> None:
    roles = Roles(target="y", numeric=("x", "year"), categorical=("person",))
    with pytest.raises(DataError, match=r"names the groups of the split .* also a feature"):
        _train(_panel(), roles)


def test_a_persons_other_rows_do_not_vouch_for_the_calibration() -> None:
    """Held-out rows that repeat people (five near-copies each): checked row by row, a
    calibrator fitted on four of a person's rows looks right on the fifth; checked by whole
    people it shows the error it will have on new people, and its bootstrap spread (whole
    people drawn) is wider."""
    rng = np.random.default_rng(1)
    people, years = 300, 5
    score = np.repeat(rng.random(people), years) + rng.normal(scale=0.01, size=people * years)
    score = np.clip(score, 0.001, 0.999)
    chance = np.repeat(rng.random(people), years)  # unrelated to the score: all noise
    truth = np.repeat(rng.random(people), years) < chance  # one outcome per person
    groups = np.repeat(np.arange(people), years)
    by_row = fit_calibration(truth, score, cut=0.5)
    by_group = fit_calibration(truth, score, cut=0.5, groups=groups)
    assert by_group["groups"] == people and "groups" not in by_row
    assert by_group["ece_after_split"] > 1.5 * by_row["ece_after_split"]

    def spread(record: dict[str, object]) -> float:
        maps = np.asarray(record["resampled_y"], dtype=float)
        return float(maps.std(axis=0).mean())

    assert spread(by_group) > 1.5 * spread(by_row)


def test_init_keeps_a_repeating_ids_rows_together(tmp_path: Path) -> None:
    """A panel (the id repeats across years): init says so and writes a group split; the
    project trains on it, tested on people it has not seen."""
    from steadyml.config import load_config
    from steadyml.flows.plan import init_from_data

    frame = _panel().drop(columns=["year"])
    data = tmp_path / "panel.csv"
    frame.to_csv(data, index=False)
    result = init_from_data(tmp_path / "p", data, target="y", id="person")
    split = load_config(result.config_path).config.training.split
    assert (split.method, split.column) == ("group", "person")
    assert any("Column 'person' (given with --id) has 480 repeated values. If rows" in w
               and "training.split.method: group" in w for w in result.warnings)  # fmt: skip
    unique = frame.drop_duplicates("person")  # one row per person: no group split
    unique.to_csv(data, index=False)
    again = init_from_data(tmp_path / "q", data, target="y", id="person")
    assert load_config(again.config_path).config.training.split.method == "stratified"


def test_a_repeating_column_named_like_an_id_is_never_a_feature_and_groups_the_split(
    tmp_path: Path,
) -> None:
    """customer_id repeating (five rows per customer) was guessed a numeric feature: the
    model would have learnt customer numbers. It is dropped and groups the split."""
    from steadyml.config import load_config
    from steadyml.flows.plan import init_from_data

    frame = _panel().drop(columns=["year"])
    frame["customer_id"] = frame["person"].str[1:].astype(int) + 1000
    frame = frame.drop(columns=["person"])
    data = tmp_path / "panel.csv"
    frame.to_csv(data, index=False)
    result = init_from_data(tmp_path / "p", data, target="y")
    config = load_config(result.config_path).config
    assert "customer_id" in config.data.columns.drop
    assert "customer_id" not in config.data.roles().features
    assert (config.training.split.method, config.training.split.column) == (
        "group", "customer_id")  # fmt: skip
    assert any("Column 'customer_id' looks like an identifier that repeats" in w
               for w in result.warnings)  # fmt: skip
