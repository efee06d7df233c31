"""``POST /v1/feedback``: true labels, by the request id of a prediction (or a row id)."""

from __future__ import annotations

from fastapi import FastAPI

from steadyml.serving.requests import FeedbackRequest
from steadyml.serving.responses import FeedbackResponse
from steadyml.serving.routes.dependencies import FEEDBACK
from steadyml.serving.service import PredictionService

__all__ = ["add_routes", "feedback"]


def add_routes(app: FastAPI) -> None:
    """Register this route on ``app`` itself (see ``routes/__init__.py`` for why)."""
    app.add_api_route("/v1/feedback", feedback, methods=["POST"],
                      response_model=FeedbackResponse, summary="Send true labels")  # fmt: skip


async def feedback(
    body: FeedbackRequest, service: PredictionService = FEEDBACK
) -> FeedbackResponse:
    labels = [(item.request_id, item.label) for item in body.labels]
    return await service.record_labels(labels)
