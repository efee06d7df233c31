"""The project file, ``steadyml.yaml``: pydantic models, loading and teaching errors.

The file is the course's one-page project statement made executable. Every section of
DESIGN.md has a model here. A wrong file gets an error that names the field path, shows the
bad value and lists what is allowed; an unknown key gets a "did you mean" hint.

Environment overrides (``STEADYML_STORE_URL``, ``STEADYML_ARTIFACTS_URL``) are read only by
``load_config``'s caller through ``apply_env`` — never deep inside the domain.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from steadyml.entities import Roles
from steadyml.errors import ConfigError

__all__ = [
    "CONFIG_FILENAME",
    "UNWRITTEN",
    "ProjectConfig",
    "LoadedConfig",
    "load_config",
    "parse_config",
    "NOT_YET_USED",
]

CONFIG_FILENAME = "steadyml.yaml"

# What `init --data` writes where only a person can answer (the problem, the users, the
# owners). Loading reports every field that still starts with it, so it is never forgotten.
UNWRITTEN = "(not written yet)"

# Sections that are read and validated but whose stage is not built yet. The CLI tells the
# user instead of silently ignoring them. Remove an entry when its stage lands.
NOT_YET_USED: dict[str, str] = {
    "retraining": "retraining and safe rollout",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)


# --- project statement ---------------------------------------------------------------


class SuccessMetric(_Model):
    name: str = Field(description="Metric that decides success, e.g. roc_auc, recall, mae.")
    threshold: float = Field(description="The value the model must reach to be useful.")
    direction: Literal["higher_is_better", "lower_is_better"] = "higher_is_better"


class ProjectSection(_Model):
    name: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Short name: letters, digits, '-', '_' or '.'.",
    )
    problem: str = Field(min_length=1, description="The business problem, in one or two sentences.")
    prediction_target: str = Field(min_length=1, description="What is predicted, in plain words.")
    users: str = Field(min_length=1, description="Who uses the prediction, and for what decision.")
    success_metric: SuccessMetric
    mode: Literal["realtime", "batch", "both"] = "batch"
    mode_reason: str = Field(default="", description="Why batch or real-time was chosen.")
    review_cadence: str = Field(default="monthly", description="How often people review the model.")


class OwnersSection(_Model):
    model: str = Field(min_length=1, description="Who owns the model's quality.")
    deployment: str = Field(min_length=1, description="Who runs the service or batch job.")
    monitoring: str = Field(min_length=1, description="Who watches alerts and answers them.")
    release_approver: str = Field(min_length=1, description="Who approves a release to production.")


# --- data ----------------------------------------------------------------------------


class ColumnRoles(_Model):
    numeric: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)
    text: list[str] = Field(default_factory=list)
    sensitive: list[str] = Field(
        default_factory=list, description="Fairness attributes; not features unless stated."
    )
    pii: list[str] = Field(
        default_factory=list, description="Personal data: never a feature, never stored raw."
    )
    drop: dict[str, str] = Field(
        default_factory=dict, description="Columns left out, each with the reason."
    )

    @field_validator("drop", mode="before")
    @classmethod
    def _drop_as_mapping(cls, value: Any) -> Any:
        if isinstance(value, list):
            raise ValueError(
                "drop must map each column to the reason it is left out, e.g. "
                "{cancellation_reason: 'known only after the customer left'}"
            )
        return value


class DataSection(_Model):
    source: str = Field(
        min_length=1, description="CSV/Parquet path (relative to the project folder)."
    )
    query: str | None = Field(default=None, description="SQL query when source is a SQL URL.")
    target: str = Field(min_length=1)
    task: Literal["classification", "regression", "auto"] = "auto"
    id: str | None = None
    timestamp: str | None = None
    columns: ColumnRoles = Field(default_factory=ColumnRoles)
    sensitive_as_features: bool = False
    missing_codes: dict[str, list[float | int | str]] = Field(
        default_factory=dict,
        description="Codes that mean 'missing', per column, e.g. {support_calls: [-1]}.",
    )
    post_outcome: dict[str, str] = Field(
        default_factory=dict, description="Columns known only after the outcome, with why."
    )
    contract: str = Field(default="contract.yaml", description="Where the data contract is kept.")

    @model_validator(mode="after")
    def _roles_do_not_clash(self) -> DataSection:
        roles = {
            "numeric": self.columns.numeric,
            "categorical": self.columns.categorical,
            "text": self.columns.text,
        }
        seen: dict[str, str] = {}
        for role, cols in roles.items():
            for col in cols:
                if col in seen:
                    raise ValueError(
                        f"column '{col}' is listed as both {seen[col]} and {role}; "
                        "give each column one type"
                    )
                seen[col] = role
        special: dict[str, str | None] = {
            "target": self.target,
            "id": self.id,
            "timestamp": self.timestamp,
        }
        for special_role, name in special.items():
            if name and name in seen:
                raise ValueError(
                    f"column '{name}' is the {special_role} and also listed as {seen[name]}; "
                    f"remove it from columns.{seen[name]}"
                )
        return self

    def roles(self) -> Roles:
        c = self.columns
        return Roles(
            target=self.target,
            id=self.id,
            timestamp=self.timestamp,
            numeric=tuple(c.numeric),
            categorical=tuple(c.categorical),
            text=tuple(c.text),
            sensitive=tuple(c.sensitive),
            pii=tuple(c.pii),
            drop=dict(c.drop),
            sensitive_as_features=self.sensitive_as_features,
        )


# --- training (stage not built yet: validated, reported as unused) ----------------------


class SplitConfig(_Model):
    method: Literal["random", "stratified", "time"] = "stratified"
    test_size: float = Field(default=0.2, gt=0, lt=1)


class GatesConfig(_Model):
    min_metric: float | None = None
    beat_baseline_by: float = Field(default=0.0, ge=0)
    max_fairness_gap: float | None = Field(default=None, ge=0, le=1)
    max_latency_ms: float | None = Field(default=None, gt=0)


ModelChoice = Literal["linear", "random_forest", "hist_gradient_boosting"]
"""Candidate families: ``linear`` is logistic regression for classification and ridge
regression for regression; the others are the scikit-learn ensembles of the same names."""


def _default_models() -> list[ModelChoice]:
    return ["linear", "hist_gradient_boosting"]


class TrainingSection(_Model):
    split: SplitConfig = Field(default_factory=SplitConfig)
    models: list[ModelChoice] = Field(default_factory=_default_models)
    seed: int = 0
    segments: list[str] = Field(default_factory=list)
    gates: GatesConfig = Field(default_factory=GatesConfig)


# --- serving -----------------------------------------------------------------------------


class FallbackConfig(_Model):
    strategy: Literal["constant", "rule", "previous", "error"] = "error"
    value: float | str | None = None
    rule: dict[str, Any] | None = Field(
        default=None,
        description="For strategy rule: {column, equals|in|below|above, then, else}.",
    )
    timeout_ms: float = Field(default=500, gt=0)


class TrafficConfig(_Model):
    mode: Literal["production", "canary", "shadow"] = "production"
    canary_percent: float = Field(default=0, ge=0, le=100)
    sticky_by: str | None = None


class ServingSection(_Model):
    fallback: FallbackConfig = Field(default_factory=FallbackConfig)
    auth: Literal["api_key", "none"] = "api_key"
    unknown_columns: Literal["reject", "ignore"] = "reject"
    max_records: int = Field(default=1000, gt=0)
    pii_handling: Literal["remove", "hash"] = "remove"
    traffic: TrafficConfig = Field(default_factory=TrafficConfig)


# --- durations and times of day ------------------------------------------------------------

_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> dt.timedelta:
    """``"30m"``, ``"1h"``, ``"1d"``, ``"2w"`` as a timedelta; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", str(text))
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a window length: write a whole number and a unit, "
            "m (minutes), h (hours), d (days) or w (weeks), e.g. 1h, 1d, 7d"
        )
    return dt.timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def parse_time_of_day(text: str) -> tuple[int, int]:
    """``"02:30"`` as ``(2, 30)``; a clear error otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(
            f"{text!r} is not a time of day: write HH:MM on a 24-hour clock, e.g. 02:00"
        )
    return int(match.group(1)), int(match.group(2))


def _window(value: str) -> str:
    parse_duration(value)
    return value.strip()


def _time_of_day(value: str | None) -> str | None:
    if value is not None:
        parse_time_of_day(value)
    return value


# --- monitoring --------------------------------------------------------------------------


class AlertRule(_Model):
    """One line to watch: ``metric comparison threshold`` on each monitoring window.

    ``metric`` is a name from the monitor's output (``error_rate``, ``latency_p99_ms``,
    ``roc_auc``, ``performance_drop``, ``drifted_features``...) or a per-feature family with
    ``:*`` (``drift:*``, ``psi:*``, ``missing_rate:*``, ``unseen_rate:*``,
    ``fairness_gap:*``), which raises one alert per feature or group that crosses the line.
    """

    name: str
    metric: str
    comparison: Literal[">", ">=", "<", "<="]
    threshold: float
    window: str = "1d"
    severity: Literal["info", "warning", "critical"] = "warning"
    owner: str | None = None

    _check_window = field_validator("window")(_window)


class ChannelConfig(_Model):
    """Where alerts are sent: the log, a webhook (Slack-compatible JSON) or email over SMTP."""

    kind: Literal["log", "webhook", "email"]
    url: str | None = Field(default=None, description="Webhook URL (kind: webhook).")
    to: list[str] = Field(default_factory=list, description="Email recipients (kind: email).")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    sender: str = "steadyml@localhost"
    starttls: bool = False
    username_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP user."
    )
    password_env: str | None = Field(
        default=None, description="Name of the environment variable holding the SMTP password."
    )
    timeout_s: float = Field(default=10.0, gt=0)


class MonitoringSection(_Model):
    window: str = "1d"
    time: Literal["logged", "event"] = Field(
        default="logged",
        description="Window predictions by when they were logged, or by the data's own "
        "timestamp column (data.timestamp) when the inputs carry it.",
    )
    min_samples: int = Field(default=200, gt=0)
    large_sample: int = Field(
        default=1000,
        gt=0,
        description="From this many rows a window uses distances (Wasserstein, Jensen-Shannon) "
        "instead of p-values, which flag tiny harmless shifts in big samples.",
    )
    drift_p_value: float = Field(default=0.01, gt=0, lt=1)
    drift_distance: float = Field(default=0.1, gt=0)
    psi_threshold: float = Field(default=0.2, gt=0)
    alerts: list[AlertRule] = Field(default_factory=list)
    channels: list[ChannelConfig] = Field(default_factory=lambda: [ChannelConfig(kind="log")])
    retention_days: int = Field(default=90, gt=0)

    _check_window = field_validator("window")(_window)


class BatchJobConfig(_Model):
    input_folder: str = Field(description="Folder (relative to the project) of files to score.")
    output_folder: str = Field(description="Folder the scored files are written to.")
    at: str = Field(default="02:00", description="Time of day (HH:MM, local) to run.")

    _check_at = field_validator("at")(_time_of_day)


class ScheduleSection(_Model):
    """Jobs that ``steadyml worker`` runs."""

    monitor_every_minutes: int | None = Field(default=60, gt=0)
    batch: BatchJobConfig | None = None
    retention_at: str | None = Field(default="03:30", description="Time of day (HH:MM).")

    _check_at = field_validator("retention_at")(_time_of_day)


class RetrainingSection(_Model):
    triggers: list[Literal["drift", "performance", "schedule"]] = Field(default_factory=list)
    schedule: str | None = None
    rollout: Literal["shadow", "canary", "direct"] = "shadow"
    canary_percent: float = Field(default=10, gt=0, le=100)
    promotion: Literal["manual", "automatic"] = "manual"


class StorageSection(_Model):
    store_url: str = Field(
        default=".steadyml/store.db",
        description="SQLite path (relative to the project) or a database URL.",
    )
    artifacts_url: str = Field(
        default=".steadyml/artifacts",
        description="Folder (relative to the project) or an fsspec URL.",
    )


class ProjectConfig(_Model):
    """The whole steadyml.yaml."""

    version: Literal[1] = 1
    project: ProjectSection
    owners: OwnersSection
    data: DataSection
    training: TrainingSection = Field(default_factory=TrainingSection)
    serving: ServingSection = Field(default_factory=ServingSection)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    retraining: RetrainingSection = Field(default_factory=RetrainingSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    storage: StorageSection = Field(default_factory=StorageSection)

    def hash(self) -> str:
        """A stable hash of the effective configuration (for run lineage)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


@dataclass(frozen=True)
class LoadedConfig:
    """A validated project file, where it came from, and what the user should know about it."""

    config: ProjectConfig
    path: Path
    notices: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.path.parent


# --- loading and error messages ------------------------------------------------------------


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` (for "did you mean" hints), or [] when unknown."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        info = current.model_fields.get(str(part))
        if info is None:
            return []
        current = _inner_model(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside ``X``, ``list[X]`` or ``X | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _fmt_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _explain(err: Mapping[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    where = _fmt_loc(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(ProjectConfig, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        parent = _fmt_loc(loc[:-1])
        return (
            f"{where}: unknown key '{key}' in {parent}.{hint} Allowed keys: {', '.join(allowed)}."
        )
    if kind == "missing":
        return f"{where}: required field is missing. Add it to steadyml.yaml."
    value = err.get("input")
    msg = str(err.get("msg", "invalid"))
    if kind in ("literal_error", "enum"):
        expected = str(err.get("ctx", {}).get("expected", ""))
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        return f"{where}: got {_fmt_value(value)}; allowed: {', '.join(options)}.{hint}"
    msg = msg.removeprefix("Value error, ")
    return f"{where}: {msg}; got {_fmt_value(value)}."


def parse_config(raw: Any, *, source: str = CONFIG_FILENAME) -> ProjectConfig:
    """Validate an already-parsed mapping; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source} must be a mapping of sections (project, owners, data, ...); "
            f"got {type(raw).__name__}.",
            hint="Run `steadyml init DIR --template churn` to see a complete example.",
        )
    try:
        return ProjectConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [_explain(e) for e in exc.errors()]
        lines = "\n".join(f"  - {p}" for p in problems)
        raise ConfigError(
            f"{source} has {len(problems)} problem{'s' if len(problems) != 1 else ''}:\n{lines}",
            problems=problems,
            hint="Fix the fields above; `steadyml init --help` shows how a new project is made.",
        ) from None


def find_config(path: str | Path) -> Path:
    """Resolve a project folder or file path to the steadyml.yaml it means."""
    p = Path(path).expanduser()
    if p.is_dir():
        p = p / CONFIG_FILENAME
    if not p.exists():
        raise ConfigError(
            f"No project file at {p.resolve()}.",
            hint="Run the command inside a project folder, pass --project PATH, or create one "
            "with `steadyml init DIR --template churn` (or `--data FILE --target COL`).",
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
