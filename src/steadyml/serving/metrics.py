"""Prometheus metrics of one app instance (its own registry: no global state)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass
class ServiceMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    batch_rows: Histogram
    predictions: Counter
    fallbacks: Counter
    model_version: Gauge
    log_pending: Gauge
    log_failed: Gauge

    def render(self) -> bytes:
        return generate_latest(self.registry)


def make_metrics() -> ServiceMetrics:
    registry = CollectorRegistry(auto_describe=True)
    return ServiceMetrics(
        registry=registry,
        requests=Counter(
            "steadyml_requests", "HTTP requests by endpoint and status.",
            ["endpoint", "status"], registry=registry,
        ),
        latency=Histogram(
            "steadyml_request_seconds", "Time to answer a prediction request.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry,
        ),
        batch_rows=Histogram(
            "steadyml_batch_rows", "Rows scored per model call (micro-batching).",
            buckets=BATCH_BUCKETS, registry=registry,
        ),
        predictions=Counter(
            "steadyml_predictions", "Records answered, by route and model version.",
            ["route", "model_version"], registry=registry,
        ),
        fallbacks=Counter(
            "steadyml_fallbacks", "Records answered by the fallback, by reason kind.",
            ["reason"], registry=registry,
        ),
        model_version=Gauge(
            "steadyml_model_version", "The model version serving each role.",
            ["role"], registry=registry,
        ),
        log_pending=Gauge(
            "steadyml_prediction_log_pending", "Predictions waiting to be written to the log.",
            registry=registry,
        ),
        log_failed=Gauge(
            "steadyml_prediction_log_failed", "Predictions the log could not write (after "
            "three tries) since the server started.", registry=registry,
        ),
    )  # fmt: skip
