"""The project file: every error names the field, the bad value and what is allowed."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import get_origin

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from steadyml.config import (
    NOT_YET_USED,
    ProjectConfig,
    apply_env,
    load_config,
    parse_config,
    parse_duration,
    parse_time_of_day,
)
from steadyml.config.times import UNIT_SECONDS
from steadyml.errors import ConfigError


def _valid() -> dict:
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
    }


def _problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    return info.value.problems


def test_valid_minimal_file_parses_with_defaults() -> None:
    cfg = parse_config(_valid())
    assert cfg.project.mode == "batch"
    assert cfg.storage.store_url == ".steadyml/store.db"
    assert cfg.data.roles().features == ("a",)


def test_unknown_top_level_key_suggests_the_right_one() -> None:
    raw = _valid()
    raw["ownrs"] = raw.pop("owners")
    problems = _problems(raw)
    assert any("unknown key 'ownrs'" in p and "Did you mean 'owners'?" in p for p in problems)
    assert any(p.startswith("owners: required field is missing") for p in problems)


def test_unknown_nested_key_names_its_path_and_allowed_keys() -> None:
    raw = _valid()
    raw["data"]["columns"]["categoricals"] = ["b"]
    (problem,) = _problems(raw)
    assert problem.startswith("data.columns.categoricals: unknown key 'categoricals'")
    assert "Did you mean 'categorical'?" in problem
    assert "Allowed keys: numeric, categorical, text, sensitive, pii, drop" in problem


def test_bad_choice_shows_value_and_allowed_values() -> None:
    raw = _valid()
    raw["project"]["mode"] = "reeltime"
    (problem,) = _problems(raw)
    assert problem == (
        "project.mode: got 'reeltime'; allowed: realtime, batch, both. Did you mean 'realtime'?"
    )


def test_wrong_type_and_range_name_the_field() -> None:
    raw = _valid()
    raw["training"] = {"split": {"test_size": 1.5}}
    raw["project"]["success_metric"]["threshold"] = "high"
    problems = _problems(raw)
    assert any(p.startswith("training.split.test_size:") and "1.5" in p for p in problems)
    assert any(
        p.startswith("project.success_metric.threshold:") and "'high'" in p for p in problems
    )


def test_drop_as_list_explains_the_mapping_form() -> None:
    raw = _valid()
    raw["data"]["columns"]["drop"] = ["leaky"]
    (problem,) = _problems(raw)
    assert "data.columns.drop" in problem and "reason" in problem and "['leaky']" in problem


BLANK_KEYS_YAML = """\
project: {name: p, problem: x, prediction_target: y, users: u,
          success_metric: {name: roc_auc, threshold: 0.7}}
owners: {model: a, deployment: b, monitoring: c, release_approver: d}
data:
  source: d.csv
  target: y
  missing_codes:
  post_outcome:
  columns:
    numeric: [a]
    categorical:
    text:
    sensitive:
    pii:
    drop:
training:
  segments:
  gates:
monitoring:
  alerts:
  channels:
    - kind: email
      to:
retraining:
  triggers:
schedule:
serving:
"""


def test_a_list_or_mapping_key_with_nothing_under_it_reads_as_left_out(tmp_path: Path) -> None:
    (tmp_path / "steadyml.yaml").write_text(BLANK_KEYS_YAML, encoding="utf-8")
    cfg = load_config(tmp_path).config
    columns = cfg.data.columns
    assert (columns.categorical, columns.text, columns.sensitive, columns.pii) == ([], [], [], [])
    assert columns.drop == {} and cfg.data.missing_codes == {} and cfg.data.post_outcome == {}
    assert cfg.training.segments == [] and not cfg.retraining.triggers.configured
    assert cfg.monitoring.alerts == [] and cfg.monitoring.channels[0].to == []
    assert cfg.schedule == parse_config(_valid()).schedule  # a blank section: its defaults


def _collection_fields(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    """Each field reached through sections that holds a list, a mapping or a section and has
    a default, with that default (``X | None`` fields are left out: None means "never")."""
    found: dict[str, object] = {}
    for name, info in model.model_fields.items():
        kind, path = info.annotation, f"{prefix}{name}"
        is_section = isinstance(kind, type) and issubclass(kind, BaseModel)
        if is_section:
            found.update(_collection_fields(kind, f"{path}."))
        if (is_section or get_origin(kind) in (list, dict)) and not info.is_required():
            found[path] = info.get_default(call_default_factory=True)
    return found


BLANKABLE = _collection_fields(ProjectConfig)


@pytest.mark.parametrize("path", sorted(BLANKABLE))
def test_every_list_and_mapping_field_takes_its_default_when_blank(path: str) -> None:
    *parents, last = path.split(".")
    raw = _valid()
    parent = raw
    for part in parents:
        parent = parent.setdefault(part, {})
    parent[last] = None
    value: object = parse_config(raw)
    for part in path.split("."):
        value = getattr(value, part)
    assert value == BLANKABLE[path]
    assert len(BLANKABLE) >= 20  # the walk reached the nested sections


@pytest.mark.parametrize(
    ("section", "key", "value", "expects"),
    [
        ("columns", "categorical", "tenure", "expects a list: one '- item' per line"),
        ("columns", "pii", {"email": 1}, "expects a list"),
        ("columns", "drop", "leaky", "expects a mapping: 'key: value' lines"),
        (None, "missing_codes", ["-1"], "expects a mapping"),
    ],
)
def test_a_wrong_shape_is_refused_naming_the_field_and_the_shape(
    section: str | None, key: str, value: object, expects: str
) -> None:
    raw = _valid()
    where = raw["data"][section] if section else raw["data"]
    where[key] = value
    (problem,) = _problems(raw)
    path = f"data.{section}.{key}" if section else f"data.{key}"
    assert problem.startswith(f"{path}: {expects}")
    assert f"got {value!r}." in problem


def test_a_wrong_shape_for_alerts_and_a_blank_required_section_are_refused() -> None:
    raw = _valid()
    raw["monitoring"] = {"alerts": "error_rate > 0.05"}
    raw["owners"] = None
    problems = _problems(raw)
    assert (
        "monitoring.alerts: expects a list: one '- item' per line under it, or [a, b] on one "
        "line; got 'error_rate > 0.05'."
    ) in problems
    assert any(
        p.startswith("owners: expects a mapping") and "nothing under it" in p for p in problems
    )


def test_a_column_in_two_roles_is_refused() -> None:
    raw = _valid()
    raw["data"]["columns"]["categorical"] = ["a"]
    (problem,) = _problems(raw)
    assert "'a' is listed as both numeric and categorical" in problem


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    f = tmp_path / "steadyml.yaml"
    f.write_text("project:\n  name: x\n   bad: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+"):
        load_config(f)


def test_missing_and_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No project file"):
        load_config(tmp_path)
    (tmp_path / "steadyml.yaml").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty"):
        load_config(tmp_path)


def test_the_retraining_section_is_used_so_not_announced(tmp_path: Path) -> None:
    raw = _valid()
    raw["retraining"] = {"rollout": "auto"}
    (tmp_path / "steadyml.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    loaded = load_config(tmp_path)
    assert loaded.config.retraining.rollout == "auto"
    assert NOT_YET_USED == {} and loaded.notices == []  # every section is built (issue 13)


def test_env_overrides_storage_only_when_set() -> None:
    cfg = parse_config(_valid())
    assert apply_env(cfg, {}).storage == cfg.storage
    changed = apply_env(cfg, {"STEADYML_STORE_URL": "postgresql://u@h/db"})
    assert changed.storage.store_url == "postgresql://u@h/db"
    assert changed.storage.artifacts_url == cfg.storage.artifacts_url


def test_config_hash_is_stable_and_sensitive() -> None:
    a, b = parse_config(_valid()), parse_config(_valid())
    assert a.hash() == b.hash()
    raw = _valid()
    raw["data"]["target"] = "z"
    assert parse_config(raw).hash() != a.hash()


def test_a_missing_file_says_what_to_do_without_naming_a_cli_flag(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    hint = info.value.hint or ""
    assert "`steadyml init DIR --template churn`" in hint  # a whole example command is fine
    assert "--project" not in hint  # the CLI adds its own flag wording


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(sorted(UNIT_SECONDS)))
def test_a_window_length_is_a_whole_number_and_a_unit(count: int, unit: str) -> None:
    assert parse_duration(f" {count}{unit} ") == dt.timedelta(seconds=count * UNIT_SECONDS[unit])


@pytest.mark.parametrize("text", ["0d", "7 days", "1y", "1.5h", "", "d"])
def test_a_bad_window_length_is_refused_with_the_value_and_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a window length: .* e\.g\. 1h, 1d, 7d") as info:
        parse_duration(text)
    assert repr(text) in str(info.value)


@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59))
def test_a_time_of_day_is_hours_and_minutes(hour: int, minute: int) -> None:
    assert parse_time_of_day(f"{hour}:{minute:02d}") == (hour, minute)


@pytest.mark.parametrize("text", ["24:00", "12:60", "2:5", "noon", "02-00"])
def test_a_bad_time_of_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a time of day: write HH:MM"):
        parse_time_of_day(text)


def test_window_and_times_in_the_file_are_checked_where_they_are_written() -> None:
    raw = _valid()
    raw["monitoring"] = {"window": "7 days"}
    raw["schedule"] = {"retention_at": "25:00"}
    problems = _problems(raw)
    assert any(p.startswith("monitoring.window: '7 days' is not a window length") for p in problems)
    assert any(
        p.startswith("schedule.retention_at: '25:00' is not a time of day") for p in problems
    )


def test_every_name_imported_from_steadyml_config_is_still_there() -> None:
    # the package re-exports what other modules import, so splitting it changed no import
    import steadyml.config

    root = Path(__file__).resolve().parents[1]
    names: set[str] = set()
    for file in [*root.glob("src/**/*.py"), *root.glob("tests/**/*.py"), *root.glob("bench/*.py")]:
        text = file.read_text(encoding="utf-8")
        if "steadyml.config import" not in text:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "steadyml.config":
                names.update(alias.name for alias in node.names)
    assert {"ProjectConfig", "load_config", "parse_duration"} <= names
    assert sorted(n for n in names if not hasattr(steadyml.config, n)) == []


@pytest.mark.parametrize(
    ("key", "now"), [("promotion", "retraining.rollout"), ("canary_percent", "rollout_plan.steps")]
)
def test_retraining_keys_of_earlier_versions_say_what_replaced_them(key: str, now: str) -> None:
    raw = _valid()
    raw["retraining"] = {key: "manual" if key == "promotion" else 10}
    (problem,) = _problems(raw)
    assert f"retraining.{key} is replaced by" in problem and now in problem
