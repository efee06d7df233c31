"""``steadyml retrain``: the champion's data plus the labelled live rows, a challenger, a decision.

The steps, always in this order:

1. the champion (the production model) and the dataset version it was trained on (with no
   champion: the latest dataset version, and the decision says it is a first model);
2. the labelled live rows of the window: the prediction log joined with its feedback (by
   request id, then by row id), shadow answers left out, personal data never taken (it was
   never logged); each row put in the dataset's columns and checked against the data
   contract, the rows that break a rule refused and counted;
3. the most recent ``holdout_share`` of them (by logged time) held out of training;
4. a dataset version: the champion's rows plus the other labelled rows, with its lineage
   (parent version, feedback window, rows added, rows refused) and content hash; the same
   inputs give the same version;
5. the challenger trained by ``steadyml train``'s own pipeline, gates and fairness checks,
   tested on the champion's own test rows (never learned from), and registered as a
   candidate;
6. the decision (``steadyml.training.challenge``): both models scored on the recent holdout
   and on the original test rows, kept with the run. It never promotes.

A retrain with nothing new (same data, champion, settings and code) returns the recorded run
and its decision instead of training again.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from steadyml.entities import DatasetVersion, ModelVersion, Run
from steadyml.errors import DataContractError
from steadyml.flows import data as data_flow
from steadyml.flows.release import load_model
from steadyml.flows.train import _contract_dict, record_outcome, training_config

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.data.contract import Contract
    from steadyml.store import Store

Progress = Callable[[str], None]

__all__ = ["RetrainResult", "retrain"]

_AT = "_logged_at"  # the log's time of each live row, kept beside the dataset's columns
# The settings of retraining that shape a retrain (its run key); triggers and rollout do not.
_DECISION_SETTINGS = {
    "labels_since", "holdout_share", "min_labelled_rows", "bootstrap_resamples",
    "metric_margin", "segment_margin", "fairness_margin", "latency_factor",
}  # fmt: skip


@dataclass(frozen=True)
class RetrainResult:
    run: Run
    model_version: ModelVersion | None
    dataset: DatasetVersion
    dataset_created: bool
    decision: dict[str, Any]
    up_to_date: bool
    rollout: str | None = None  # retraining.rollout: auto after a PROMOTE: what was started

    def to_dict(self) -> dict[str, Any]:
        return {
            "up_to_date": self.up_to_date,
            "rollout": self.rollout,
            "outcome": self.decision.get("outcome"),
            "dataset_version": {**self.dataset.to_dict(), "created": self.dataset_created},
            "run": self.run.to_dict(),
            "model_version": None if self.model_version is None else self.model_version.to_dict(),
            "decision": self.decision,
        }


def retrain(
    config: ProjectConfig,
    root: Path,
    store: Store,
    artifacts: ArtifactStore,
    *,
    labels_since: str | None = None,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    trigger: list[dict[str, Any]] | None = None,
    by: str = "steadyml retrain",
) -> RetrainResult:
    """Retrain on the champion's data plus the window's labelled live rows; decide.

    ``trigger``: why the worker retrains (``flows.triggers``), kept in the new dataset
    version's lineage and the decision; it is not an input, so it never makes a retrain on
    the same inputs train again. With ``retraining.rollout: auto`` a new PROMOTE decision
    starts the challenger's rollout (``flows.rollout``), by ``by``.
    """
    import pandas as pd

    from steadyml.config.times import parse_duration
    from steadyml.data.check import detect_task
    from steadyml.data.contract import validate
    from steadyml.data.versions import fingerprint
    from steadyml.training.lineage import code_version, run_key
    from steadyml.training.run import train_model

    say = progress or (lambda _m: None)
    settings = config.retraining
    since_text = labels_since or settings.labels_since
    try:
        window = parse_duration(since_text)
    except ValueError as exc:
        from steadyml.errors import SteadyMLError

        raise SteadyMLError(str(exc), field="labels_since") from None
    until = now or dt.datetime.now(dt.UTC)
    since = until - window

    champion = store.production_version()
    champ_run = None if champion is None else store.get_run(champion.run_number)
    if champion is not None:
        parent = store.get_dataset_version(champion.dataset_version)
    else:
        parent = (
            store.latest_dataset_version()
            or data_flow.snapshot(config, root, store, artifacts).version
        )
    say(f"Loading data version {parent.version} ({parent.rows:,} rows)")
    base = data_flow.load_snapshot(store, artifacts, parent.version)
    # a version recorded before snapshots left personal data out: not copied into a new one
    base = base.drop(columns=list(config.data.columns.pii), errors="ignore")
    declared = data_flow.load_contract(config, root) or data_flow.infer_contract(config, root)
    contract = data_flow.snapshot_contract(declared, config)

    say(f"Reading the labelled live rows logged since {since:%Y-%m-%d %H:%M} UTC")
    live = _labelled_log(store, artifacts, since, until)
    rows, refused, reasons = _as_training_rows(live, base, config, contract)
    rows = rows.sort_values([_AT], kind="mergesort").reset_index(drop=True)
    n_holdout = math.ceil(len(rows) * settings.holdout_share) if len(rows) else 0
    holdout = rows.iloc[len(rows) - n_holdout :]
    learn = rows.iloc[: len(rows) - n_holdout].drop(columns=[_AT])
    frame = pd.concat([base, learn], ignore_index=True) if len(learn) else base
    say(f"{len(rows):,} labelled live rows: {len(learn):,} to learn from, {n_holdout:,} held out")

    report = validate(frame, contract)
    if not report.passed:
        first = "\n".join(f"  - {v.message}" for v in report.broken_rules[:10])
        raise DataContractError(
            f"The retraining data breaks rules of the data contract ({report.bad_rows:,} of "
            f"{report.rows:,} rows):\n{first}",
            report=report,
            hint="Run `steadyml data check` on the training data; fix the rules in "
            "contract.yaml if the values are legitimate.",
        )
    fp = fingerprint(frame)
    lineage: dict[str, Any] = {
        "parent_version": parent.version,
        "champion_version": None if champion is None else champion.version,
        "feedback_window": {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "labels_since": since_text,
        },
        "labelled_rows": len(live),
        "rows_added": len(learn),
        "rows_refused": int(refused),
        "refused_reasons": reasons,
        "holdout_rows": int(n_holdout),
        "holdout_share": settings.holdout_share,
        "holdout_hash": fingerprint(holdout.drop(columns=[_AT])).content_hash
        if n_holdout
        else None,
    }
    if trigger:
        lineage["triggered_by"] = trigger
    dataset, created = _record_dataset(store, artifacts, frame, fp, parent, lineage)

    test_index = None if champ_run is None else _champion_test_rows(base, config, champ_run)
    key_settings = {
        **training_config(config),
        "retrain": {
            "champion": None if champion is None else champion.version,
            "holdout": lineage["holdout_hash"],
            "decision": settings.model_dump(mode="json", include=_DECISION_SETTINGS),
        },
    }
    code = code_version(root)
    key = run_key(data_hash=dataset.content_hash, config=key_settings, code=code)
    existing = store.find_run_by_key(key)
    if existing is not None and "decision" in (existing.summary or {}):
        mv = (
            None
            if existing.model_version is None
            else store.get_model_version(existing.model_version)
        )
        return RetrainResult(existing, mv, dataset, created, existing.summary["decision"], True)

    roles = config.data.roles()
    task = detect_task(frame[roles.target], config.data.task)
    metric = config.project.success_metric
    started = time.perf_counter()
    outcome = train_model(frame, roles, config.training, task=task, primary_metric=metric.name,
                          direction=metric.direction, missing_codes=config.data.missing_codes,
                          progress=say, test_index=test_index)  # fmt: skip
    duration = time.perf_counter() - started
    say("Storing the challenger and recording the run")
    run, mv = record_outcome(
        store, artifacts, outcome, run_key=key, dataset_version=dataset.version,
        data_hash=dataset.content_hash, config_hash=config.hash(), code=code,
        training_config=key_settings, duration_s=duration, primary_metric=metric.name,
        contract=_contract_dict(declared),
    )  # fmt: skip
    say("Comparing the challenger with the champion")
    decision = _decide(config, store, artifacts, outcome, mv, champion, champ_run,
                       base, test_index, holdout, len(rows), task)  # fmt: skip
    if trigger:
        decision["triggered_by"] = trigger
    run = store.set_run_decision(run.number, decision)
    rollout = _auto_rollout(config, store, artifacts, decision, mv.version, by)
    return RetrainResult(run, mv, dataset, created, decision, False, rollout)


def _auto_rollout(config: ProjectConfig, store: Store, artifacts: ArtifactStore,
                  decision: dict[str, Any], version: int, by: str) -> str | None:  # fmt: skip
    """With ``retraining.rollout: auto``, a PROMOTE decision starts the challenger's rollout;
    what happened, or None when there was nothing to do (a person starts it)."""
    from steadyml.flows.rollout import maybe_start_after_decision

    if config.retraining.rollout != "auto" or decision.get("outcome") != "PROMOTE":
        return None
    rollout = maybe_start_after_decision(store, artifacts, config, decision, version, by=by)
    if rollout is None:
        return "not started: another rollout is under way (steadyml rollout status)."
    return f"started: rollout {rollout.id} of version {version} (steadyml rollout status)."


def _labelled_log(
    store: Store, artifacts: ArtifactStore, since: dt.datetime, until: dt.datetime
) -> pd.DataFrame:
    """The window's logged answers (shadow ones left out) that have a true label."""
    import pandas as pd

    from steadyml.predlog import read_log

    chunks = [c for c in read_log(store, artifacts, since=since, until=until) if len(c)]
    if not chunks:
        return pd.DataFrame(columns=["request_id", "row_key", "at", "label"])
    log = pd.concat(chunks, ignore_index=True)
    log = log[log["route"].astype(str) != "shadow"]
    log = log.drop_duplicates(subset=["request_id", "row_key"], keep="last")
    feedback = store.all_feedback()
    by_request = log["request_id"].map(lambda k: feedback.get(k, (None,))[0])
    by_row = log["row_key"].map(
        lambda k: feedback.get(k, (None,))[0] if isinstance(k, str) else None
    )
    log = log.assign(label=by_request.where(by_request.notna(), by_row))
    return log[log["label"].notna()].reset_index(drop=True)


def _as_training_rows(
    live: pd.DataFrame, base: pd.DataFrame, config: ProjectConfig, contract: Contract
) -> tuple[pd.DataFrame, int, dict[str, int]]:
    """The live rows in the dataset's columns and types, the contract's refusals removed:
    ``(rows with their logged time, rows refused, refusals by reason)``.

    A row is refused when the service refused it (its logged error starts with
    ``contract:``) or when its logged values, as they were logged, break a rule of the
    contract (checked before they are typed, so text in a number column is refused rather
    than read as missing).
    """
    import pandas as pd

    from steadyml.data.contract.rows import check_rows

    roles = config.data.roles()
    raw = pd.DataFrame(index=live.index)
    for col in base.columns:
        if col == roles.target:
            values = _like_target(live["label"], base[col])
        elif col in roles.pii:
            values = pd.Series(None, index=live.index, dtype=object)  # never logged, never used
        elif col in live.columns:
            values = live[col]
        elif col == roles.id:
            values = live["row_key"]
        elif col == roles.timestamp:
            values = pd.to_datetime(live["at"], utc=True).map(lambda t: t.isoformat())
        else:
            values = pd.Series(None, index=live.index, dtype=object)
        raw[col] = values
    if not len(raw):
        return raw.assign(**{_AT: pd.Series(dtype="datetime64[ns, UTC]")}), 0, {}
    check = check_rows(raw, contract.columns.values(), missing_codes=config.data.missing_codes)
    errors = live["error"] if "error" in live.columns else pd.Series(None, index=live.index)
    served = errors.fillna("").astype(str).str.startswith("contract:").to_numpy()
    refused = check.refused | served
    reasons = dict(check.refused_counts.most_common(10))
    if (served & ~check.refused).any():
        reasons["refused by the service when it was sent"] = int((served & ~check.refused).sum())
    kept = raw[~refused]
    out = pd.DataFrame({col: _like(kept[col], base[col]) for col in base.columns},
                       index=kept.index)  # fmt: skip
    out[_AT] = pd.to_datetime(live.loc[kept.index, "at"], utc=True)
    return out, int(refused.sum()), reasons


def _like(values: pd.Series, like: pd.Series) -> pd.Series:
    """``values`` in the type of the dataset's column ``like`` where they fit."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(like):
        from steadyml.monitoring.inputs import as_contract_type

        typed = as_contract_type(values, "boolean")
        return typed if typed.isna().any() else typed.astype(bool)
    if pd.api.types.is_numeric_dtype(like):
        numbers = pd.to_numeric(values, errors="coerce")
        integral = numbers.notna().all() and bool((numbers % 1 == 0).all())
        if pd.api.types.is_integer_dtype(like) and integral:
            return numbers.astype(like.dtype)
        return numbers.astype(float)
    if pd.api.types.is_datetime64_any_dtype(like):
        return pd.to_datetime(values, errors="coerce", utc=like.dt.tz is not None)
    return values.map(lambda v: v if v is None or isinstance(v, str) or v != v else str(v))


def _like_target(labels: pd.Series, target: pd.Series) -> pd.Series:
    """Labels as the target's own values (JSON may turn 1 into "1" or 1.0)."""
    known = target.dropna().unique().tolist()
    by_text = {str(v): v for v in known}
    by_text.update({str(float(v)): v for v in known if isinstance(v, int | float)})
    return labels.map(lambda v: by_text.get(str(v), v))


def _record_dataset(
    store: Store,
    artifacts: ArtifactStore,
    frame: pd.DataFrame,
    fp: Any,
    parent: DatasetVersion,
    lineage: dict[str, Any],
) -> tuple[DatasetVersion, bool]:
    from steadyml.data.versions import to_parquet_bytes

    existing = store.find_dataset_version(fp.content_hash)
    if existing is not None:
        return existing, False
    blob = to_parquet_bytes(frame)
    digest = artifacts.put_bytes(blob)
    store.add_artifact(digest=digest, size=len(blob), kind="dataset")
    return store.add_dataset_version(
        content_hash=fp.content_hash,
        rows=fp.rows,
        columns=fp.columns,
        schema_hash=fp.schema_hash,
        source=f"retrain: data version {parent.version} + {lineage['rows_added']:,} labelled "
        "live rows",
        artifact_digest=digest,
        lineage=lineage,
    )


def _champion_test_rows(base: pd.DataFrame, config: ProjectConfig, run: Run) -> pd.Index:
    """The rows the champion was tested on: its own split of its own data, redone."""
    from steadyml.config import SPLIT_TEST_VALUES
    from steadyml.data.split import split_rows

    split = (run.summary or {}).get("split") or {}
    roles = config.data.roles()
    data = base[base[roles.target].notna()]
    _, test = split_rows(
        data,
        roles,
        split.get("method", config.training.split.method),
        float(split.get("test_size", config.training.split.test_size)),
        int(split.get("seed", config.training.seed)),
        column=split.get("column"),
        test_values=split.get("test_values") or SPLIT_TEST_VALUES,
    )
    return test


def _decide(
    config: ProjectConfig,
    store: Store,
    artifacts: ArtifactStore,
    outcome: Any,
    mv: ModelVersion,
    champion: ModelVersion | None,
    champ_run: Run | None,
    base: pd.DataFrame,
    test_index: pd.Index | None,
    holdout: pd.DataFrame,
    labelled: int,
    task: Literal["classification", "regression"],
) -> dict[str, Any]:
    from steadyml.training.challenge import (
        Answers,
        Contender,
        DecisionSettings,
        RowSet,
        decide_challenge,
    )
    from steadyml.training.evaluate import measure_latency, predict_scores

    r = config.retraining
    settings = DecisionSettings(
        holdout_share=r.holdout_share, min_labelled_rows=r.min_labelled_rows,
        resamples=r.bootstrap_resamples, metric_margin=r.metric_margin,
        segment_margin=r.segment_margin, fairness_margin=r.fairness_margin,
        latency_factor=r.latency_factor, max_latency_ms=config.training.gates.max_latency_ms,
        seed=config.training.seed,
    )  # fmt: skip
    success = config.project.success_metric.name
    challenger_threshold = float(outcome.metrics.get("threshold") or 0.5)
    if champion is None or champ_run is None or test_index is None:
        return decide_challenge(
            task=task, positive_label=outcome.positive_label, success_metric=success, sets=[],
            champion=None,
            challenger=Contender(mv.version, None, outcome.gates.passed, mv.run_number),
            settings=settings, labelled=labelled, holdout=len(holdout),
        )  # fmt: skip
    started = time.perf_counter()
    bundle = load_model(store, artifacts, champion.version, project=config.project.name)
    roles = config.data.roles()
    threshold = float((champ_run.metrics or {}).get("threshold") or 0.5)
    segments = [c for c in config.training.segments if c in base.columns]
    sensitive = [c for c in roles.sensitive if c in base.columns]

    def rowset(name: str, title: str, rows: pd.DataFrame) -> RowSet:
        return RowSet(
            name=name,
            title=title,
            y=rows[roles.target].to_numpy(),
            champion=Answers(
                predict_scores(bundle.pipeline, rows[champion.features], task), threshold
            ),
            challenger=Answers(
                predict_scores(outcome.pipeline, rows[list(outcome.features)], task),
                challenger_threshold,
            ),
            segments=rows[segments],
            sensitive=rows[sensitive],
        )

    test = base.loc[test_index]
    test = test[test[roles.target].notna()]
    sets = [rowset("test", f"the champion's {len(test):,} original test rows", test)]
    if len(holdout):
        title = f"the {len(holdout):,} most recent labelled rows"
        sets.insert(0, rowset("recent", title, holdout))
    scoring_s = time.perf_counter() - started
    started = time.perf_counter()
    sample = test if len(test) else holdout
    champ_ms = measure_latency(bundle.pipeline, sample[champion.features])["one_row_ms"]
    chall_ms = measure_latency(outcome.pipeline, sample[list(outcome.features)])["one_row_ms"]
    latency_s = time.perf_counter() - started
    decision = decide_challenge(
        task=task, positive_label=outcome.positive_label, success_metric=success, sets=sets,
        champion=Contender(champion.version, champ_ms, champion.gates_passed, champion.run_number),
        challenger=Contender(mv.version, chall_ms, outcome.gates.passed, mv.run_number),
        settings=settings, labelled=labelled, holdout=len(holdout),
    )  # fmt: skip
    decision["timing"].update(scoring_s=round(scoring_s, 3), latency_s=round(latency_s, 3))
    return decision
