"""Is training reproducible? Retrain a recorded run's snapshot with its settings and compare.

``steadyml checklist reproduce [RUN]`` loads the run's data version (digest verified), fits
again with the settings the run recorded (``runs.training_config``: the column roles, the
split, the candidates, the seed, the success metric), and compares every numeric test metric
with the recorded one. Nothing new is registered: the result is a ``reproduce`` job run
(``job_runs``: ok, the largest difference, the tolerance), which the checklist's
"Training is reproducible" test reads. A run made by ``steadyml retrain`` was tested on its
champion's rows, so the latest run made by ``steadyml train`` is the default.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from steadyml.entities import JobRun, Run
from steadyml.errors import NotFoundError, SteadyMLError

if TYPE_CHECKING:
    from steadyml.artifacts import ArtifactStore
    from steadyml.config import ProjectConfig
    from steadyml.store import Store

__all__ = ["compare_metrics", "reproduce"]

SKIP = ("n", "threshold", "positive_label")  # counts and settings, not measurements


def compare_metrics(recorded: dict[str, Any], again: dict[str, Any]) -> tuple[float, list[str]]:
    """The largest absolute difference over the numeric metrics both hold, and their names."""
    worst, names = 0.0, []
    for name, value in recorded.items():
        other = again.get(name)
        if name in SKIP or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not isinstance(other, (int, float)):
            continue
        if math.isnan(value) and math.isnan(other):
            names.append(name)
            continue
        worst = max(worst, abs(float(value) - float(other)))
        names.append(name)
    return worst, names


def _default_run(store: Store) -> Run:
    for run in sorted(store.list_runs(), key=lambda r: r.number, reverse=True):
        if not (run.summary or {}).get("decision"):
            return run
    raise NotFoundError("No run made by `steadyml train` to reproduce yet.",
                        hint="steadyml train")  # fmt: skip


def reproduce(config: ProjectConfig, store: Store, artifacts: ArtifactStore, *,
              run_number: int | None = None) -> JobRun:  # fmt: skip
    """Retrain ``run_number`` (default: the latest run of ``steadyml train``) on its own data
    version and settings; record the comparison as a ``reproduce`` job run."""
    from steadyml.config.schema import DataSection, TrainingSection
    from steadyml.flows.data import load_snapshot
    from steadyml.training.run import train_model

    run = _default_run(store) if run_number is None else store.get_run(run_number)
    if (run.summary or {}).get("decision"):
        raise SteadyMLError(
            f"Run {run.number} was made by `steadyml retrain` (tested on its "
            "champion's rows), so it is not reproduced alone.",
            hint="Pass a run made by `steadyml train`.",
            field="run_number",
        )
    settings = run.training_config or {}
    data = DataSection.model_validate({**settings.get("data", {}), "source": "recorded"})
    training = TrainingSection.model_validate(settings.get("training", {}))
    metric = settings.get("success_metric") or {}
    tolerance = config.launch.reproduce_tolerance
    job = store.start_job("reproduce")
    started = time.perf_counter()
    try:
        frame = load_snapshot(store, artifacts, run.dataset_version)
        outcome = train_model(
            frame, data.roles(), training, task=run.task,  # type: ignore[arg-type]
            primary_metric=metric.get("name", config.project.success_metric.name),
            direction=metric.get("direction", config.project.success_metric.direction),
            missing_codes=data.missing_codes,
        )  # fmt: skip
    except Exception as exc:
        message = exc.message if isinstance(exc, SteadyMLError) else f"{type(exc).__name__}: {exc}"
        store.finish_job(job, ok=False, summary={"run": run.number}, error=message)
        raise
    worst, names = compare_metrics(run.metrics, dict(outcome.metrics))
    same_model = outcome.model_name == run.model_type
    ok = same_model and bool(names) and worst <= tolerance
    summary = {
        "run": run.number,
        "dataset_version": run.dataset_version,
        "max_difference": worst,
        "tolerance": tolerance,
        "metrics": names,
        "model": outcome.model_name,
        "seconds": round(time.perf_counter() - started, 2),
    }
    error = None
    if not ok:
        error = (
            f"chose {outcome.model_name}, not {run.model_type}"
            if not same_model
            else f"metrics differ by up to {worst:.3g} (tolerance {tolerance:g})"
        )
    return store.finish_job(job, ok=ok, summary=summary, error=error)
