"""The BentoML side of ``bench/serving.py``; served by it with ``bentoml serve``.

Not meant to be run by hand. Two services over the same fitted pipeline (a joblib file named
by ``STEADYML_BENCH_PIPELINE``), in BentoML 1.2+'s ``@bentoml.service`` style:

* ``ChurnBatched``: ``@bentoml.api(batchable=True)``, BentoML's adaptive batching (requests
  that arrive together are concatenated into one DataFrame, scored in one call and split
  back);
* ``ChurnUnbatched``: the same API without batching: one model call per request.

Both take ``{"records": [{...}, ...]}`` at ``POST /predict`` and answer the positive class's
probability per record. The input is typed ``list[dict]`` and made a DataFrame in the API
(what BentoML's own ``pd.DataFrame`` input does): BentoML 1.4.40's batching breaks on a
``pd.DataFrame`` input (its ``PandasDataFrameContainer.get_batch_size`` returns
``batch.shape``, a tuple, and the dispatcher fails with "unsupported operand type(s) for +:
'int' and 'tuple'", so every request times out), while lists batch by their length.
The pipeline's first step is steadyml's column preparation, so ``src/`` must be on
``PYTHONPATH``. Started with ``BENTOML_DO_NOT_TRACK=true`` (no usage tracking) and
``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import os
from typing import Any

import bentoml
import joblib
import pandas as pd

PIPELINE = os.environ.get("STEADYML_BENCH_PIPELINE", "pipeline.joblib")
MAX_BATCH_SIZE = int(os.environ.get("STEADYML_BENCH_MAX_BATCH", "256"))
MAX_LATENCY_MS = int(os.environ.get("STEADYML_BENCH_MAX_LATENCY_MS", "1000"))


@bentoml.service(workers=1, traffic={"timeout": 30})
class ChurnBatched:
    def __init__(self) -> None:
        self.pipe = joblib.load(PIPELINE)

    @bentoml.api(batchable=True, max_batch_size=MAX_BATCH_SIZE, max_latency_ms=MAX_LATENCY_MS)
    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        scores: list[float] = self.pipe.predict_proba(pd.DataFrame(records))[:, 1].tolist()
        return scores


@bentoml.service(workers=1, traffic={"timeout": 30})
class ChurnUnbatched:
    def __init__(self) -> None:
        self.pipe = joblib.load(PIPELINE)

    @bentoml.api
    def predict(self, records: list[dict[str, Any]]) -> list[float]:
        scores: list[float] = self.pipe.predict_proba(pd.DataFrame(records))[:, 1].tolist()
        return scores
