"""Reading a project file: find it, parse the YAML, validate it, and say what to know.

``load_config`` returns the validated configuration with the notices a person should read
(sections not used yet, fields still unwritten, a SQL source). Environment overrides
(``STEADYML_STORE_URL``, ``STEADYML_ARTIFACTS_URL``) are applied by ``apply_env``, which only
the caller that opens a project uses with the environment it was given — never deep inside
the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from steadyml.config.messages import explain
from steadyml.config.schema import ProjectConfig
from steadyml.errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "NOT_YET_USED",
    "UNWRITTEN",
    "LoadedConfig",
    "apply_env",
    "find_config",
    "load_config",
    "parse_config",
    "resolve_url",
]

CONFIG_FILENAME = "steadyml.yaml"

# What `init --data` writes where only a person can answer (the problem, the users, the
# owners). Loading reports every field that still starts with it, so it is never forgotten.
UNWRITTEN = "(not written yet)"

# Sections that are read and validated but whose stage is not built yet. The CLI tells the
# user instead of silently ignoring them. Remove an entry when its stage lands.
NOT_YET_USED: dict[str, str] = {}


@dataclass(frozen=True)
class LoadedConfig:
    """A validated project file, where it came from, and what the user should know about it."""

    config: ProjectConfig
    path: Path
    notices: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.path.parent


def parse_config(raw: Any, *, source: str = CONFIG_FILENAME) -> ProjectConfig:
    """Validate an already-parsed mapping; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source} must be a mapping of sections (project, owners, data, ...); "
            f"got {type(raw).__name__}.",
            hint="Run `steadyml init DIR --template churn` to see a complete example.",
        )
    try:
        cfg = ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [explain(e, ProjectConfig) for e in exc.errors()]
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"{source} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n{lines}",
            problems=problems,
            hint="Fix the fields above; `steadyml init --help` shows how a new project is made.",
        ) from None
    _check_trigger_rules(cfg, source)
    return cfg


def _check_trigger_rules(cfg: ProjectConfig, source: str) -> None:
    """``retraining.triggers.alerts`` names rules of ``monitoring.alerts``."""
    rules = [rule.name for rule in cfg.monitoring.alerts]
    unknown = [name for name in cfg.retraining.triggers.alerts if name not in rules]
    if unknown:
        what = "is not the name of an alert rule" if len(unknown) == 1 else "are not rule names"
        problem = (
            f"retraining.triggers.alerts: {', '.join(map(repr, unknown))} {what}; rules in "
            f"monitoring.alerts: {', '.join(map(repr, rules)) or 'none'}."
        )
        raise ConfigError(
            f"{source} has 1 problem:\n  - {problem}",
            problems=[problem],
            hint="Name a rule exactly as its `name:` is written under monitoring.alerts.",
        )


def find_config(path: str | Path) -> Path:
    """Resolve a project folder or file path to the steadyml.yaml it means."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / CONFIG_FILENAME
    if not p.exists():
        raise ConfigError(
            f"No project file at {p.resolve()}.",
            hint="Give the path of a project folder (one that holds steadyml.yaml) or of the file "
            "itself, or create a project with `steadyml init DIR --template churn` (or "
            "`steadyml init DIR --data FILE --target COL`).",
        )
    return p.resolve()


def load_config(path: str | Path) -> LoadedConfig:
    """Read, validate and annotate a project file."""
    file = find_config(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file} is not UTF-8 text (byte {exc.start}).", hint="Save the file as UTF-8."
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{file.name} is not valid YAML{where}: {problem}.",
            hint="Check indentation (spaces, not tabs) and that every 'key: value' has a colon.",
        ) from None
    if raw is None:
        raise ConfigError(
            f"{file.name} is empty.",
            hint="Run `steadyml init DIR --template churn` to see a complete example.",
        )
    cfg = parse_config(raw, source=file.name)
    notices = [
        f"Section '{name}' is checked but not used yet: {what} is not built in this version."
        for name, what in NOT_YET_USED.items()
        if name in raw
    ]
    unwritten = [
        f"{section}.{key}"
        for section in ("project", "owners")
        for key, value in cfg.model_dump()[section].items()
        if isinstance(value, str) and value.startswith(UNWRITTEN)
    ]
    if unwritten:
        notices.append(
            f"Not written yet in {file.name}: {', '.join(unwritten)}. Write them in your own "
            "words: they say what the model is for and who answers for it."
        )
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    if data.get("query") or "://" in str(data.get("source", "")):
        notices.append(
            "data.source/data.query name a SQL source; reading from SQL is not built yet, "
            "so data commands need a CSV or Parquet file."
        )
    return LoadedConfig(config=cfg, path=file, notices=notices)


def resolve_url(value: str, root: Path) -> str:
    """A store/artifact location: URLs pass through; plain paths are made absolute."""
    if "://" in value:
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (root / p).resolve())


def apply_env(cfg: ProjectConfig, env: Mapping[str, str]) -> ProjectConfig:
    """Return a copy with ``STEADYML_STORE_URL`` / ``STEADYML_ARTIFACTS_URL`` applied."""
    storage = cfg.storage.model_copy()
    if env.get("STEADYML_STORE_URL"):
        storage = storage.model_copy(update={"store_url": env["STEADYML_STORE_URL"]})
    if env.get("STEADYML_ARTIFACTS_URL"):
        storage = storage.model_copy(update={"artifacts_url": env["STEADYML_ARTIFACTS_URL"]})
    return cfg.model_copy(update={"storage": storage})
