"""The model card: a version's purpose, data, metrics, limits and history.

``card_data`` gathers the plain mapping from the project file and the metadata store;
``model_card`` renders it (``steadyml.reports.card``) as Markdown or as a self-contained HTML
page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steadyml.errors import SteadyMLError

if TYPE_CHECKING:
    from steadyml.config import ProjectConfig
    from steadyml.store import Store

CARD_FORMATS = ("markdown", "html")

__all__ = ["CARD_FORMATS", "card_data", "model_card"]


def _limitations(summary: dict[str, Any], dv_rows: int, dv_version: int) -> list[str]:
    out = [
        str(c.get("message"))
        for c in (summary.get("gates") or {}).get("checks", [])
        if not c.get("passed")
    ]
    out += [str(w) for w in summary.get("warnings", [])]
    split = summary.get("split") or {}
    until = split.get("test_until") or split.get("last_test_timestamp") or split.get("test_to")
    seen = f" up to {until}" if until else ""
    out.append(
        f"Trained and tested on data version {dv_version} ({dv_rows:,} rows{seen}); it has "
        "not seen data after that, so check it on recent data before trusting it."
    )
    return out


def _scores(metrics: dict[str, Any]) -> dict[str, Any]:
    """Only the scores (and the confusion matrix and threshold), not counts or notes."""
    from steadyml.config.metrics import KNOWN_METRICS  # not training's: no scikit-learn

    keep = set(KNOWN_METRICS) | {"confusion_matrix", "threshold"}
    return {k: v for k, v in metrics.items() if k in keep}


def _data_facts(
    store: Store, version: int, data_hash: str, split: dict[str, Any]
) -> dict[str, Any]:
    """The data version's record; in a store without it (a packaged service registers the
    model version and its run, not the data snapshot) what the run recorded of it."""
    from steadyml.errors import NotFoundError

    try:
        dv = store.get_dataset_version(version)
    except NotFoundError:
        rows = sum(int(split.get(k) or 0) for k in ("train_rows", "test_rows", "dropped_rows"))
        return {"version": version, "content_hash": data_hash, "rows": rows, "columns": None,
                "source": "not in this store: the data snapshot stayed with the training "
                "project (its content hash is the run's)"}  # fmt: skip
    return {"version": dv.version, "content_hash": dv.content_hash, "rows": dv.rows,
            "columns": dv.columns, "source": dv.source}  # fmt: skip


def model_card(cfg: ProjectConfig, store: Store, version: int, *, fmt: str = "markdown") -> str:
    """The model card of a version, as Markdown or as a self-contained HTML page."""
    from steadyml.reports import render_card_html, render_card_markdown

    if fmt not in CARD_FORMATS:
        raise SteadyMLError(
            f"A model card's format must be 'markdown' or 'html'; got {fmt!r}.", field="fmt"
        )
    data = card_data(cfg, store, version)
    return render_card_html(data) if fmt == "html" else render_card_markdown(data)


def card_data(cfg: ProjectConfig, store: Store, version: int) -> dict[str, Any]:
    """Everything the card shows, as a plain mapping."""
    from steadyml.store.pages import pages_of

    mv = store.get_model_version(version)
    run = store.get_run(mv.run_number)
    summary = run.summary
    data = _data_facts(store, mv.dataset_version, run.data_hash, summary.get("split") or {})
    roles = cfg.data.roles()
    features = [{"name": f, "role": roles.role_of(f)} for f in mv.features]
    excluded: list[dict[str, Any]] = []
    for col in roles.declared:
        if col in mv.features or col == roles.target:
            continue
        role = roles.role_of(col)
        reason = {
            "id": "an identifier: carries no pattern that generalises",
            "timestamp": "orders the rows and splits by time; not a feature",
            "pii": "personal data: never a feature, never stored raw",
            "sensitive": "used to check fairness across groups, not as a feature",
        }.get(role, roles.drop.get(col, "left out"))
        excluded.append({"name": col, "role": role, "reason": reason})
    history = [
        {
            "version": v.version,
            "stage": v.stage,
            "created_at": v.created_at.isoformat(),
            "primary_metric": v.primary_value,
        }
        for v in pages_of(store).version_briefs()  # without each version's blobs
    ]
    events = [
        {
            "at": e.at.isoformat(),
            "action": e.action + (" (override: " + e.override + ")" if e.override else ""),
            "from_version": e.from_version,
            "to_version": e.to_version,
            "by": e.by,
            "reason": e.reason,
        }
        for e in store.list_events()
        if e.to_version == version or e.from_version == version
    ]
    p = cfg.project
    return {
        "project": {
            "name": p.name,
            "problem": p.problem,
            "prediction_target": p.prediction_target,
            "users": p.users,
            "mode": p.mode,
            "mode_reason": p.mode_reason,
            "success_metric": p.success_metric.model_dump(mode="json"),
        },
        "owners": cfg.owners.model_dump(mode="json"),
        "model": {
            "version": mv.version,
            "stage": mv.stage,
            "created_at": mv.created_at.isoformat(),
            "created_by": mv.created_by,
            "model_type": mv.model_type,
            "task": mv.task,
            "digest": mv.artifact_digest,
            "size_bytes": mv.size_bytes,
            "run_id": run.number,
            "code_commit": run.code_commit,
            "code_dirty": run.code_dirty,
        },
        "data": {**data, "split": summary.get("split", {})},
        "features": features,
        "excluded": excluded,
        "metrics": {
            "primary": p.success_metric.name,
            "direction": p.success_metric.direction,
            "model": _scores(run.metrics),
            "baseline": _scores(run.baseline_metrics),
        },
        "gates": summary.get("gates", {"passed": mv.gates_passed, "checks": []}),
        "decision": summary.get("decision"),  # steadyml retrain's, against the champion
        "segments": summary.get("segments", {}),
        "fairness": (summary.get("fairness") or {}).get("columns", {}),
        "latency": summary.get("latency", {}),
        "limitations": _limitations(summary, int(data["rows"]), int(data["version"])),
        "history": history,
        "events": events,
    }
