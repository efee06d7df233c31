"""training.split.method: column keeps the user's own train/test split (issue 11, part 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from steadyml.config import SplitConfig, TrainingSection, load_config, parse_config
from steadyml.data.split import split_rows
from steadyml.entities import Roles
from steadyml.errors import ConfigError, DataError
from steadyml.flows.plan import init_from_data
from steadyml.training import train_model


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "colour": rng.choice(["red", "blue"], n),
            "sample": np.where(np.arange(n) % 4 == 0, "test", "train"),
            "y": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )


ROLES = Roles(
    target="y", numeric=("x",), categorical=("colour",), drop={"sample": "the train/test split"}
)


def test_rows_marked_test_in_any_case_are_the_test_rows_and_the_rest_train() -> None:
    frame = pd.DataFrame({"part": ["train", "TEST", " Validation", None, "holdout", "other"]})
    train, test = split_rows(frame, Roles(target="y"), "column", column="part")
    assert list(test) == [1, 2, 4]
    assert list(train) == [0, 3, 5]  # missing and unknown values train


def test_test_values_are_the_users_to_choose() -> None:
    frame = pd.DataFrame({"part": ["fit", "dev", "fit", "dev"]})
    train, test = split_rows(
        frame, Roles(target="y"), "column", column="part", test_values=("dev",)
    )
    assert (list(train), list(test)) == ([0, 2], [1, 3])


def test_a_split_with_no_test_row_says_what_the_column_holds() -> None:
    frame = pd.DataFrame({"part": ["a", "b", "a"]})
    with pytest.raises(DataError, match=r"makes no row a test row.*holds 'a', 'b'") as info:
        split_rows(frame, Roles(target="y"), "column", column="part")
    assert "training.split.test_values" in (info.value.hint or "")
    with pytest.raises(DataError, match="no column is named"):
        split_rows(frame, Roles(target="y"), "column")
    with pytest.raises(DataError, match=r"split column .nope. named in steadyml\.yaml"):
        split_rows(frame, Roles(target="y"), "column", column="nope")


def _raw(split: dict[str, object]) -> dict[str, object]:
    return {
        "project": {
            "name": "p",
            "problem": "x",
            "prediction_target": "y",
            "users": "u",
            "success_metric": {"name": "roc_auc", "threshold": 0.7},
        },
        "owners": {"model": "a", "deployment": "b", "monitoring": "c", "release_approver": "d"},
        "data": {"source": "d.csv", "target": "y", "columns": {"numeric": ["a"]}},
        "training": {"split": split},
    }


def test_method_column_without_a_column_is_a_teaching_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_raw({"method": "column"}))
    [problem] = info.value.problems
    assert problem.startswith("training.split:")
    assert "add `column: <name>` under training.split" in problem
    with pytest.raises(ConfigError, match="write `method: column`"):
        parse_config(_raw({"method": "random", "column": "sample"}))
    split = parse_config(_raw({"method": "column", "column": "sample"})).training.split
    assert (split.column, split.test_values) == (
        "sample",
        ["test", "validation", "valid", "holdout"],
    )


def _train(frame: pd.DataFrame, roles: Roles) -> object:
    training = TrainingSection(
        split=SplitConfig(method="column", column="sample"), models=["linear"]
    )
    return train_model(
        frame,
        roles,
        training,
        task="classification",
        primary_metric="roc_auc",
        direction="higher_is_better",
    )


def test_training_keeps_the_users_split_and_records_it() -> None:
    frame = _frame()
    outcome = _train(frame, ROLES)
    split = outcome.split  # type: ignore[attr-defined]
    assert (split["method"], split["column"]) == ("column", "sample")
    assert (split["train_rows"], split["test_rows"]) == (150, 50)
    assert "sample" not in outcome.features  # type: ignore[attr-defined]


def test_the_split_column_can_never_be_a_feature() -> None:
    roles = Roles(target="y", numeric=("x",), categorical=("colour", "sample"))
    with pytest.raises(DataError, match=r"holds the train/test split .* also a feature") as info:
        _train(_frame(), roles)
    assert "drop: {sample: the train/test split}" in (info.value.hint or "")


def test_init_recognises_a_split_column_and_uses_it(tmp_path: Path) -> None:
    frame = _frame()
    frame["fold"] = np.where(np.arange(len(frame)) % 5 == 0, "Val", "Train")  # a second one
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    result = init_from_data(tmp_path / "p", data, target="y")
    config = load_config(result.config_path).config
    assert config.training.split.method == "column"
    assert config.training.split.column == "sample"
    assert {"sample", "fold"} <= set(config.data.columns.drop)
    assert "sample" not in config.data.roles().features
    assert "train/test split" in config.data.columns.drop["sample"]
    review = [w for w in result.warnings if "train/test split" in w]
    assert review[0].startswith("Column 'sample' holds a train/test split made beforehand")
    assert "'fold' is" not in review[0] and "Column 'fold' also looks like" in review[1]
    text = result.config_path.read_text(encoding="utf-8")
    assert "# Things to review:" in text and "training.split: {method: column" in text


def test_init_writes_test_values_that_are_not_the_default(tmp_path: Path) -> None:
    frame = _frame().assign(sample=lambda f: f["sample"].replace({"test": "val"}))
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    result = init_from_data(tmp_path / "p", data, target="y")
    split = yaml.safe_load(result.config_path.read_text(encoding="utf-8"))["training"]["split"]
    assert split == {"method": "column", "column": "sample", "test_values": ["val"]}
