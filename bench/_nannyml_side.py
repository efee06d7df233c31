"""NannyML's side of bench/estimate.py, run by the Python of NannyML's own virtual
environment (it needs pandas < 3 and statsmodels; never installed into steadyml's .venv).

    /tmp/nannyml-venv/bin/python bench/_nannyml_side.py DATA.npz OUT.json [--memory]

DATA.npz holds the reference (``ref_proba``, ``ref_pred``, ``ref_true``), the analysis
rows in chunk order (``ana_proba``, ``ana_pred``; no labels: CBPE estimates without them)
and ``chunk_size`` (the rows of each chunk). The probabilities are already calibrated by
steadyml, so NannyML is given its ``NoopCalibrator``: both tools estimate from the very same
scores. Writes per chunk the CBPE estimates and sampling errors, and the seconds of ``fit``
and ``estimate`` (best of 3); with ``--memory`` the peak of memory allocated during
``estimate`` (tracemalloc, a separate run).
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

METRICS = ["accuracy", "f1", "roc_auc"]


def main() -> None:
    import nannyml as nml
    from nannyml.calibration import NoopCalibrator

    data = np.load(sys.argv[1])
    out_path = sys.argv[2]
    memory = "--memory" in sys.argv
    reference = pd.DataFrame(
        {"proba": data["ref_proba"], "pred": data["ref_pred"], "truth": data["ref_true"]}
    )
    analysis = pd.DataFrame({"proba": data["ana_proba"], "pred": data["ana_pred"]})
    chunk_size = int(data["chunk_size"])
    estimator = nml.CBPE(
        y_pred_proba="proba",
        y_pred="pred",
        y_true="truth",
        problem_type="classification_binary",
        metrics=METRICS,
        chunk_size=chunk_size,
        calibrator=NoopCalibrator(),
    )
    t0 = time.perf_counter()
    estimator.fit(reference)
    fit_s = time.perf_counter() - t0
    if memory:
        tracemalloc.start()
    times = []
    for _ in range(1 if memory else 3):  # best of 3, as steadyml's side is timed
        t0 = time.perf_counter()
        results = estimator.estimate(analysis)
        times.append(time.perf_counter() - t0)
    estimate_s = min(times)
    peak = None
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    frame = results.filter(period="analysis").to_df()
    chunks = []
    for _, row in frame.iterrows():
        block = {}
        for m in METRICS:
            block[m] = {
                "value": float(row[(m, "value")]),
                "sampling_error": float(row[(m, "sampling_error")]),
                "lower": _num(row[(m, "lower_confidence_boundary")]),
                "upper": _num(row[(m, "upper_confidence_boundary")]),
            }
        chunks.append(block)
    with open(out_path, "w") as fh:
        json.dump(
            {
                "version": nml.__version__,
                "fit_s": fit_s,
                "estimate_s": estimate_s,
                "peak_bytes": peak,
                "chunks": chunks,
            },
            fh,
        )


def _num(value: object) -> float | None:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


if __name__ == "__main__":
    main()
