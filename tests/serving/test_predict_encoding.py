"""``responses.encode_predict`` writes an answer given as dicts byte for byte as
``PredictResponse.model_dump_json`` writes the same answer built as models (the service
builds dicts: the models cost more than the rest of an answer)."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from steadyml.serving.responses import PredictionResult, PredictResponse, encode_predict

CASES: list[tuple[Any, Any, Any, list[str]]] = [
    (1, 0.5, {"0": 0.5, "1": 0.5}, []),
    ("yes", None, None, ["x é \u2028"]),
    (True, 1e-7, {"a": 1 / 3}, []),
    (2.5e300, float("inf"), None, []),
    (None, float("nan"), {"x": -0.0}, ["w"]),
    ([1, 2], 123456789.123456789, None, []),
    ("\ud800", 0.1, None, []),
    (1, 1, {"a": 1, "b": True}, []),  # whole numbers and a bool where floats are expected
    (1, True, None, []),
    (1, "x", None, []),
]


@pytest.mark.parametrize(("prediction", "score", "probabilities", "warned"), CASES)
def test_the_answer_reads_as_the_models_write_it(
    prediction: Any, score: Any, probabilities: Any, warned: list[str]
) -> None:
    fields = {
        "request_id": "r1", "prediction": prediction, "score": score,
        "probabilities": probabilities, "model_version": 3, "route": "canary",
        "fallback": True, "fallback_reason": "timeout", "warnings": warned,
    }  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic's serializer warnings, the same both ways
        try:
            expected: Any = PredictResponse.model_construct(
                ok=True, request_id="q", model_version=3,
                results=[PredictionResult.model_construct(**fields)] * 2,
            ).model_dump_json().encode()  # fmt: skip
        except Exception as exc:
            expected = type(exc)
        try:
            got: Any = encode_predict(
                {"ok": True, "request_id": "q", "model_version": 3, "results": [fields] * 2}
            )
        except Exception as exc:
            got = type(exc)
    assert got == expected
