"""Performance estimation before labels: steadyml against NannyML 0.13 on the same scores.

    .venv/bin/python bench/estimate.py [--nannyml /tmp/nannyml-venv/bin/python]
                                       [--rows 1000000] [--chunks 40] [--out FILE.json]
                                       [--distinct-model boosting|forest]

Two setups (needs the bench extra: ``pip install -e '.[bench]'``, for statsmodels' data).

**Resampled (a stress case; the top-level keys).** The data ships with scikit-learn (the
Wisconsin breast cancer set, 569 rows, 30 features). A random forest is trained on 40 % of
the rows; the other 60 % are the pool the reference and the live rows are drawn from (with
replacement, the true labels kept). The reference (20,000 rows) is drawn uniformly;
steadyml's training-time calibration is fitted on it (``training.calibration
.fit_calibration``: isotonic where it lowers the cross-fitted ECE). The live rows come with
a covariate shift: chunk k of 5,000 rows draws rows with weights exp(s_k * z), z the
standardised ``mean radius``, s_k from 0 to 2 (later chunks hold more large, mostly
malignant tumours). The reference repeats each of the pool's 342 rows about 60 times, so
the calibrator's bootstrap takes it for 20,000 independent rows, and the live rows are
copies of the calibration rows: no user has that (training fits the calibrator on
distinct held-out rows; live rows are new). ``calibrated_on_distinct_rows``: the same
chunks, the calibrator fitted on the 342 distinct rows.

**Distinct rows (what training does; ``distinct_rows``).** statsmodels' RAND health
insurance experiment (``randhie``, 20,190 person-years; target: any doctor visit,
``mdvis > 0``). A person's years share their features, so the split is by person: a
gradient-boosting model (scikit-learn's defaults: its raw scores are off, calibration
matters) on 40 % of the people, 20 % held out as the calibration rows (steadyml's
``fit_calibration``) and NannyML's reference, 40 % the live pool. Chunks of 1,000 distinct
rows drawn without replacement from the pool: 40 with no shift (the control), and for each
of ``SHIFT_FEATURES`` 40 with weights exp(s_k * z) on that standardised feature, s_k from 0
to 2. Beside the blocks below: the pool's ROC AUC, accuracy against the base rate and ECE,
``steadyml_if_calibrated`` (steadyml's coverage with labels drawn from the calibrated
chances: the intervals under CBPE's own assumption) and ``per_chunk`` (calibration in the
large and the calibration slope of each chunk, and each estimate): what a miss is made of.
Here steadyml also runs its shift check as the monitor does (``training.shift_table`` on
the calibration rows; ``monitoring.estimate_shift`` on each chunk's counted feature values:
the interval's bound moved by the bias a shift like the chunk's gives CBPE on the
reweighted calibration rows; a material bias marks the chunk unreliable).

Both tools get the same calibrated scores and the same answers (raw score >= 0.5); NannyML
runs in its own virtual environment (``bench/_nannyml_side.py``, its ``NoopCalibrator``).
Reported per setup: the largest difference of the CBPE accuracy, F1 and ROC AUC estimates
(the same method: goal 1e-6); per tool the mean |estimated - realised| (realised: the true
labels, the model's own answers), the share of chunks whose 95 % interval holds the
realised value (goal at least 90 %; NannyML: value ± 1.96 sampling errors; its own band is
± 3) and the mean width, over all chunks and split by whether steadyml's ``assess`` marked
the chunk's estimate reliable (calibration error, share of rows outside the training
range, size; ``chunks_marked_unreliable``); steadyml both with the calibrator's bootstrap
spread and the shift check (``steadyml``) and with neither (``steadyml_labels_only``: the
labels' chance alone). And at ``--rows`` rows in
one chunk (the resampled setup), the seconds and the peak memory allocated by the estimate
(tracemalloc, separate runs), goal at least 20x faster and at most a fifth of the memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from steadyml.monitoring.estimate import assess, cbpe
from steadyml.monitoring.estimate_shift import shift_problems, widen
from steadyml.training.calibration import (
    apply_calibration,
    expected_calibration_error,
    fit_calibration,
)

METRICS = ("accuracy", "f1", "roc_auc")
CHUNK = 5_000
REFERENCE_ROWS = 20_000
RANDHIE_FEATURES = ("lncoins", "idp", "lpi", "fmde", "physlm", "disea", "hlthg", "hlthf", "hlthp")
# chronic diseases; log of the participation incentive payment; log of the coinsurance rate
SHIFT_FEATURES = ("disea", "lpi", "lncoins")
DISTINCT_CHUNK = 1_000
MODELS = {
    "boosting": "HistGradientBoostingClassifier (defaults)",
    "forest": "RandomForestClassifier (200 trees, min_samples_leaf=3)",
}


def _data(seed: int = 0) -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split

    bunch = load_breast_cancer()
    X, y = bunch.data, bunch.target.astype(bool)  # True: benign (the positive class here)
    X_fit, X_pool, y_fit, y_pool = train_test_split(
        X, y, train_size=0.4, stratify=y, random_state=seed
    )
    model = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed)
    model.fit(X_fit, y_fit)
    scores = model.predict_proba(X_pool)[:, 1]
    radius = X_pool[:, list(bunch.feature_names).index("mean radius")]
    z = (radius - radius.mean()) / radius.std()
    return {"scores": scores, "truth": y_pool, "z": z, "X": X_pool,
            "names": list(bunch.feature_names)}  # fmt: skip


def _draw(data: dict[str, Any], n: int, shift: float, rng: np.random.Generator) -> np.ndarray:
    w = np.exp(shift * data["z"])
    return rng.choice(len(w), size=n, p=w / w.sum())


def _randhie(model_kind: str = "boosting", seed: int = 0) -> dict[str, Any]:
    """statsmodels' RAND health insurance experiment: 20,190 person-years, the target "any
    doctor visit" (``mdvis > 0``). Split by person (rows with the same features, the same
    person's other years, stay together): a model on 40 % of the people, 20 % held out for
    the calibrator (and NannyML's reference), 40 % the live pool; no live row's features
    were seen in training or calibration."""
    try:
        from statsmodels.datasets import randhie
    except ImportError as exc:  # not a steadyml dependency: the bench extra brings it
        raise SystemExit(
            "bench/estimate.py needs statsmodels for its RAND health insurance data set "
            "(statsmodels.datasets.randhie); install the bench extra: pip install -e '.[bench]'"
        ) from exc
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.model_selection import GroupShuffleSplit

    frame = randhie.load_pandas().data
    X = frame[list(RANDHIE_FEATURES)].to_numpy(dtype=float)
    y = (frame["mdvis"] > 0).to_numpy()
    person = frame.groupby(list(RANDHIE_FEATURES), sort=False).ngroup().to_numpy()
    fit, rest = next(GroupShuffleSplit(1, train_size=0.4, random_state=seed).split(X, y, person))
    cal, pool = next(
        GroupShuffleSplit(1, train_size=1 / 3, random_state=seed).split(
            X[rest], y[rest], person[rest]
        )
    )
    cal, pool = rest[cal], rest[pool]
    model = (
        HistGradientBoostingClassifier(random_state=seed)
        if model_kind == "boosting"
        else RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed)
    ).fit(X[fit], y[fit])
    rows = np.concatenate([cal, pool])  # the reference first, then the pool
    return {
        "scores": model.predict_proba(X[rows])[:, 1],
        "truth": y[rows],
        "X": X[rows],
        "names": list(RANDHIE_FEATURES),
        "support": X[fit],  # what "outside the training range" means to assess
        "groups": person[rows],  # whose row it is: training's group split keeps them apart
        "ref": np.arange(len(cal)),
        "pool": np.arange(len(cal), len(rows)),
        "people": {
            "train": len(set(person[fit])),
            "calibration": len(set(person[cal])),
            "pool": len(set(person[pool])),
        },
        "split_rows": {"train": len(fit), "calibration": len(cal), "pool": len(pool)},
    }


def _draw_distinct(
    data: dict[str, Any], feature: str | None, shift: float, rng: np.random.Generator
) -> np.ndarray:
    """One chunk of ``DISTINCT_CHUNK`` different pool rows, drawn without replacement with
    weights exp(shift * z), z the standardised ``feature`` (None: uniform)."""
    pool = data["pool"]
    if feature is None:
        return rng.choice(pool, size=DISTINCT_CHUNK, replace=False)
    x = data["X"][pool, data["names"].index(feature)]
    w = np.exp(shift * (x - x.mean()) / x.std())
    return rng.choice(pool, size=DISTINCT_CHUNK, replace=False, p=w / w.sum())


def _distinct_rows(args: argparse.Namespace) -> dict[str, Any]:
    """The realistic setup: both tools on distinct rows (``_randhie``), the calibrator fitted
    on the held-out people as training fits it; chunks with no shift (the control) and with
    a covariate shift along each of ``SHIFT_FEATURES``."""
    from sklearn.metrics import roc_auc_score

    data = _randhie(args.distinct_model)
    ref, pool = data["ref"], data["pool"]
    # as training fits it with training.split.method group: held-out people, whole people
    record = fit_calibration(
        data["truth"][ref], data["scores"][ref], cut=0.5, groups=data["groups"][ref]
    )
    record["shift_table"] = _shift_table(data, ref, record)
    raw, truth = data["scores"][pool], data["truth"][pool]
    out: dict[str, Any] = {
        "data": "statsmodels randhie: any doctor visit (mdvis > 0), split by person",
        "model": MODELS[args.distinct_model],
        "rows": data["split_rows"],
        "people": data["people"],
        "chunk_rows": DISTINCT_CHUNK,
        "chunks": args.chunks,
        # the model against the base rate on the live pool, and whether its calibration,
        # fitted on the held-out people, holds on the pool's other people (no shift)
        "pool_roc_auc": float(roc_auc_score(truth, raw)),
        "pool_accuracy": float(np.mean((raw >= 0.5) == truth)),
        "pool_base_rate_accuracy": float(max(truth.mean(), 1 - truth.mean())),
        "pool_ece_raw": expected_calibration_error(truth, raw),
        "pool_ece_calibrated": expected_calibration_error(truth, apply_calibration(record, raw)),
    }
    rng = np.random.default_rng(2)
    flat = np.zeros(args.chunks)
    control = np.concatenate([_draw_distinct(data, None, 0.0, rng) for _ in flat])
    out["no_shift"] = _compare(args, data, ref, record, control, DISTINCT_CHUNK, flat)
    shifts = np.linspace(0.0, 2.0, args.chunks)
    for feature in SHIFT_FEATURES:
        rows = np.concatenate([_draw_distinct(data, feature, s, rng) for s in shifts])
        out[f"shift_{feature}"] = _compare(args, data, ref, record, rows, DISTINCT_CHUNK, shifts)
    for block in (out["no_shift"], *(out[f"shift_{f}"] for f in SHIFT_FEATURES)):
        block.pop("arrays")
        block.pop("version")
        out["calibration"] = block.pop("calibration")
    return out


def _shift_table(data: dict[str, Any], ref: np.ndarray, record: dict[str, Any]) -> dict[str, Any]:
    """The calibration rows summed per feature decile and score bin, as training keeps them
    (``training.shift_table``)."""
    import pandas as pd

    from steadyml.training.shift_table import shift_table

    frame = pd.DataFrame(data["X"][ref], columns=data["names"])
    scores = data["scores"][ref]
    return shift_table(frame, data["truth"][ref], scores, apply_calibration(record, scores),
                       0.5, numeric=data["names"], categorical=[])  # fmt: skip


def _shift(data: dict[str, Any], record: dict[str, Any], part: np.ndarray) -> dict[str, Any]:
    """The bias a chunk's shift gives the estimates (``monitoring.estimate_shift``), from
    its counted feature values as the monitor keeps them."""
    from steadyml.monitoring.estimate_shift import shift_bias

    X = data["X"][part]
    counted = {name: np.unique(X[:, j], return_counts=True)
               for j, name in enumerate(data["names"])}  # fmt: skip
    return shift_bias(record.get("shift_table"), counted, {})


def _realised(truth: np.ndarray, scores: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, roc_auc_score

    return {
        "accuracy": float(np.mean(pred == truth)),
        "f1": float(f1_score(truth, pred)),
        "roc_auc": float(roc_auc_score(truth, scores)),
    }


def _quality(data: dict[str, Any], ref: np.ndarray, part: np.ndarray) -> dict[str, Any]:
    """The window quality block ``assess`` reads: per feature, the share of the chunk's rows
    outside the training range (``support``; the breast cancer set: the reference's range,
    the reference and the chunks drawing from one pool)."""
    X_ref, X_part = data.get("support", data["X"][ref]), data["X"][part]
    lo, hi = X_ref.min(axis=0), X_ref.max(axis=0)
    out = ((X_part < lo) | (X_part > hi)).mean(axis=0)
    return {"features": [{"feature": f, "out_of_range_rate": float(r)}
                         for f, r in zip(data["names"], out, strict=True)]}  # fmt: skip


def _score(rows_: list[tuple[float, float, float, float]], keep: list[bool]) -> dict[str, Any]:
    chosen = [r for r, k in zip(rows_, keep, strict=True) if k]
    if not chosen:
        return {"chunks": 0}
    return {
        "chunks": len(chosen),
        "mean_abs_error": statistics.fmean(abs(v - r) for v, _, _, r in chosen),
        "coverage": statistics.fmean(float(lo <= r <= hi) for _, lo, hi, r in chosen),
        "mean_width": statistics.fmean(hi - lo for _, lo, hi, _ in chosen),
    }


def _nannyml(python: str, arrays: dict[str, Any], memory: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "data.npz", Path(tmp) / "out.json"
        np.savez(data, **arrays)
        side = Path(__file__).with_name("_nannyml_side.py")
        cmd = [python, str(side), str(data), str(out), *(["--memory"] if memory else [])]
        # NannyML sends usage statistics by default; off, so no network wait is timed
        env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "PYTHONWARNINGS": "ignore"}
        subprocess.run(cmd, check=True, env=env)
        result: dict[str, Any] = json.loads(out.read_text())
        return result


def _compare(
    args: argparse.Namespace,
    data: dict[str, Any],
    ref: np.ndarray,
    record: dict[str, Any],
    rows: np.ndarray,
    chunk: int = CHUNK,
    trail: np.ndarray | None = None,
) -> dict[str, Any]:
    """Both tools on the chunks of ``chunk`` rows of ``rows``, steadyml's calibration being
    ``record``; with ``trail`` (each chunk's shift) also each chunk's numbers (``per_chunk``)."""
    ref_scores = data["scores"][ref]
    raw, truth = data["scores"][rows], data["truth"][rows]
    calibrated = apply_calibration(record, raw)
    pred = raw >= 0.5
    arrays = {
        "ref_proba": apply_calibration(record, ref_scores),
        "ref_pred": (ref_scores >= 0.5).astype(int),
        "ref_true": data["truth"][ref].astype(int),
        "ana_proba": calibrated,
        "ana_pred": pred.astype(int),
        "chunk_size": np.array(chunk),
    }
    theirs = _nannyml(args.nannyml, arrays)
    ours, labels_only, real, reliable, problems = [], [], [], [], []
    record_without = {**record, "resampled_y": None}  # the labels' chance alone
    for k in range(args.chunks):
        part = slice(k * chunk, (k + 1) * chunk)
        ours.append(cbpe(raw[part], threshold=0.5, calibration=record)["metrics"])
        if record.get("shift_table"):
            widen(ours[-1], _shift(data, record, rows[part]))
        labels_only.append(cbpe(raw[part], threshold=0.5, calibration=record_without)["metrics"])
        real.append(_realised(truth[part], raw[part], pred[part]))
        checks = assess({"kind": "classification", **record}, chunk,
                        _quality(data, ref, rows[part]), shift_problems(ours[-1]))  # fmt: skip
        reliable.append(bool(checks["reliable"]))
        problems.extend(checks["problems"])
    same = {
        m: max(abs(o[m]["value"] - t[m]["value"]) for o, t in zip(ours, theirs["chunks"],
                                                                 strict=True))
        for m in METRICS
    }  # fmt: skip
    every = [True] * args.chunks
    quality: dict[str, Any] = {}
    for m in METRICS:
        mine = [
            (o[m]["value"], o[m]["lower"], o[m]["upper"], r[m])
            for o, r in zip(ours, real, strict=True)
        ]
        before = [
            (o[m]["value"], o[m]["lower"], o[m]["upper"], r[m])
            for o, r in zip(labels_only, real, strict=True)
        ]
        nml = [
            (t[m]["value"], t[m]["value"] - 1.96 * t[m]["sampling_error"],
             t[m]["value"] + 1.96 * t[m]["sampling_error"], r[m])
            for t, r in zip(theirs["chunks"], real, strict=True)
        ]  # fmt: skip
        wide = [
            (t[m]["value"], t[m]["value"] - 3 * t[m]["sampling_error"],
             t[m]["value"] + 3 * t[m]["sampling_error"], r[m])
            for t, r in zip(theirs["chunks"], real, strict=True)
        ]  # fmt: skip
        for name, rows_ in (
            ("steadyml", mine),
            ("steadyml_labels_only", before),
            ("nannyml", nml),
            ("nannyml_3_sigma", wide),
        ):
            quality.setdefault(name, {})[m] = {
                "all_chunks": _score(rows_, every),
                "reliable_chunks": _score(rows_, reliable),
                "unreliable_chunks": _score(rows_, [not r for r in reliable]),
            }
    out = {
        "version": theirs["version"],
        "arrays": arrays,
        "calibration": {k: record[k] for k in ("method", "ece_before", "ece_after", "rows")},
        "max_difference": same,
        "estimates": quality,
        "chunks_marked_unreliable": reliable.count(False),
        "unreliable_problems": sorted(set(problems)),
    }
    if trail is not None:
        out.update(_diagnosis(ours, real, theirs["chunks"], truth, raw, calibrated, chunk, trail))
    return out


def _diagnosis(
    ours: list[dict[str, Any]],
    real: list[dict[str, float]],
    theirs: list[dict[str, Any]],
    truth: np.ndarray,
    raw: np.ndarray,
    calibrated: np.ndarray,
    chunk: int,
    trail: np.ndarray,
) -> dict[str, Any]:
    """What a miss is made of. ``steadyml_if_calibrated``: steadyml's coverage when each
    chunk's labels are drawn from its calibrated chances (CBPE's assumption made true: what
    the intervals are built for). ``per_chunk``: the shift, calibration in the large (the
    mean chance against the share of positives), the calibration slope (logistic fit of
    the truth on the logit of the chance: 1 where the chances spread as the truth does,
    below 1 where they overstate how well the model ranks), and each metric's numbers."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    drawn = rng.random(len(calibrated)) < calibrated
    pred = raw >= 0.5
    parts = [slice(k * chunk, (k + 1) * chunk) for k in range(len(ours))]
    simulated = [_realised(drawn[part], raw[part], pred[part]) for part in parts]
    every = [True] * len(ours)
    logit = np.log(np.clip(calibrated, 1e-4, 1 - 1e-4) / np.clip(1 - calibrated, 1e-4, 1))
    per_chunk = []
    for k, part in enumerate(parts):
        fitted = LogisticRegression(C=1e6).fit(logit[part].reshape(-1, 1), truth[part])
        per_chunk.append(
            {
                "shift": _r(trail[k]),
                "mean_chance": _r(calibrated[part].mean()),
                "positive_rate": _r(truth[part].mean()),
                "calibration_slope": _r(fitted.coef_[0, 0]),
                **{
                    m: {
                        "value": _r(ours[k][m]["value"]),
                        "lower": _r(ours[k][m]["lower"]),
                        "upper": _r(ours[k][m]["upper"]),
                        "realised": _r(real[k][m]),
                        "nannyml_sampling_error": _r(theirs[k][m]["sampling_error"]),
                    }
                    for m in METRICS
                },
            }
        )
    return {
        "steadyml_if_calibrated": {
            m: _score(
                [
                    (o[m]["value"], o[m]["lower"], o[m]["upper"], r[m])
                    for o, r in zip(ours, simulated, strict=True)
                ],
                every,
            )
            for m in METRICS
        },
        "per_chunk": per_chunk,
    }


def _r(x: float) -> float:
    return round(float(x), 5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nannyml", default="/tmp/nannyml-venv/bin/python")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--distinct-model",
        choices=sorted(MODELS),
        default="boosting",
        help="the model of the distinct-row setup (the forest's calibration carries over "
        "less well to new people)",
    )
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    data = _data()
    ref = rng.choice(len(data["scores"]), size=REFERENCE_ROWS)
    started = time.perf_counter()
    record = fit_calibration(data["truth"][ref], data["scores"][ref], cut=0.5)
    calibration_s = time.perf_counter() - started
    shifts = np.linspace(0.0, 2.0, args.chunks)
    rows = np.concatenate([_draw(data, CHUNK, s, rng) for s in shifts])
    shown = _compare(args, data, ref, record, rows)
    arrays = shown.pop("arrays")
    # the same, the calibrator fitted on the pool's distinct rows (each once), as a training
    # split's held-out rows would be: the 20,000-row reference repeats each ~60 times, so a
    # bootstrap of it takes the calibrator for far surer than its 342 rows make it
    distinct = fit_calibration(data["truth"], data["scores"], cut=0.5)
    on_distinct = _compare(args, data, ref, distinct, rows)
    on_distinct.pop("arrays")
    on_distinct.pop("version")
    # speed and memory at --rows rows in one chunk
    big = _draw(data, args.rows, 1.0, rng)
    big_raw = data["scores"][big]
    big_arrays = {
        **arrays,
        "ana_proba": apply_calibration(record, big_raw),
        "ana_pred": (big_raw >= 0.5).astype(int),
        "chunk_size": np.array(args.rows),
    }
    their_speed = _nannyml(args.nannyml, big_arrays)
    their_memory = _nannyml(args.nannyml, big_arrays, memory=True)
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        found = cbpe(big_raw, threshold=0.5, calibration=record)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    cbpe(big_raw, threshold=0.5, calibration=record)
    _, our_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    big_same = {
        m: abs(found["metrics"][m]["value"] - their_speed["chunks"][0][m]["value"]) for m in METRICS
    }
    result = {
        "nannyml_version": shown.pop("version"),
        "calibration_fit_s": calibration_s,
        "chunks": args.chunks,
        "chunk_rows": CHUNK,
        **shown,
        "calibrated_on_distinct_rows": on_distinct,
        "distinct_rows": _distinct_rows(args),
        "max_difference_at_rows": big_same,
        "rows": args.rows,
        "steadyml_estimate_s": min(times),
        "nannyml_estimate_s": their_speed["estimate_s"],  # best of 3 too
        "nannyml_fit_s": their_speed["fit_s"],
        "speedup": their_speed["estimate_s"] / min(times),
        "steadyml_peak_bytes": our_peak,
        "nannyml_peak_bytes": their_memory["peak_bytes"],
        "memory_ratio": our_peak / their_memory["peak_bytes"],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
