"""Plain entities shared by the layers: no ORM rows, no pandas, no web types.

Repositories in ``steadyml.store`` return these; the CLI and the web layer render them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Roles:
    """Which part each column plays, from the ``data`` section of steadyml.yaml."""

    target: str
    id: str | None = None
    timestamp: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = ()
    pii: tuple[str, ...] = ()
    drop: dict[str, str] = field(default_factory=dict)  # column -> reason
    sensitive_as_features: bool = False

    @property
    def features(self) -> tuple[str, ...]:
        """Columns a model may learn from, in a stable order."""
        cols = list(self.numeric) + list(self.categorical) + list(self.text)
        if self.sensitive_as_features:
            cols += [c for c in self.sensitive if c not in cols]
        excluded = set(self.drop) | set(self.pii) | {self.target}
        if self.id:
            excluded.add(self.id)
        if not self.sensitive_as_features:
            excluded |= set(self.sensitive)
        return tuple(c for c in cols if c not in excluded)

    @property
    def declared(self) -> tuple[str, ...]:
        """Every column the project file names, once each."""
        seen: list[str] = []
        for c in [
            self.target,
            self.id,
            self.timestamp,
            *self.numeric,
            *self.categorical,
            *self.text,
            *self.sensitive,
            *self.pii,
            *self.drop,
        ]:
            if c and c not in seen:
                seen.append(c)
        return tuple(seen)

    def role_of(self, column: str) -> str:
        if column == self.target:
            return "target"
        if column == self.id:
            return "id"
        if column == self.timestamp:
            return "timestamp"
        for name in ("drop", "pii", "sensitive", "text", "categorical", "numeric"):
            if column in getattr(self, name):
                return name
        return "unassigned"


@dataclass(frozen=True)
class Finding:
    """One thing a check found, with why it matters and what to do."""

    check: str  # e.g. "leakage", "quality", "contract"
    rule: str  # e.g. "single_column_predictor", "sentinel_code"
    severity: Severity
    message: str
    column: str | None = None
    why: str = ""
    fix: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DatasetVersion:
    """A recorded, content-addressed version of a table."""

    version: int
    content_hash: str
    rows: int
    columns: int
    schema_hash: str
    source: str
    created_at: dt.datetime
    artifact_digest: str | None = None
    created_by: str = ""
    lineage: dict[str, Any] | None = None  # a retrain's: parent, window, rows added/refused

    @property
    def short(self) -> str:
        return self.content_hash[:12]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class CheckRecord:
    """A data check that was run, as kept in the metadata store."""

    id: int
    kind: str
    source: str
    content_hash: str
    passed: bool
    errors: int
    warnings: int
    created_at: dt.datetime
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArtifactRecord:
    digest: str
    size: int
    kind: str
    created_at: dt.datetime


Stage = Literal["candidate", "staging", "production", "archived"]
STAGES: tuple[Stage, ...] = ("candidate", "staging", "production", "archived")


@dataclass(frozen=True)
class Run:
    """One training run: what went in (data, config, code) and what came out (metrics)."""

    number: int
    run_key: str
    status: str
    task: str
    model_type: str
    dataset_version: int
    data_hash: str
    config_hash: str
    code_commit: str | None
    code_dirty: bool
    params: dict[str, Any]
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]
    gates_passed: bool
    summary: dict[str, Any]
    training_config: dict[str, Any]
    package_versions: dict[str, str]
    duration_s: float
    created_by: str
    created_at: dt.datetime
    model_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        return d


@dataclass(frozen=True)
class ModelVersion:
    """A registered model: its artifact, lineage, stage and what monitoring needs."""

    version: int
    run_number: int
    stage: Stage
    artifact_digest: str
    size_bytes: int
    model_type: str
    task: str
    gates_passed: bool
    features: list[str]
    dataset_version: int
    primary_metric: str
    primary_value: float | None
    created_by: str
    created_at: dt.datetime
    contract: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    serving_digest: str | None = None  # its serving form (steadyml.forms), if any

    def to_dict(self, *, full: bool = False) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        if not full:
            d.pop("contract")
            d.pop("reference")
        return d


@dataclass(frozen=True)
class DeploymentEvent:
    """Every promotion and rollback: who, when, why, from which version to which."""

    id: int
    action: str  # "promote" | "rollback"
    stage: str
    from_version: int | None
    to_version: int
    by: str
    reason: str
    override: str | None
    at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


SCOPES: tuple[str, ...] = ("predict", "feedback", "admin")


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: never the key itself, only its hash and a short prefix."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["created_at"] = self.created_at.isoformat()
        d["revoked_at"] = None if self.revoked_at is None else self.revoked_at.isoformat()
        d["active"] = self.active
        return d


TrafficMode = Literal["production", "canary", "shadow"]


@dataclass(frozen=True)
class TrafficPolicy:
    """Who answers requests: production only, a canary share, or a shadow challenger."""

    mode: TrafficMode = "production"
    challenger_version: int | None = None
    percent: float = 0.0
    sticky_by: str | None = None
    updated_by: str = ""
    reason: str = ""
    updated_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["updated_at"] = None if self.updated_at is None else self.updated_at.isoformat()
        return d


@dataclass(frozen=True)
class Rollout:
    """A candidate's way to production (``steadyml rollout``): its state and its plan.

    ``step`` indexes ``steps`` (0 %: the shadow; others: canary percents); ``step ==
    len(steps)`` is production. ``seq`` grows by one at every state change: a change is
    applied only by the writer that read the current ``seq`` (compare-and-set).
    """

    id: int
    candidate_version: int
    production_version: int
    status: str  # running | paused | promoting | completed | rolled_back | aborted
    step: int
    steps: list[float]
    plan: dict[str, Any]
    seq: int
    step_started_at: dt.datetime
    started_by: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    reason: str | None = None
    reading: dict[str, Any] = field(default_factory=dict)
    evaluated_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused", "promoting")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("step_started_at", "started_at", "finished_at", "evaluated_at"):
            value = getattr(self, key)
            d[key] = None if value is None else value.isoformat()
        return d


@dataclass(frozen=True)
class PredictionRecord:
    """One prediction as the log keeps it (personal data already removed or hashed)."""

    request_id: str
    at: dt.datetime
    model_version: int | None
    route: str
    inputs: dict[str, Any]
    prediction: Any
    score: float | None
    latency_ms: float | None
    fallback: bool = False
    error: str | None = None
    row_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


ALERT_STATUSES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class AlertEvent:
    """One step in an alert's life: opened, seen again, acknowledged, resolved, notified."""

    at: dt.datetime
    event: str
    by: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "event": self.event, "by": self.by, "note": self.note}


@dataclass(frozen=True)
class Alert:
    """An incident raised by an alert rule; it stays open until a person resolves it.

    ``key`` deduplicates: the same rule on the same subject (a feature, a group) while an
    earlier alert is still open updates that alert instead of raising a new one.
    """

    id: int
    key: str
    rule: str
    metric: str
    subject: str | None
    severity: str
    owner: str | None
    status: str
    value: float | None
    comparison: str
    threshold: float
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    model_version: int | None
    message: str
    next_step: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    times_seen: int
    history: tuple[AlertEvent, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def iso(value: dt.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "key": self.key,
            "rule": self.rule,
            "metric": self.metric,
            "subject": self.subject,
            "severity": self.severity,
            "owner": self.owner,
            "status": self.status,
            "value": self.value,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "model_version": self.model_version,
            "message": self.message,
            "next_step": self.next_step,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "times_seen": self.times_seen,
            "history": [e.to_dict() for e in self.history],
        }


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job by ``steadyml worker`` (or by hand)."""

    id: int
    job: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    ok: bool | None
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job": self.job,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "ok": self.ok,
            "summary": self.summary,
            "error": self.error,
        }


@dataclass(frozen=True)
class StoredWindow:
    """One monitor window's measurements as the store keeps them (``store/windows.py``).

    Every monitor run (CLI, worker, API) stores each window it measured, of every length it
    measured, so the dashboard reads numbers instead of recomputing them. A window is known
    by (``length``, ``window_start``, ``model_version``, ``time_basis``): measuring it again
    replaces it (the newest measurement wins: late labels and the rest of a partial window
    arrive later). ``measures`` is the monitor result's window block unchanged (keys in
    ``steadyml.store.windows``); ``summary`` the numbers alert rules read from it
    (``monitoring.window_metrics``: small, for charts over many windows; a listing may leave
    ``measures`` empty); ``context`` what the run compared the window with (the result's
    ``success_metric``, ``higher_is_better``, ``training`` and ``settings``); ``rows`` is its
    ``system.volume``; ``measured_at`` the run's ``generated_at``.
    """

    id: int
    length: str  # "1d", "7d", "1h"
    window_start: dt.datetime
    window_end: dt.datetime
    model_version: int | None
    time_basis: str  # "logged" or "event:<column>"
    rows: int
    measured_at: dt.datetime
    summary: dict[str, float | None] = field(default_factory=dict)
    measures: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "length": self.length,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "model_version": self.model_version,
            "time_basis": self.time_basis,
            "rows": self.rows,
            "measured_at": self.measured_at.isoformat(),
            "summary": self.summary,
            "measures": self.measures,
            "context": self.context,
        }


# --- request ids ------------------------------------------------------------------------------

_TIMED_ID = re.compile(r"[0-9a-f]{32}")
_EARLIEST_MS = 1_577_836_800_000  # 2020-01-01: older "times" mean the id is not a timed one


def new_request_id(now_ms: int | None = None) -> str:
    """A prediction's id: 32 hex digits, the first 12 the time in milliseconds (as in a
    UUIDv7), the rest random. Ids sort by time, and the log can find a prediction's chunk
    from its id alone (see ``request_id_time``)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"{ms & 0xFFFFFFFFFFFF:012x}{_random_hex20()}"


class _RandomHex(threading.local):
    """``os.urandom`` read 4 KiB at a time, per thread: a request takes two ids, and one
    system call each cost more than the rest of making them. Emptied in a forked child, so
    two processes never hand out the same bytes."""

    pool = ""
    at = 0


_random = _RandomHex()


def _random_hex20() -> str:
    """20 random hex digits (80 bits from ``os.urandom``)."""
    r = _random
    at = r.at
    if at + 20 > len(r.pool):
        r.pool, at = os.urandom(4096).hex(), 0
    r.at = at + 20
    return r.pool[at : at + 20]


def _forget_random() -> None:
    _random.pool, _random.at = "", 0


os.register_at_fork(after_in_child=_forget_random)


def request_id_time(request_id: str) -> dt.datetime | None:
    """When a ``new_request_id`` id was made, or None for any other kind of key (a row key,
    an older random id, a batch row's ``<batch id>:<line>``)."""
    if len(request_id) != 32 or not _TIMED_ID.fullmatch(request_id):
        return None
    ms = int(request_id[:12], 16)
    if ms < _EARLIEST_MS or ms > time.time_ns() // 1_000_000 + 86_400_000:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@dataclass(frozen=True)
class Attestation:
    """A person's word that a launch item was done by hand (``steadyml checklist attest``):
    who, when and the note; it counts half a point until ``expires_at``."""

    id: int
    item: str
    note: str
    by: str
    at: dt.datetime
    expires_at: dt.datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "item": self.item, "note": self.note, "by": self.by,
                "at": self.at.isoformat(), "expires_at": self.expires_at.isoformat()}  # fmt: skip
