"""The shape of the project file, ``steadyml.yaml``: one pydantic model per section.

The file is the course's one-page project statement made executable. Every section of
DESIGN.md has a model here, in the file's order: the project statement and owners, data,
training, serving, monitoring (with alert rules and channels), the worker's schedule,
retraining and storage; ``ProjectConfig`` is the whole file. Reading the file and turning
validation errors into teaching messages live in ``loading`` and ``messages``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Literal, get_origin

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from steadyml.config.times import checked_time_of_day, checked_window
from steadyml.entities import Roles

__all__ = [
    "SPLIT_TEST_VALUES",
    "AlertRule",
    "BatchJobConfig",
    "BatchSection",
    "ChannelConfig",
    "ColumnRoles",
    "DataSection",
    "FallbackConfig",
    "GatesConfig",
    "LAUNCH_ITEMS",
    "LaunchSection",
    "ModelChoice",
    "MonitoringSection",
    "OwnersSection",
    "ProjectConfig",
    "ProjectSection",
    "RetrainTriggers",
    "RetrainingSection",
    "RolloutGuardrails",
    "RolloutPlan",
    "ScheduleSection",
    "ServingSection",
    "SplitConfig",
    "StorageSection",
    "SuccessMetric",
    "TrafficConfig",
    "TrainingSection",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_left_out(cls, data: Any) -> Any:
        """A list or mapping key with nothing under it (``categorical:``, ``drop:``, a whole
        ``monitoring:`` section) reads as if it were left out: it takes its default, which is
        empty for every such field except ``training.models`` and ``monitoring.channels``.
        YAML gives such a key the value None, which would otherwise be refused."""
        if not isinstance(data, dict):
            return data
        blank = _blank_fields(cls)
        if not any(data.get(name, ...) is None for name in blank):
            return data
        return {k: v for k, v in data.items() if not (k in blank and v is None)}


@functools.cache
def _blank_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields of ``model`` that hold a list, a mapping or a section, have a default, and for
    which None means nothing else (``X | None`` fields keep None: "empty: never")."""
    names = set()
    for name, info in model.model_fields.items():
        kind = info.annotation
        collection = get_origin(kind) in (list, dict) or (
            isinstance(kind, type) and issubclass(kind, BaseModel)
        )
        if collection and not info.is_required():
            names.add(name)
    return frozenset(names)


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


# --- training ------------------------------------------------------------------------------


SPLIT_TEST_VALUES = ("test", "validation", "valid", "holdout")
"""Values of a split column (``training.split.method: column``) that mark test rows."""


class SplitConfig(_Model):
    method: Literal["random", "stratified", "time", "column", "group"] = "stratified"
    test_size: float = Field(default=0.2, gt=0, lt=1)
    column: str | None = Field(
        default=None,
        description="For method column: the data's column that says which rows are test rows "
        "(e.g. values train/test); for method group: the column that says whose row it is "
        "(a person or customer id), each value's rows kept together. Never a feature.",
    )
    test_values: list[str] = Field(
        default_factory=lambda: list(SPLIT_TEST_VALUES),
        description="For method column: the values (any case) that mark a test row; "
        "every other row trains.",
    )

    @model_validator(mode="after")
    def _column_goes_with_method_column(self) -> SplitConfig:
        if self.method == "column" and not self.column:
            raise ValueError(
                "method 'column' uses your own split and needs the column that holds it; "
                "add `column: <name>` under training.split (its values, e.g. train/test, say "
                "which rows are test rows), or choose method random, stratified or time"
            )
        if self.method == "group" and not self.column:
            raise ValueError(
                "method 'group' keeps each person's (customer's, machine's) rows together "
                "and needs the column that says whose row it is; add `column: <name>` under "
                "training.split (for example a customer_id that repeats across rows)"
            )
        if self.column and self.method not in ("column", "group"):
            raise ValueError(
                f"column '{self.column}' is set but method is '{self.method}'; write "
                "`method: column` to use the column's split (or `method: group` to keep "
                "each of its values' rows together), or remove `column:`"
            )
        if self.method == "column" and not self.test_values:
            raise ValueError(
                "test_values is empty, so no row would be a test row; list the values that "
                f"mark one, e.g. [{', '.join(SPLIT_TEST_VALUES)}] (the default)"
            )
        return self


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
    info_auth: Literal["auto", "api_key", "none"] = Field(
        default="auto",
        description="Who may read /v1/model, the model card, /openapi.json, /docs and the "
        "details of /ready: api_key (a caller with a key), none (anyone), auto (a key when "
        "the server listens off loopback). Needs auth: api_key.",
    )
    unknown_columns: Literal["reject", "ignore"] = "reject"
    max_records: int = Field(default=1000, gt=0)
    pii_handling: Literal["remove", "hash"] = "remove"
    traffic: TrafficConfig = Field(default_factory=TrafficConfig)
    on_unexpected: Literal["answer", "refuse"] = Field(
        default="answer",
        description="A record outside the contract's expectations (the training range, the "
        "categories seen, never missing): answer it with a warning per field, or refuse it.",
    )


# --- batch scoring -----------------------------------------------------------------------


class BatchSection(_Model):
    """How ``steadyml batch score`` treats rows (the nightly job is under ``schedule``)."""

    on_unexpected: Literal["answer", "refuse"] = Field(
        default="answer",
        description="A row outside the contract's expectations: score it with a warning in "
        "the _warnings column, or send it to the rejects file.",
    )


# --- monitoring --------------------------------------------------------------------------


class AlertRule(_Model):
    """One line to watch: ``metric comparison threshold`` on each monitoring window.

    ``metric`` is a name from the monitor's output (``error_rate``, ``latency_p99_ms``,
    ``roc_auc``, ``performance_drop``, ``estimated_performance_drop`` (before labels; an
    unreliable estimate never raises a critical alert), ``drifted_features``...) or a
    per-feature family with
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

    _check_window = field_validator("window")(checked_window)


class ChannelConfig(_Model):
    """Where alerts are sent: the log, a webhook (Slack-compatible JSON) or email over SMTP."""

    kind: Literal["log", "webhook", "email"]
    url: str | None = Field(default=None, description="Webhook URL (kind: webhook).")
    to: list[str] = Field(default_factory=list, description="Email recipients (kind: email).")
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, gt=0, lt=65536)
    sender: str = "steadyml@localhost"
    starttls: bool = False
    implicit_tls: bool | None = Field(
        default=None,
        description="Speak TLS from the first byte (SMTPS) instead of STARTTLS; "
        "default: on for port 465, off otherwise.",
    )
    allow_plaintext_login: bool = Field(
        default=False,
        description="Send the SMTP user and password over a connection without TLS "
        "(neither starttls nor implicit_tls). Off: such a login is refused.",
    )
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

    _check_window = field_validator("window")(checked_window)


class BatchJobConfig(_Model):
    input_folder: str = Field(description="Folder (relative to the project) of files to score.")
    output_folder: str = Field(description="Folder the scored files are written to.")
    at: str = Field(default="02:00", description="Time of day (HH:MM, local) to run.")

    _check_at = field_validator("at")(checked_time_of_day)


class ScheduleSection(_Model):
    """Jobs that ``steadyml worker`` runs."""

    monitor_every_minutes: int | None = Field(default=60, gt=0)
    batch: BatchJobConfig | None = None
    retention_at: str | None = Field(default="03:30", description="Time of day (HH:MM).")

    _check_at = field_validator("retention_at")(checked_time_of_day)


class RolloutGuardrails(_Model):
    """Candidate against production over the step's window (docs/rollout.md says why)."""

    max_failed_increase: float = Field(default=0.01, ge=0, le=1)
    max_p95_factor: float = Field(default=1.5, ge=1)
    max_prediction_distance: float = Field(default=0.1, gt=0, le=1)
    min_agreement: float = Field(default=0.9, ge=0, le=1)
    min_minority_agreement: float = Field(default=0.5, ge=0, le=1)
    min_labels: int = Field(default=200, ge=1)
    metric_margin: float = Field(default=0.02, ge=0)


class RolloutPlan(_Model):
    """The steps of `steadyml rollout`: 0 is the shadow, the others canary shares."""

    steps: list[float] = Field(default_factory=lambda: [0.0, 10.0, 50.0])
    hold_minutes: float = Field(default=30, gt=0)
    min_requests: int = Field(default=500, ge=1)
    evaluate_every_seconds: float = Field(default=30, gt=0)
    guardrails: RolloutGuardrails = Field(default_factory=RolloutGuardrails)

    @field_validator("steps")
    @classmethod
    def _check_steps(cls, steps: list[float]) -> list[float]:
        if not steps or steps != sorted(steps) or any(not 0 <= p <= 50 for p in steps):
            raise ValueError(
                "steps must be rising shares from 0 (the shadow) to at most 50 percent, "
                f"e.g. [0, 10, 50]; got {steps}"
            )
        return steps


class RetrainTriggers(_Model):
    """When ``steadyml worker`` retrains by itself (docs/retrain.md, "Triggers")."""

    alerts: list[str] = Field(
        default_factory=list, description="Alert rule names: a new or open alert retrains."
    )
    every: str | None = Field(default=None, description="Retrain when the last is this old.")
    new_labels: int | None = Field(
        default=None, ge=1, description="Retrain when this many labels arrived since the last."
    )

    @model_validator(mode="before")
    @classmethod
    def _not_a_list(cls, data: Any) -> Any:
        if isinstance(data, list):
            raise ValueError(
                "triggers is a mapping, not a list: write alerts: [rule names], every: 7d "
                "and/or new_labels: 500"
            )
        return data

    @field_validator("every")
    @classmethod
    def _check_every(cls, value: str | None) -> str | None:
        return None if value is None else checked_window(value)

    @property
    def configured(self) -> bool:
        return bool(self.alerts or self.every or self.new_labels)


class RetrainingSection(_Model):
    triggers: RetrainTriggers = Field(default_factory=RetrainTriggers)
    # whether a PROMOTE decision starts `steadyml rollout` by itself (docs/rollout.md)
    rollout: Literal["manual", "auto"] = "manual"
    rollout_plan: RolloutPlan = Field(default_factory=RolloutPlan)
    # `steadyml retrain` and its champion/challenger decision (docs/retrain.md says why)
    labels_since: str = Field(default="30d", description="Labelled live rows of this window.")
    holdout_share: float = Field(default=0.2, gt=0, lt=1)
    min_labelled_rows: int = Field(default=200, ge=1)
    bootstrap_resamples: int = Field(default=1000, ge=100, le=100_000)
    metric_margin: float = Field(default=0.01, ge=0)
    segment_margin: float = Field(default=0.05, ge=0)
    fairness_margin: float = Field(default=0.01, ge=0)
    latency_factor: float = Field(default=2.0, ge=1)

    _check_labels_since = field_validator("labels_since")(checked_window)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        """Two keys of earlier versions, never used, now said another way."""
        moved = {
            "canary_percent": "retraining.rollout_plan.steps (e.g. [0, 10, 50]: shadow, then "
            "canary shares in percent; docs/rollout.md)",
            "promotion": "retraining.rollout: manual | auto (whether a PROMOTE decision "
            "starts a rollout; docs/rollout.md)",
        }
        if isinstance(data, dict):
            for key, where in moved.items():
                if key in data:
                    raise ValueError(f"retraining.{key} is replaced by {where}; remove it")
        return data


# --- launch (the launch checklist and its gate: ``steadyml checklist``) ------------------

LAUNCH_ITEMS = ("plan", "mode", "documented", "tested", "gates", "contract",
                "logging_fallback", "alert_rule", "rollback_path", "privacy_fairness")  # fmt: skip
"""The course's launch items (docs/launch.md); ``launch.required`` names those the gate
checks before a version reaches production."""


def _default_required() -> list[str]:
    return ["plan", "gates", "contract", "logging_fallback", "alert_rule", "rollback_path"]


class LaunchSection(_Model):
    """The launch checklist (``steadyml checklist``) and the items a promotion needs."""

    required: list[str] = Field(
        default_factory=_default_required,
        description="Launch items that must pass before a version reaches production "
        "(`models promote --to production`, a rollout's last step); an override with a "
        "reason passes and is recorded.",
    )
    max_model_age: str = Field(
        default="90d", description="A production model older than this fails the staleness test."
    )
    rollback_within: str = Field(
        default="90d", description="A rollback exercised within this long counts as tested."
    )
    evidence_within: str = Field(
        default="30d",
        description="Monitor runs and reproducibility checks older than this no longer count.",
    )
    attestation_expires: str = Field(
        default="180d",
        description="An attestation (`steadyml checklist attest`) counts this long.",
    )
    reproduce_tolerance: float = Field(
        default=1e-6,
        ge=0,
        description="Largest metric difference when the same snapshot is retrained.",
    )
    latency_factor: float = Field(
        default=3.0,
        ge=1,
        description="Serving p95 latency may be at most this many times "
        "training's one-row measurement.",
    )

    _check_windows = field_validator(
        "max_model_age", "rollback_within", "evidence_within", "attestation_expires"
    )(checked_window)

    @field_validator("required")
    @classmethod
    def _known_items(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in LAUNCH_ITEMS]
        if unknown:
            raise ValueError(
                f"unknown launch item(s) {unknown}; choose from {', '.join(LAUNCH_ITEMS)}"
            )
        return value


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
    batch: BatchSection = Field(default_factory=BatchSection)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    retraining: RetrainingSection = Field(default_factory=RetrainingSection)
    schedule: ScheduleSection = Field(default_factory=ScheduleSection)
    launch: LaunchSection = Field(default_factory=LaunchSection)
    storage: StorageSection = Field(default_factory=StorageSection)

    def hash(self) -> str:
        """A stable hash of the effective configuration (for run lineage)."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()
