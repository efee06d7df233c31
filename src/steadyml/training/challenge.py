"""Champion against challenger: the decision a retrain ends with, and why.

``decide_challenge`` takes both models' answers on the same rows (the most recent labelled
live rows held out of training, and the champion's original test rows) and returns a plain,
JSON-safe record: an outcome, one sentence per check (value, limit, verdict) and the numbers
behind each. Nothing here reads the store; the caller scores the rows.

The checks, in order:

* **labels**: the recent holdout has at least ``min_labelled_rows`` rows; fewer is
  INCONCLUSIVE, saying how many more are needed.
* **success metric**, on each set: the difference (challenger minus champion) and its 95 %
  interval from a paired bootstrap (``steadyml.training.bootstrap``). Read as an improvement
  (positive = the challenger is better, whichever way the metric points): it passes when the
  interval's low end is at or above ``-metric_margin`` (no worse than the margin, with 95 %
  confidence), fails when the estimate itself is worse than the margin, and is otherwise
  INCONCLUSIVE with the rows needed for the interval to be that narrow.
* **segments**: no segment value with at least ``min_segment_rows`` rows may lose more than
  ``segment_margin`` of the success metric.
* **fairness**: the gap between sensitive groups (as training's fairness report measures
  it) may not widen by more than ``fairness_margin``: within it passes, a 95 % interval
  wholly above it fails, anything between is INCONCLUSIVE (the widening may be chance).
* **latency**: one-row prediction time within ``training.gates.max_latency_ms`` when set,
  else within ``latency_factor`` times the champion's.
* **gates**: the challenger passed its own release gates.

Any failed check: REJECT. Else any INCONCLUSIVE check: INCONCLUSIVE. Else PROMOTE. With no
champion the record says so and the gates decide. A decision never promotes by itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from steadyml.training.bootstrap import (
    paired_bootstrap,
    paired_gap_bootstrap,
    prepare,
    weighted_metrics,
)
from steadyml.training.evaluate import KNOWN_METRICS, group_labels, predicted_labels

__all__ = [
    "NEVER_PROMOTES",
    "Answers",
    "Contender",
    "DecisionSettings",
    "RowSet",
    "decide_challenge",
    "decision_markdown",
]

NEVER_PROMOTES = (
    "A decision never promotes by itself: a person promotes with "
    "`steadyml models promote V --to production --reason '…'`."
)


@dataclass(frozen=True)
class DecisionSettings:
    """The limits of the decision (``retraining`` in steadyml.yaml)."""

    holdout_share: float = 0.2
    min_labelled_rows: int = 200
    resamples: int = 1000
    metric_margin: float = 0.01
    segment_margin: float = 0.05
    fairness_margin: float = 0.01
    latency_factor: float = 2.0
    max_latency_ms: float | None = None
    min_segment_rows: int = 100
    seed: int = 0


@dataclass(frozen=True)
class Answers:
    """One model's answers on a set of rows (``predict_scores``) and its decision threshold."""

    scores: dict[str, Any]
    threshold: float = 0.5


@dataclass(frozen=True)
class RowSet:
    """Rows both models answered: their truth, both answers, segments and sensitive columns."""

    name: str  # "recent" or "test"
    title: str  # how a sentence names them
    y: np.ndarray
    champion: Answers
    challenger: Answers
    segments: pd.DataFrame
    sensitive: pd.DataFrame


@dataclass(frozen=True)
class Contender:
    version: int | None
    latency_ms: float | None = None
    gates_passed: bool = True
    run: int | None = None


def _pct(v: float) -> str:
    return f"{v:+.3f}"


def _check(name: str, verdict: str, sentence: str, **numbers: Any) -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "sentence": sentence, **numbers}


def decide_challenge(
    *,
    task: str,
    positive_label: Any,
    success_metric: str,
    sets: Sequence[RowSet],
    champion: Contender | None,
    challenger: Contender,
    settings: DecisionSettings,
    labelled: int,
    holdout: int,
) -> dict[str, Any]:
    """The decision record (see the module docstring)."""
    started = time.perf_counter()
    timing: dict[str, float] = {}
    checks: list[dict[str, Any]] = []
    record: dict[str, Any] = {
        "success_metric": success_metric,
        "champion": None if champion is None else asdict(champion),
        "challenger": asdict(challenger),
        "settings": asdict(settings),
        "labelled_rows": labelled,
        "holdout_rows": holdout,
        "sets": [],
        "needed_rows": None,
        "note": NEVER_PROMOTES,
    }
    if champion is None:
        checks.append(
            _check(
                "champion",
                "info",
                "There is no production model (champion) yet: this is a first model, so "
                "nothing is compared and its release gates alone decide.",
            )
        )
        checks.append(_gates_check(challenger))
        return _finish(record, checks, timing, started)

    needed_holdout = max(0, settings.min_labelled_rows - holdout)
    if needed_holdout:
        window_total = math.ceil(settings.min_labelled_rows / settings.holdout_share)
        record["needed_rows"] = needed_holdout
        checks.append(
            _check(
                "labels",
                "inconclusive",
                f"Labelled recent rows held out: {holdout:,} of {labelled:,} labelled in the "
                f"window; limit: at least {settings.min_labelled_rows:,}; inconclusive: "
                f"{needed_holdout:,} more are needed (about {window_total:,} labelled rows "
                f"in the window, {settings.holdout_share:.0%} of which are held out).",
                value=holdout,
                limit=settings.min_labelled_rows,
                needed=needed_holdout,
            )
        )
    else:
        checks.append(
            _check(
                "labels",
                "pass",
                f"Labelled recent rows held out: {holdout:,}; limit: at least "
                f"{settings.min_labelled_rows:,}; pass.",
                value=holdout,
                limit=settings.min_labelled_rows,
            )
        )
    for rows in sets:
        if len(rows.y) == 0 or (rows.name == "recent" and needed_holdout):
            continue
        block, set_checks = _compare_set(rows, task, positive_label, success_metric,
                                         settings, timing)  # fmt: skip
        record["sets"].append(block)
        checks.extend(set_checks)
        needed = next((c.get("needed") for c in set_checks if c.get("needed")), None)
        if needed and rows.name == "recent":
            record["needed_rows"] = max(record["needed_rows"] or 0, needed)
    checks.append(_latency_check(champion, challenger, settings))
    checks.append(_gates_check(challenger))
    return _finish(record, checks, timing, started)


def _finish(
    record: dict[str, Any], checks: list[dict[str, Any]], timing: dict[str, float], started: float
) -> dict[str, Any]:
    verdicts = {c["verdict"] for c in checks}
    if "fail" in verdicts:
        outcome = "REJECT"
    elif "inconclusive" in verdicts:
        outcome = "INCONCLUSIVE"
    else:
        outcome = "PROMOTE"
    failed = [c["name"] for c in checks if c["verdict"] == "fail"]
    unclear = [c["name"] for c in checks if c["verdict"] == "inconclusive"]
    if outcome == "REJECT":
        summary = f"REJECT: the challenger failed {', '.join(dict.fromkeys(failed))}."
    elif outcome == "INCONCLUSIVE":
        summary = f"INCONCLUSIVE: not enough evidence yet ({', '.join(dict.fromkeys(unclear))})."
        if record.get("needed_rows"):
            summary += f" About {record['needed_rows']:,} more labelled recent rows are needed."
    else:
        summary = "PROMOTE: the challenger passed every check; a person may promote it."
    timing["total_s"] = round(time.perf_counter() - started, 3)
    record.update(outcome=outcome, summary=summary, checks=checks, timing=timing)
    return record


def _gates_check(challenger: Contender) -> dict[str, Any]:
    ok = challenger.gates_passed
    return _check(
        "gates",
        "pass" if ok else "fail",
        f"Release gates of the challenger (version {challenger.version}): "
        f"{'all passed' if ok else 'at least one failed'}; limit: every gate passes; "
        f"{'pass' if ok else 'fail'}.",
        value=ok,
    )


def _latency_check(
    champion: Contender, challenger: Contender, settings: DecisionSettings
) -> dict[str, Any]:
    value = challenger.latency_ms
    if settings.max_latency_ms is not None:
        limit, words = settings.max_latency_ms, "training.gates.max_latency_ms"
    elif champion.latency_ms is not None:
        limit = champion.latency_ms * settings.latency_factor
        words = f"{settings.latency_factor:g} × the champion's {champion.latency_ms:.2f} ms"
    else:
        limit, words = None, "none"
    if value is None or limit is None:
        return _check("latency", "info", "Prediction time: not measured; no limit applies.")
    ok = value <= limit
    return _check(
        "latency",
        "pass" if ok else "fail",
        f"Prediction time for one row: challenger {value:.2f} ms (champion "
        f"{champion.latency_ms or 0:.2f} ms); limit: {limit:.2f} ms ({words}); "
        f"{'pass' if ok else 'fail'}.",
        value=value,
        limit=limit,
    )


def _answers_labels(answers: Answers, task: str, positive: Any) -> np.ndarray:
    if task == "regression":
        return np.asarray(answers.scores["values"], dtype=float)
    return predicted_labels(answers.scores, positive, answers.threshold)


def _agreement(rows: RowSet, task: str, positive: Any) -> dict[str, Any]:
    """How often the two models answer alike on these rows (what a rollout's shadow should see
    live): over all rows, and over the rows either answers with a class other than the
    champion's most common one (``minority``), as the shadow's guardrails count them."""
    a = _answers_labels(rows.champion, task, positive).astype(str)
    b = _answers_labels(rows.challenger, task, positive).astype(str)
    if len(a) == 0:
        return {"all": None, "minority": None, "rows": 0, "minority_rows": 0}
    values, counts = np.unique(a, return_counts=True)
    common = values[int(np.argmax(counts))]
    flagged = (a != common) | (b != common)
    return {
        "all": float(np.mean(a == b)),
        "minority": float(np.mean(a[flagged] == b[flagged])) if flagged.any() else None,
        "rows": len(a),
        "minority_rows": int(flagged.sum()),
    }


def _compare_set(
    rows: RowSet,
    task: str,
    positive: Any,
    success: str,
    settings: DecisionSettings,
    timing: dict[str, float],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    sign = 1.0 if KNOWN_METRICS.get(success) == "higher_is_better" else -1.0
    t0 = time.perf_counter()
    a = prepare(rows.y, rows.champion.scores, task, positive_label=positive,
                threshold=rows.champion.threshold)  # fmt: skip
    b = prepare(rows.y, rows.challenger.scores, task, positive_label=positive,
                threshold=rows.challenger.threshold)  # fmt: skip
    timing[f"{rows.name}_prepare_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    metrics = paired_bootstrap(a, b, resamples=settings.resamples, seed=settings.seed)
    timing[f"{rows.name}_bootstrap_s"] = round(time.perf_counter() - t0, 3)
    n = len(rows.y)
    block: dict[str, Any] = {"name": rows.name, "title": rows.title, "rows": n,
                             "metrics": {k: {**v, "direction": KNOWN_METRICS.get(k)}
                                         for k, v in metrics.items()}}  # fmt: skip
    if task != "regression":
        block["agreement"] = _agreement(rows, task, positive)
    checks = [_metric_check(rows, success, metrics.get(success), sign, settings)]
    t0 = time.perf_counter()
    seg_block, seg_check = _segments(rows, a, b, success, sign, settings)
    block["segments"] = seg_block
    checks.append(seg_check)
    timing[f"{rows.name}_segments_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    fair_block, fair_check = _fairness(rows, task, positive, settings)
    block["fairness"] = fair_block
    checks.append(fair_check)
    timing[f"{rows.name}_fairness_s"] = round(time.perf_counter() - t0, 3)
    return block, checks


def _metric_check(
    rows: RowSet, success: str, m: dict[str, Any] | None, sign: float, s: DecisionSettings
) -> dict[str, Any]:
    name = f"{success} on {rows.title}"
    if m is None or m["difference"] is None or m["interval"] is None:
        return _check(
            f"success metric ({rows.name})",
            "inconclusive",
            f"{name}: cannot be computed on these rows (e.g. only one class present); "
            "inconclusive.",
        )
    diff, (lo, hi) = m["difference"], m["interval"]
    imp, imp_lo, imp_hi = sign * diff, min(sign * lo, sign * hi), max(sign * lo, sign * hi)
    head = (
        f"{name}: challenger {m['challenger']:.3f} vs champion {m['champion']:.3f}, "
        f"difference {_pct(diff)} (95 % interval {_pct(lo)} to {_pct(hi)})"
    )
    limit = f"limit: the challenger no worse than {s.metric_margin:.3f} with 95 % confidence"
    numbers = {"value": diff, "interval": [lo, hi], "limit": -s.metric_margin * sign}
    if imp_lo >= -s.metric_margin:
        words = "better" if imp_lo > 0 else "no worse"
        return _check(f"success metric ({rows.name})", "pass",
                      f"{head}; {limit}; pass: {words}.", **numbers)  # fmt: skip
    if imp < -s.metric_margin:
        return _check(f"success metric ({rows.name})", "fail",
                      f"{head}; {limit}; fail: worse.", **numbers)  # fmt: skip
    half = (imp_hi - imp_lo) / 2
    needed = math.ceil(len(rows.y) * (half / (imp + s.metric_margin)) ** 2) - len(rows.y)
    needed = max(needed, 1)
    return _check(
        f"success metric ({rows.name})",
        "inconclusive",
        f"{head}; {limit}; inconclusive: the interval is too wide, about {needed:,} more "
        "labelled rows would narrow it enough.",
        needed=needed,
        **numbers,
    )


def _segments(
    rows: RowSet, a: Any, b: Any, success: str, sign: float, s: DecisionSettings
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out: list[dict[str, Any]] = []
    worst: dict[str, Any] | None = None
    for col in rows.segments.columns:
        groups = group_labels(rows.segments[col].reset_index(drop=True))
        counts = groups.value_counts()
        for value in sorted(counts.index[counts >= s.min_segment_rows].tolist(), key=str):
            mask = (groups == value).to_numpy(dtype=float)[None, :]
            ma = weighted_metrics(a, mask).get(success)
            mb = weighted_metrics(b, mask).get(success)
            if ma is None or mb is None or not (np.isfinite(ma[0]) and np.isfinite(mb[0])):
                continue
            change = float(mb[0] - ma[0])
            entry = {"column": str(col), "value": value, "rows": int(counts[value]),
                     "champion": float(ma[0]), "challenger": float(mb[0]),
                     "difference": change}  # fmt: skip
            out.append(entry)
            if worst is None or sign * change < sign * worst["difference"]:
                worst = entry
    name = f"segments ({rows.name})"
    limit = (
        f"limit: no segment of ≥ {s.min_segment_rows} rows loses more than {s.segment_margin:.3f}"
    )
    if worst is None:
        return out, _check(name, "info", f"Segments on {rows.title}: none has "
                           f"{s.min_segment_rows} rows or more; nothing to check.")  # fmt: skip
    ok = sign * worst["difference"] >= -s.segment_margin
    sentence = (
        f"Segments on {rows.title}: the largest change in {success} is "
        f"{worst['column']}={worst['value']} ({worst['rows']:,} rows) "
        f"{_pct(worst['difference'])}; {limit}; {'pass' if ok else 'fail'}."
    )
    check = _check(name, "pass" if ok else "fail", sentence, value=worst["difference"],
                   limit=s.segment_margin)  # fmt: skip
    return out, check


def _fairness(
    rows: RowSet, task: str, positive: Any, s: DecisionSettings
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per sensitive column: both gaps (as training's fairness report measures them) and the
    widening's 95 % interval. Pass: widened by at most the margin. Fail: the whole interval
    lies above the margin. Otherwise inconclusive (it may be noise)."""
    name = f"fairness ({rows.name})"
    if rows.sensitive.shape[1] == 0:
        return [], _check(name, "info", "Fairness: no sensitive column is declared.")
    binary = task != "regression" and len(rows.champion.scores.get("classes", [])) == 2
    kind = "regression" if task == "regression" else ("binary" if binary else "multiclass")
    pos = positive if binary else None
    if binary and pos is None:
        pos = rows.champion.scores["classes"][1]
    pred_a = _answers_labels(rows.champion, task, pos)
    pred_b = _answers_labels(rows.challenger, task, pos)
    out: list[dict[str, Any]] = []
    for col in rows.sensitive.columns:
        groups = group_labels(rows.sensitive[col].reset_index(drop=True)).to_numpy()
        gap = paired_gap_bootstrap(rows.y, pred_a, pred_b, groups, kind, pos,
                                   resamples=s.resamples, seed=s.seed)  # fmt: skip
        if gap is not None:
            out.append({"column": str(col), **gap})
    if not out:
        return out, _check(name, "info", f"Fairness on {rows.title}: no two groups are large "
                           "enough to measure a gap.")  # fmt: skip
    worst = max(out, key=lambda e: e["widening"])
    lo, hi = worst["interval"]
    if worst["widening"] <= s.fairness_margin:
        verdict = "pass"
    elif lo > s.fairness_margin:
        verdict = "fail"
    else:
        verdict = "inconclusive"
    words = {"pass": "pass", "fail": "fail: it widened",
             "inconclusive": "inconclusive: the widening may be chance"}[verdict]  # fmt: skip
    sentence = (
        f"Fairness on {rows.title}: the gap across '{worst['column']}' goes from "
        f"{worst['champion_gap']:.3f} to {worst['challenger_gap']:.3f} "
        f"({_pct(worst['widening'])}, 95 % interval {_pct(lo)} to {_pct(hi)}); limit: it may "
        f"widen by at most {s.fairness_margin:.3f}; {words}."
    )
    return out, _check(name, verdict, sentence, value=worst["widening"],
                       interval=[lo, hi], limit=s.fairness_margin)  # fmt: skip


def _num(v: Any) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{v:.3f}"
    return "—"


def decision_markdown(decision: dict[str, Any]) -> str:
    """The decision as Markdown: outcome, one line per check, the metrics per set."""
    champ, chall = decision.get("champion"), decision.get("challenger") or {}
    vs = "no champion" if not champ else f"champion version {champ.get('version')}"
    lines = [
        f"## Decision: {decision.get('outcome')}",
        "",
        f"Challenger version {chall.get('version')} against {vs}.",
        "",
        str(decision.get("summary", "")),
        "",
        "| check | verdict | what was measured |",
        "|---|---|---|",
    ]
    for c in decision.get("checks", []):
        text = str(c.get("sentence", "")).replace("|", "\\|")
        lines.append(f"| {c.get('name')} | {c.get('verdict')} | {text} |")
    for block in decision.get("sets", []):
        lines += [
            "",
            f"### {str(block.get('title', '')).capitalize()} ({block.get('rows', 0):,} rows)",
            "",
            "| metric | champion | challenger | difference | 95 % interval |",
            "|---|---|---|---|---|",
        ]
        for name, m in block.get("metrics", {}).items():
            iv = m.get("interval")
            span = "—" if not iv else f"{iv[0]:+.3f} to {iv[1]:+.3f}"
            diff = m.get("difference")
            lines.append(
                f"| {name} | {_num(m.get('champion'))} | {_num(m.get('challenger'))} | "
                f"{'—' if diff is None else f'{diff:+.3f}'} | {span} |"
            )
    lines += ["", str(decision.get("note", NEVER_PROMOTES)), ""]
    return "\n".join(lines)
