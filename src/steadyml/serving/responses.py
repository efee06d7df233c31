"""The response bodies of the prediction API: fixed models, the same for every project.

``PredictResponse`` holds one ``PredictionResult`` per record sent, in order;
``FeedbackResponse`` says how many labels were stored and which keys matched no logged
prediction; ``ErrorResponse`` is the one error body of every 4xx and 5xx (built by
``errors.py``). These models describe the answers (``/docs``, the tests); the service builds
an answer as plain dicts of the same shape (``PredictAnswer``, ``ResultDict``) and
``encode_predict`` writes it with pydantic-core's serializer of that shape, byte for byte what
``PredictResponse.model_dump_json`` writes (``tests/serving/test_requests.py``): building the
models, even with ``model_construct``, cost more than the rest of the answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter
from pydantic_core import CoreSchema, SchemaSerializer, core_schema

__all__ = [
    "ErrorItem",
    "ErrorResponse",
    "FeedbackResponse",
    "PredictAnswer",
    "PredictResponse",
    "PredictionResult",
    "ResultDict",
    "Route",
    "encode_predict",
]

Route = Literal["live", "canary", "shadow"]


class PredictionResult(BaseModel):
    request_id: str = Field(description="The id of this prediction; send it back with a label.")
    prediction: Any = Field(description="The predicted class or value.")
    score: float | None = Field(
        None, description="The probability of the positive class (binary models), else null."
    )
    probabilities: dict[str, float] | None = Field(
        None, description="The probability of each class (classifiers), else null."
    )
    model_version: int = Field(description="The model version that answered.")
    route: Route = Field(
        description="live: the production model; canary: the challenger on a share of traffic."
    )
    fallback: bool = Field(
        False, description="True when the configured fallback answered instead of the model."
    )
    fallback_reason: str | None = Field(None, description="Why the fallback answered.")
    warnings: list[str] = Field(
        default_factory=list,
        description="What in this record is outside what the model saw in training (the "
        "training range, the categories seen, never missing), one line per field; the record "
        "is answered all the same. Empty when none.",
    )


class PredictResponse(BaseModel):
    ok: Literal[True] = True
    request_id: str
    model_version: int
    results: list[PredictionResult]


ResultDict = dict[str, Any]
"""A ``PredictionResult`` as a dict: the same keys, in the same order."""

PredictAnswer = dict[str, Any]
"""A ``PredictResponse`` as a dict: the same keys (``results``: ``ResultDict``s), in order."""


def _as_dict_schema(model: type[BaseModel], **inner: CoreSchema) -> CoreSchema:
    """The core schema of ``model``'s fields as a dict (``inner``: a field's own schema)."""
    fields = {
        name: core_schema.typed_dict_field(
            inner.get(name) or TypeAdapter(field.annotation).core_schema  # type: ignore[arg-type]
        )
        for name, field in model.model_fields.items()
    }
    return core_schema.typed_dict_schema(fields)


_ENCODE = SchemaSerializer(
    _as_dict_schema(
        PredictResponse, results=core_schema.list_schema(_as_dict_schema(PredictionResult))
    )
).to_json


def encode_predict(answer: PredictAnswer) -> bytes:
    """The JSON of an answer, as ``PredictResponse(**answer).model_dump_json()`` writes it."""
    return _ENCODE(answer)


class FeedbackResponse(BaseModel):
    ok: Literal[True] = True
    stored: int
    unknown_request_ids: list[str] = Field(default_factory=list)


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description='Where: ["records", 3, "tenure_months"].')
    msg: str = Field(description="What is wrong, the rule and the value sent.")
    type: str = Field(description="A stable code, e.g. less_than_equal, missing.")
    input: Any | None = Field(None, description="The value sent (shortened when long).")


class ErrorResponse(BaseModel):
    """The one error body of the API, for every 4xx and 5xx."""

    ok: Literal[False] = False
    error: str
    errors: list[ErrorItem] = Field(default_factory=list)
    request_id: str | None = None
