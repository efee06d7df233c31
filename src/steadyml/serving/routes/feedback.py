"""``POST /v1/feedback``: true labels, by the request id of a prediction (or a row id)."""

from __future__ import annotations

from fastapi import APIRouter

from steadyml.serving.requests import FeedbackRequest
from steadyml.serving.responses import FeedbackResponse
from steadyml.serving.routes.dependencies import FEEDBACK
from steadyml.serving.service import PredictionService

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/feedback", response_model=FeedbackResponse, summary="Send true labels")
async def feedback(
    body: FeedbackRequest, service: PredictionService = FEEDBACK
) -> FeedbackResponse:
    labels = [(item.request_id, item.label) for item in body.labels]
    return await service.record_labels(labels)
