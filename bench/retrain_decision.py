"""Benchmark: the retrain decision (``steadyml.training.challenge``) on 100,000 labelled rows.

Goal (issue 13): the decision report on 100,000 labelled rows in under 60 s on this machine,
bootstrap included, and where the time goes.

Data: two sets, as ``steadyml retrain`` passes them, generated deterministically (seed 3):
the recent holdout (``--rows``, default 100,000) and an original test set (20 % of that).
A binary target with about 30 % positives; the champion's and the challenger's probabilities
are noisy functions of the truth, rounded to 3 decimals so scores tie as a tree model's do;
two segment columns (4 and 12 values) and two sensitive columns (2 and 5 groups). The
decision runs with the project defaults (``retraining``: 1,000 paired bootstrap resamples).

It prints the total and each part the decision records in its ``timing``: preparing the
per-row columns, the paired bootstrap, the segments and the fairness reports, per set.
Numbers are not asserted; ``tests/test_bench_smoke.py`` runs ``--quick``.

Run it from the repository root::

    .venv/bin/python bench/retrain_decision.py                  # 100,000 rows
    .venv/bin/python bench/retrain_decision.py --rows 1000000 --resamples 2000
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd

from steadyml.training.challenge import (
    Answers,
    Contender,
    DecisionSettings,
    RowSet,
    decide_challenge,
)


def make_set(name: str, n: int, seed: int) -> RowSet:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    signal = np.where(y == 1, 0.65, 0.35)
    champ = np.round(np.clip(signal + rng.normal(scale=0.25, size=n), 0, 1), 3)
    chall = np.round(np.clip(signal + rng.normal(scale=0.22, size=n), 0, 1), 3)
    classes = np.array([0, 1])
    frame = pd.DataFrame(
        {
            "region": rng.choice([f"r{i}" for i in range(4)], size=n),
            "plan": rng.choice([f"p{i}" for i in range(12)], size=n),
            "gender": rng.choice(["f", "m"], size=n),
            "age_band": rng.choice(["18-29", "30-44", "45-59", "60-74", "75+"], size=n),
        }
    )
    return RowSet(
        name=name,
        title=f"the {n:,} {name} rows",
        y=y,
        champion=Answers({"proba": np.column_stack([1 - champ, champ]), "classes": classes}, 0.5),
        challenger=Answers({"proba": np.column_stack([1 - chall, chall]), "classes": classes}, 0.5),
        segments=frame[["region", "plan"]],
        sensitive=frame[["gender", "age_band"]],
    )


def run(rows: int, resamples: int) -> dict[str, Any]:
    started = time.perf_counter()
    sets = [make_set("recent", rows, 3), make_set("test", max(rows // 5, 1), 4)]
    made = time.perf_counter() - started
    decision = decide_challenge(
        task="classification",
        positive_label=1,
        success_metric="roc_auc",
        sets=sets,
        champion=Contender(1, 1.0, True, 1),
        challenger=Contender(2, 1.1, True, 2),
        settings=DecisionSettings(resamples=resamples),
        labelled=rows * 5,
        holdout=rows,
    )
    return {"made_s": made, "decision": decision}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="labelled recent rows")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--quick", action="store_true", help="2,000 rows, 200 resamples")
    args = parser.parse_args(argv)
    rows, resamples = (2000, 200) if args.quick else (args.rows, args.resamples)
    result = run(rows, resamples)
    decision, timing = result["decision"], result["decision"]["timing"]
    total = timing["total_s"]
    print(f"Retrain decision on {rows:,} labelled recent rows (+ {rows // 5:,} test rows), "
          f"{resamples:,} paired bootstrap resamples")  # fmt: skip
    print(f"  data made in {result['made_s']:.2f} s (not part of the decision)")
    print(f"  decision: {total:.2f} s in all — goal: under 60 s: "
          f"{'met' if total < 60 else 'NOT met'}")  # fmt: skip
    for part, seconds in timing.items():
        if part != "total_s":
            share = seconds / total if total else 0.0
            print(f"    {part[:-2]:<22} {seconds:8.3f} s  {share:6.1%}")
    print(f"  outcome: {decision['outcome']} — {decision['summary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
