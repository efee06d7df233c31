"""The launch checklist's items: the 28 tests of "The ML Test Score" and the course's items.

Each item is a function of ``Facts`` (what the store and the project file hold, read once)
that returns a ``Finding``: pass, fail, not measured yet or does not apply, the evidence in
a sentence with its date, and the command that earns the missing point. An item that
passes from the project file alone says what makes it hold (the code path that enforces
it), never "by construction" without a reason. ``flows/checklist.py`` scores them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from steadyml.config import UNWRITTEN, ProjectConfig
from steadyml.entities import ModelVersion, PredictionRecord, Run

__all__ = ["COURSE", "TESTS", "Facts", "Finding", "Item"]

PASS, FAIL, UNMEASURED, NA = "pass", "fail", "not measured yet", "does not apply"
DATA_RULES = ("missing_rate", "missing_increase", "unseen_rate", "contract", "out_of_range")
DRIFT_RULES = ("drift", "psi", "drifted_features", "prediction_drift")
QUALITY_RULES = ("performance_drop", "roc_auc", "accuracy", "recall", "precision", "f1", "mae",
                 "rmse", "r2", "log_loss", "brier")  # fmt: skip


@dataclass(frozen=True)
class Finding:
    status: str
    evidence: str
    fix: str = ""
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Facts:
    """Everything the items read, gathered once by ``flows/checklist.gather``."""

    config: ProjectConfig
    now: dt.datetime
    production: ModelVersion | None
    run: Run | None
    evidence: Mapping[str, Any]
    contract_file: bool
    sample: list[PredictionRecord] = field(default_factory=list)
    environment: Mapping[str, str] = field(default_factory=dict)
    written_at: dt.datetime | None = None  # when steadyml.yaml was last written

    @property
    def within(self) -> dt.timedelta:
        from steadyml.config.times import parse_duration

        return parse_duration(self.config.launch.evidence_within)

    def job(self, name: str) -> dict[str, Any] | None:
        jobs = self.evidence.get("jobs") or {}
        return jobs.get(name)

    def gate(self, name: str) -> dict[str, Any] | None:
        if self.run is None:
            return None
        checks = (self.run.summary.get("gates") or {}).get("checks", [])
        return next((c for c in checks if c.get("name") == name), None)

    def rules(self, families: tuple[str, ...]) -> list[str]:
        return [r.name for r in self.config.monitoring.alerts
                if r.metric.split(":")[0] in families]  # fmt: skip


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    title: str
    check: Callable[[Facts], Finding]


def _date(value: dt.datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _written(value: str) -> bool:
    return bool(value and value.strip()) and not value.strip().startswith(UNWRITTEN)


def _no_model(fix: str = "steadyml train, then steadyml models promote V --to production"
              ) -> Finding:  # fmt: skip
    return Finding(UNMEASURED, "No version is in production yet.", fix)


def _recent_job(f: Facts, name: str) -> tuple[bool, dict[str, Any] | None]:
    job = f.job(name)
    if job is None:
        return False, None
    fresh = job.get("ok") and job["at"] >= f.now - f.within
    return bool(fresh), job


# --- data (features and data) ----------------------------------------------------------


def _d1(f: Facts) -> Finding:
    if not f.contract_file:
        return Finding(FAIL, "There is no data contract (contract.yaml).", "steadyml data check")
    if f.production is None or not f.production.contract:
        return Finding(FAIL, "contract.yaml exists, but no production version carries one.",
                       "steadyml train, then promote the new version")  # fmt: skip
    refused = f.evidence["refused_by_contract"]
    return Finding(PASS, f"contract.yaml holds the expected columns, types and ranges; "
                   f"v{f.production.version} carries it, the API's request model and batch "
                   f"validation are generated from it ({refused:,} rows refused so far), and "
                   "training refuses a snapshot that breaks it.",
                   at=f.evidence["checks_at"])  # fmt: skip


def _d2(f: Facts) -> Finding:
    at = f.evidence["check_of_data_at"]
    if f.production is None:
        return _no_model()
    if at is None:
        return Finding(FAIL, f"The latest data check of the file data version "
                       f"{f.production.dataset_version} came from (v{f.production.version} "
                       "learned from it) did not pass, or there is none.",
                       "steadyml data check")  # fmt: skip
    dropped = len(f.config.data.columns.drop)
    return Finding(PASS, "The latest data check of the training data's file found no feature "
                   "that leaks the answer, is constant or is empty; "
                   f"{dropped} column(s) left out with a written reason. (Whether each "
                   "feature adds value is not measured: attest an ablation for more.)",
                   at=at)  # fmt: skip


def _d3(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    gate = f.gate("max_latency_ms")
    if gate is None:
        return Finding(FAIL, "No latency budget: the cost of computing the features and the "
                       "model per prediction is not checked.",
                       "set training.gates.max_latency_ms, then steadyml train")  # fmt: skip
    state = PASS if gate.get("passed") else FAIL
    return Finding(state, f"Gate max_latency_ms: {gate.get('message')}",
                   "" if state == PASS else "make the model cheaper, then steadyml train",
                   at=f.run.created_at if f.run else None)  # fmt: skip


def _d4(f: Facts) -> Finding:
    cols = f.config.data.columns
    if not cols.pii and not cols.sensitive:
        return Finding(FAIL, "No column is declared personal (data.columns.pii) or sensitive "
                       "(data.columns.sensitive).", "declare them in steadyml.yaml, or "
                       "steadyml checklist attest data-4 --note 'no personal data: …'")  # fmt: skip
    sens = "used as features (stated)" if f.config.data.sensitive_as_features else "not features"
    return Finding(PASS, f"Declared in steadyml.yaml: personal {list(cols.pii)} (never a "
                   f"feature: Roles.features leaves them out), sensitive "
                   f"{list(cols.sensitive)} ({sens}; checked for fairness).",
                   at=f.written_at)  # fmt: skip


def _d5(f: Facts) -> Finding:
    cols = f.config.data.columns
    if not cols.pii:
        return Finding(NA, "No personal data is declared, so the log holds none to control.",
                       "declare data.columns.pii if the data holds any")  # fmt: skip
    how = {"remove": "removed", "hash": "keyed-hashed"}[f.config.serving.pii_handling]
    return Finding(
        PASS,
        f"Personal columns {list(cols.pii)} are {how} from every logged "
        "row by predlog/scrub.py before it is written (API and batch), and the "
        f"worker deletes logs older than {f.config.monitoring.retention_days} days.",
        at=f.written_at,
    )


def _d6(f: Facts) -> Finding:
    if f.run is None:
        return Finding(UNMEASURED, "No training run yet.", "steadyml train")
    return Finding(PASS, f"A new feature is one line of steadyml.yaml and one `steadyml "
                   f"train`: run {f.run.number} went from data version "
                   f"{f.run.dataset_version} to a gated candidate in {f.run.duration_s:.1f} s.",
                   at=f.run.created_at)  # fmt: skip


def _d7(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    at = f.evidence["check_of_data_at"]
    if at is None:
        return Finding(FAIL, "The training data's file has no passing data check (the "
                       "latest decides).", "steadyml data check")  # fmt: skip
    return Finding(PASS, f"The file of data version {f.production.dataset_version} passed "
                   "`data check` "
                   "(contract, quality, leakage), and training validated it against the "
                   "contract before the pipeline, built from the column roles, was fitted.",
                   at=at)  # fmt: skip


# --- model (model development) ---------------------------------------------------------


def _m1(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    ev = f.evidence.get("promoted")
    if ev is None or not ev.get("reason"):
        return Finding(FAIL, f"v{f.production.version}'s promotion is not recorded.",
                       "steadyml models promote V --to production --reason '…'")  # fmt: skip
    commit = f.run.code_commit if f.run else None
    code = f"code {commit[:10]}" if commit else "no git commit recorded"
    return Finding(PASS, f"v{f.production.version} reached production by {ev['by']} "
                   f"({ev['action']}): {ev['reason']!r}; its run records the settings hash, "
                   f"{code} and the data version.", at=ev["at"])  # fmt: skip


def _m2(f: Facts) -> Finding:
    labels = f.evidence["labels"]
    if labels == 0:
        return Finding(
            UNMEASURED,
            "No true outcome has arrived yet, so live quality is unknown.",
            "steadyml feedback FILE --id-column … --label-column …",
        )
    if not f.rules(QUALITY_RULES):
        return Finding(FAIL, f"{labels:,} labels arrived, but no alert rule compares live "
                       "quality with training's.", "add a performance_drop rule to "
                       "monitoring.alerts")  # fmt: skip
    fresh, job = _recent_job(f, "monitor")
    if not fresh:
        return Finding(
            FAIL,
            f"{labels:,} labels, but no monitor job ran recently to compare "
            "them with training's metric.",
            "steadyml worker --once monitor",
        )
    return Finding(PASS, f"{labels:,} labels; the monitor compares live quality with training "
                   f"({', '.join(f.rules(QUALITY_RULES))}).",
                   at=job["at"] if job else None)  # fmt: skip


def _m3(f: Facts) -> Finding:
    if f.run is None:
        return Finding(UNMEASURED, "No training run yet.", "steadyml train")
    cands = f.run.summary.get("candidates") or []
    if len(cands) < 2:
        return Finding(
            FAIL,
            "Run trained one model family; nothing was compared.",
            "list two or more in training.models, then steadyml train",
        )
    return Finding(PASS, f"Run {f.run.number} compared {len(cands)} candidates on validation "
                   f"rows and kept {f.run.model_type}.", at=f.run.created_at)  # fmt: skip


def _m4(f: Facts) -> Finding:
    n = f.evidence["retrains"]
    if n == 0:
        return Finding(
            FAIL,
            "No retrain has compared a challenger with the champion on "
            "recent rows, so the cost of an old model is unknown.",
            "steadyml retrain",
        )
    return Finding(PASS, f"{n} retrain(s) measured the champion against a challenger on the "
                   "latest labelled rows.", at=f.evidence["retrain_at"])  # fmt: skip


def _m5(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    gate = f.gate("beat_baseline")
    if gate is None:
        return Finding(FAIL, "No baseline gate was checked.", "steadyml train")
    state = PASS if gate.get("passed") else FAIL
    return Finding(state, f"Against the do-nothing baseline: {gate.get('message')}",
                   "" if state == PASS else "steadyml train", at=f.run.created_at if f.run
                   else None)  # fmt: skip


def _m6(f: Facts) -> Finding:
    if f.run is None:
        return Finding(UNMEASURED, "No training run yet.", "steadyml train")
    segs = f.run.summary.get("segments") or {}
    if not segs:
        return Finding(FAIL, "No segment was measured.", "set training.segments, then "
                       "steadyml train")  # fmt: skip
    return Finding(PASS, f"Run {f.run.number} measured quality per value of "
                   f"{', '.join(segs)}; each retrain checks no segment loses more than "
                   f"{f.config.retraining.segment_margin}.", at=f.run.created_at)  # fmt: skip


def _m7(f: Facts) -> Finding:
    if not f.config.data.columns.sensitive:
        return Finding(FAIL, "No sensitive column is declared, so no group is compared.",
                       "declare data.columns.sensitive")  # fmt: skip
    if f.production is None:
        return _no_model()
    gate = f.gate("max_fairness_gap")
    if gate is None:
        return Finding(
            FAIL,
            "Groups are measured, but no fairness gate is set.",
            "set training.gates.max_fairness_gap, then steadyml train",
        )
    state = PASS if gate.get("passed") else FAIL
    return Finding(state, f"Gate max_fairness_gap: {gate.get('message')}",
                   "" if state == PASS else "steadyml train", at=f.run.created_at if f.run
                   else None)  # fmt: skip


# --- infrastructure ---------------------------------------------------------------------


def _i1(f: Facts) -> Finding:
    fresh, job = _recent_job(f, "reproduce")
    if job is None:
        return Finding(UNMEASURED, "Nobody retrained a snapshot to see the same metrics.",
                       "steadyml checklist reproduce")  # fmt: skip
    s = job["summary"]
    if not job.get("ok"):
        return Finding(FAIL, f"Retraining run {s.get('run')} on data version "
                       f"{s.get('dataset_version')} gave other metrics: "
                       f"{job.get('error')}", "fix the source of randomness, then "
                       "steadyml checklist reproduce", at=job["at"])  # fmt: skip
    if not fresh:
        return Finding(FAIL, "The last reproducibility check is older than "
                       f"launch.evidence_within ({f.config.launch.evidence_within}).",
                       "steadyml checklist reproduce", at=job["at"])  # fmt: skip
    return Finding(PASS, f"Run {s.get('run')} retrained on data version "
                   f"{s.get('dataset_version')}: the largest metric difference was "
                   f"{s.get('max_difference'):.2g} (tolerance {s.get('tolerance')}).",
                   at=job["at"])  # fmt: skip


def _i2(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    if f.production.serving_digest is None:
        return Finding(
            FAIL,
            f"v{f.production.version} has no serving form checked against its pipeline.",
            "steadyml train (linear and tree models get one)",
        )
    return Finding(PASS, f"v{f.production.version}'s serving form was checked against the "
                   "fitted pipeline to 1e-9 before it was stored (training/compiled.py), and "
                   "its bytes are verified by digest at every load.",
                   at=f.production.created_at)  # fmt: skip


def _i3(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    n = f.evidence["by_production"]
    if n == 0:
        return Finding(
            FAIL,
            f"v{f.production.version} has not answered a request or scored a file yet.",
            "steadyml serve, or steadyml batch score FILE --out OUT",
        )
    return Finding(PASS, f"The whole path ran: data version {f.production.dataset_version} → "
                   f"run {f.production.run_number} → v{f.production.version} → {n:,} logged "
                   "answers.", at=f.evidence["predictions_at"])  # fmt: skip


def _i4(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    if not f.production.gates_passed:
        return Finding(
            FAIL,
            f"v{f.production.version} is in production though it failed its gates (an override).",
            "steadyml train a model that passes",
        )
    return Finding(PASS, f"v{f.production.version} passed every gate of training.gates; "
                   "`models promote` refuses a version that failed them unless an override "
                   "is recorded.", at=f.production.created_at)  # fmt: skip


def _i5(f: Facts) -> Finding:
    if not f.sample:
        return Finding(UNMEASURED, "No logged prediction yet.", "steadyml serve")
    last = f.sample[0]
    return Finding(PASS, f"Each answer is logged with its request id, inputs and model "
                   f"version (e.g. {last.request_id} by v{last.model_version}), which leads "
                   "to the run, the data version and the code; `steadyml models card V` "
                   "explains the version.", at=last.at)  # fmt: skip


def _i6(f: Facts) -> Finding:
    n = f.evidence["rollouts"]
    if n == 0:
        return Finding(FAIL, "No candidate went through a shadow and canary before production.",
                       "steadyml rollout start V --reason '…'")  # fmt: skip
    return Finding(PASS, f"{n} rollout(s) completed shadow → canary → production under "
                   "guardrails.", at=f.evidence["rollout_at"])  # fmt: skip


def _i7(f: Facts) -> Finding:
    from steadyml.config.times import parse_duration

    at = f.evidence["rollback_at"]
    window = f.config.launch.rollback_within
    if at is None:
        return Finding(FAIL, "No rollback has been exercised.", "steadyml models rollback "
                       "--reason 'drill', or let a rollout's guardrail roll back")  # fmt: skip
    if at < f.now - parse_duration(window):
        return Finding(
            FAIL,
            f"The last rollback is older than launch.rollback_within ({window}).",
            "steadyml models rollback --reason 'drill'",
            at=at,
        )
    return Finding(PASS, f"{f.evidence['rollbacks']} rollback(s); the latest within "
                   f"{window}.", at=at)  # fmt: skip


# --- monitoring -------------------------------------------------------------------------


def _mo1(f: Facts) -> Finding:
    if f.run is None:
        return Finding(UNMEASURED, "No training run yet.", "steadyml train")
    trained = {k: v for k, v in f.run.package_versions.items() if k in f.environment}
    changed = {k: (v, f.environment[k]) for k, v in trained.items() if f.environment[k] != v}
    if changed:
        said = "; ".join(f"{k} {a} at training, {b} here" for k, (a, b) in changed.items())
        return Finding(
            FAIL,
            f"Packages changed since run {f.run.number}: {said}.",
            "retrain here (steadyml train --force) or pin the training versions",
        )
    return Finding(PASS, f"The {len(trained)} packages run {f.run.number} recorded match this "
                   "environment (compared each time the checklist runs: a change fails this "
                   "test; no alert is sent).", at=f.now)  # fmt: skip


def _mo2(f: Facts) -> Finding:
    rules = f.rules(DATA_RULES)
    if not rules:
        return Finding(
            FAIL,
            "No alert rule watches missing values or unseen categories.",
            "add missing_increase:* or unseen_rate:* rules to monitoring.alerts",
        )
    fresh, job = _recent_job(f, "monitor")
    if not fresh:
        return Finding(
            FAIL,
            f"Rules {rules}, but no monitor job ran within {f.config.launch.evidence_within}.",
            "steadyml worker --once monitor",
        )
    return Finding(PASS, f"Live inputs are checked against the contract at every request "
                   f"({f.evidence['refused_by_contract']:,} refused) and watched by "
                   f"{', '.join(rules)}.", at=job["at"] if job else None)  # fmt: skip


def _mo3(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    rules = f.rules(DRIFT_RULES)
    if f.production.serving_digest is None or not rules:
        return Finding(FAIL, "Either no serving form was checked against the pipeline or no "
                       "drift rule compares live inputs with training.",
                       "add a drift:* rule; steadyml train")  # fmt: skip
    fresh, job = _recent_job(f, "monitor")
    if not fresh:
        return Finding(FAIL, "Drift rules are set, but no monitor job ran recently.",
                       "steadyml worker --once monitor")  # fmt: skip
    return Finding(PASS, "Serving runs the fitted pipeline's own serving form (checked to "
                   f"1e-9), and live inputs are compared with training's by {rules}.",
                   at=job["at"] if job else None)  # fmt: skip


def _mo4(f: Facts) -> Finding:
    from steadyml.config.times import parse_duration

    if f.production is None:
        return _no_model()
    age = f.now - f.production.created_at
    limit = f.config.launch.max_model_age
    days = age.total_seconds() / 86400
    if age > parse_duration(limit):
        return Finding(FAIL, f"v{f.production.version} is {days:.0f} days old, over "
                       f"launch.max_model_age ({limit}).", "steadyml retrain",
                       at=f.production.created_at)  # fmt: skip
    return Finding(PASS, f"v{f.production.version} is {days:.1f} days old (limit {limit}).",
                   at=f.production.created_at)  # fmt: skip


def _finite(value: Any) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _mo5(f: Facts) -> Finding:
    answered = [r for r in f.sample if r.error is None]
    if not answered:
        return Finding(UNMEASURED, "No answered prediction logged yet.", "steadyml serve")
    bad = [r for r in answered if not _finite(r.score) or not _finite(r.prediction)
           or (r.score is None and r.prediction is None)]  # fmt: skip
    if bad:
        return Finding(FAIL, f"{len(bad)} of the latest {len(answered):,} answers are NaN, "
                       f"infinite or empty (e.g. {bad[0].request_id}).", "steadyml models "
                       "rollback --reason 'NaN predictions'", at=bad[0].at)  # fmt: skip
    return Finding(PASS, f"None of the latest {len(answered):,} logged answers is NaN or "
                   "infinite.", at=answered[0].at)  # fmt: skip


def _mo6(f: Facts) -> Finding:
    if f.run is None:
        return Finding(UNMEASURED, "No training run yet.", "steadyml train")
    trained = (f.run.summary.get("latency") or {}).get("one_row_ms")
    times = sorted(r.latency_ms for r in f.sample if r.latency_ms is not None and r.error is None)
    if not times or not trained:
        return Finding(UNMEASURED, "No served latency (or training measurement) to compare.",
                       "steadyml serve")  # fmt: skip
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    limit = f.config.launch.latency_factor * float(trained)
    state = PASS if p95 <= limit else FAIL
    return Finding(state, f"Served p95 {p95:.1f} ms over the latest {len(times):,} answers, "
                   f"training measured {trained} ms for one row (limit × "
                   f"{f.config.launch.latency_factor}: {limit:.1f} ms).",
                   "" if state == PASS else "find the slowdown (steadyml monitor), or raise "
                   "launch.latency_factor with a reason", at=f.sample[0].at)  # fmt: skip


def _mo7(f: Facts) -> Finding:
    labels = f.evidence["labels"]
    rules = f.rules(QUALITY_RULES)
    if labels == 0 or not rules:
        return Finding(UNMEASURED, "Live quality needs labels and a quality rule "
                       f"({labels:,} labels, rules {rules}).", "steadyml feedback …; add a "
                       "performance_drop rule")  # fmt: skip
    fresh, job = _recent_job(f, "monitor")
    if not fresh:
        return Finding(FAIL, "No monitor job measured live quality recently.",
                       "steadyml worker --once monitor")  # fmt: skip
    names = set(rules)
    open_ = [a for a in f.evidence["open_alerts"] if a["rule"] in names]
    if open_:
        return Finding(FAIL, f"Alert #{open_[0]['id']} ({open_[0]['rule']}) is open: quality "
                       "regressed on served data.", "steadyml alerts report ID; steadyml "
                       "retrain", at=job["at"] if job else None)  # fmt: skip
    return Finding(PASS, f"{labels:,} labels measured by the monitor; no quality alert is "
                   "open.", at=job["at"] if job else None)  # fmt: skip


TESTS: tuple[Item, ...] = (
    Item("data-1", "data", "Feature expectations are captured in a schema", _d1),
    Item("data-2", "data", "All features are beneficial", _d2),
    Item("data-3", "data", "No feature's cost is too much", _d3),
    Item("data-4", "data", "Features adhere to meta-level requirements", _d4),
    Item("data-5", "data", "The data pipeline has appropriate privacy controls", _d5),
    Item("data-6", "data", "New features can be added quickly", _d6),
    Item("data-7", "data", "All input feature code is tested", _d7),
    Item("model-1", "model", "Model specs are reviewed and submitted", _m1),
    Item("model-2", "model", "Offline and online metrics correlate", _m2),
    Item("model-3", "model", "All hyperparameters have been tuned", _m3),
    Item("model-4", "model", "The impact of model staleness is known", _m4),
    Item("model-5", "model", "A simpler model is not better", _m5),
    Item("model-6", "model", "Model quality is sufficient on important data slices", _m6),
    Item("model-7", "model", "The model is tested for considerations of inclusion", _m7),
    Item("infra-1", "infrastructure", "Training is reproducible", _i1),
    Item("infra-2", "infrastructure", "Model specs are unit tested", _i2),
    Item("infra-3", "infrastructure", "The ML pipeline is integration tested", _i3),
    Item("infra-4", "infrastructure", "Model quality is validated before serving", _i4),
    Item("infra-5", "infrastructure", "The model is debuggable", _i5),
    Item("infra-6", "infrastructure", "Models are canaried before serving", _i6),
    Item("infra-7", "infrastructure", "Serving models can be rolled back", _i7),
    Item("monitor-1", "monitoring", "Dependency changes result in notification", _mo1),
    Item("monitor-2", "monitoring", "Data invariants hold in training and serving inputs", _mo2),
    Item("monitor-3", "monitoring", "Training and serving features compute the same values", _mo3),
    Item("monitor-4", "monitoring", "Models are not too stale", _mo4),
    Item("monitor-5", "monitoring", "The model is numerically stable", _mo5),
    Item("monitor-6", "monitoring", "The model has not regressed in speed", _mo6),
    Item("monitor-7", "monitoring", "Prediction quality has not regressed on served data", _mo7),
)


# --- the course's launch items (the gate reads these) -----------------------------------


def _plan(f: Facts) -> Finding:
    p, o = f.config.project, f.config.owners
    fields = {"project.problem": p.problem, "project.users": p.users,
              "owners.model": o.model, "owners.deployment": o.deployment,
              "owners.monitoring": o.monitoring,
              "owners.release_approver": o.release_approver}  # fmt: skip
    missing = [k for k, v in fields.items() if not _written(v)]
    if missing:
        return Finding(FAIL, f"Not written yet in steadyml.yaml: {', '.join(missing)}.",
                       f"write {missing[0]} in steadyml.yaml")  # fmt: skip
    return Finding(PASS, f"Problem, users and the four owners are written; releases are "
                   f"approved by {o.release_approver}.", at=f.written_at)  # fmt: skip


def _mode(f: Facts) -> Finding:
    p = f.config.project
    if not _written(p.mode_reason):
        return Finding(FAIL, f"Mode {p.mode} is chosen without a reason.",
                       "write project.mode_reason in steadyml.yaml")  # fmt: skip
    return Finding(PASS, f"{p.mode}: {p.mode_reason}", at=f.written_at)


def _documented(f: Facts) -> Finding:
    if f.production is None:
        return _no_model()
    return Finding(PASS, f"Inputs: the contract's {len(f.production.features)} features; "
                   f"outputs and version: every answer names v{f.production.version}; "
                   f"`steadyml models card {f.production.version}` writes its card.",
                   at=f.production.created_at)  # fmt: skip


def _tested(f: Facts) -> Finding:
    d7 = _d7(f)
    if d7.status != PASS:
        return d7
    return Finding(
        PASS,
        "The training data passed `data check`; every request and batch row "
        "is validated, and unusual values are answered with a warning.",
        at=d7.at,
    )


def _gates(f: Facts, mv: ModelVersion | None = None) -> Finding:
    mv = mv or f.production
    if mv is None:
        return _no_model()
    if not mv.gates_passed:
        return Finding(FAIL, f"v{mv.version} failed its gates.", "steadyml runs show "
                       f"{mv.run_number}; train a better model")  # fmt: skip
    return Finding(PASS, f"v{mv.version} passed every gate of training.gates.",
                   at=mv.created_at)  # fmt: skip


def _contract(f: Facts, mv: ModelVersion | None = None) -> Finding:
    mv = mv or f.production
    if mv is None:
        return _no_model()
    if not mv.contract:
        return Finding(FAIL, f"v{mv.version} carries no data contract.", "steadyml data check, "
                       "then steadyml train")  # fmt: skip
    return Finding(PASS, f"v{mv.version} carries the data contract; serving and batch "
                   "validate every record against it.", at=mv.created_at)  # fmt: skip


def _logging_fallback(f: Facts, mv: ModelVersion | None = None) -> Finding:
    fb = f.config.serving.fallback
    if fb.strategy == "error":
        return Finding(FAIL, "serving.fallback.strategy is error: when the model fails or is "
                       "slow, callers get a 503.",
                       "in steadyml.yaml, under serving: fallback:, set strategy: constant "
                       "and value: the answer callers should get (or strategy: rule, or "
                       "previous once a version was in production)")  # fmt: skip
    if fb.strategy == "previous" and f.evidence.get("production_versions_ever", 0) == 0:
        return Finding(FAIL, "serving.fallback.strategy is previous, but no version was ever "
                       "in production to fall back on.", "use a constant or rule fallback for "
                       "the first release")  # fmt: skip
    return Finding(PASS, f"Every answer, refusal and fallback is logged with its model "
                   f"version (the log writer of serve and batch; not optional for the API); "
                   f"the fallback is {fb.strategy} after {fb.timeout_ms:g} ms.",
                   at=f.written_at)  # fmt: skip


def _alert_rule(f: Facts, mv: ModelVersion | None = None) -> Finding:
    mon = f.config.monitoring
    channels = [c.kind for c in mon.channels]
    if not mon.alerts or not channels:
        return Finding(FAIL, f"{len(mon.alerts)} alert rule(s), channels {channels}.",
                       "add a rule under monitoring.alerts and a channel")  # fmt: skip
    owner = f.config.owners.monitoring
    owned = [r for r in mon.alerts if _written(r.owner or owner)]
    if not owned:
        return Finding(FAIL, "No alert rule has an owner (rule owner or owners.monitoring).",
                       "write owners.monitoring in steadyml.yaml")  # fmt: skip
    return Finding(PASS, f"{len(owned)} alert rule(s) with thresholds, owned by "
                   f"{owned[0].owner or owner}, sent to {', '.join(channels)}.",
                   at=f.written_at)  # fmt: skip


def _rollback_path(f: Facts, mv: ModelVersion | None = None) -> Finding:
    ever = f.evidence.get("production_versions_ever", 0)
    current = f.production
    target = mv or current
    if current is not None and target is not None and current.version != target.version:
        return Finding(PASS, f"v{current.version} stays archived: `steadyml models rollback` "
                       "brings it back.")  # fmt: skip
    if ever >= 2:
        return Finding(PASS, "An earlier production version is archived: `steadyml models "
                       "rollback` brings it back.")  # fmt: skip
    fb = f.config.serving.fallback.strategy
    if fb in ("constant", "rule"):
        return Finding(PASS, f"No earlier version to go back to; the {fb} fallback answers "
                       "without any model if this one must be taken out.")  # fmt: skip
    return Finding(FAIL, "No earlier production version and no fallback that answers without "
                   "a model.", "in steadyml.yaml, under serving: fallback:, set strategy: constant "
                   "and value: the answer callers should get (or strategy: rule)")  # fmt: skip


def _privacy_fairness(f: Facts) -> Finding:
    return Finding(
        UNMEASURED,
        "A person reviews privacy, fairness and the impact on users.",
        "steadyml checklist attest privacy_fairness --note 'reviewed with …'",
    )


GATED = {"gates": _gates, "contract": _contract, "logging_fallback": _logging_fallback,
         "alert_rule": _alert_rule, "rollback_path": _rollback_path}  # fmt: skip
"""Items judged for the version about to be promoted (the others read the project)."""

COURSE: tuple[Item, ...] = (
    Item("plan", "launch", "Business goal, users and owners written", _plan),
    Item("mode", "launch", "Batch or real-time chosen for a reason", _mode),
    Item("documented", "launch", "Inputs, outputs and model version documented", _documented),
    Item("tested", "launch", "Tested on realistic data and edge cases", _tested),
    Item("gates", "launch", "Gates passed against the baseline", _gates),
    Item("contract", "launch", "Data contract in place", _contract),
    Item("logging_fallback", "launch", "Logging and a fallback in place", _logging_fallback),
    Item("alert_rule", "launch", "Monitoring with thresholds, an owner and a channel", _alert_rule),
    Item("rollback_path", "launch", "A rollback path exists", _rollback_path),
    Item("privacy_fairness", "launch", "Privacy and fairness reviewed", _privacy_fairness),
)
