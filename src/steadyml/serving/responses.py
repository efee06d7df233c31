"""The response bodies of the prediction API: fixed models, the same for every project.

``PredictResponse`` holds one ``PredictionResult`` per record sent, in order;
``FeedbackResponse`` says how many labels were stored and which keys matched no logged
prediction; ``ErrorResponse`` is the one error body of every 4xx and 5xx (built by
``errors.py``). The service builds results with ``model_construct`` (no re-validation) and
serialises them with pydantic-core in one step.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ErrorItem",
    "ErrorResponse",
    "FeedbackResponse",
    "PredictResponse",
    "PredictionResult",
    "Route",
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
