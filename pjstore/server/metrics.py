"""Prometheus metrics: requests by route template and status, latency, storage reads, uploads.

With several uvicorn workers, `serve` sets PROMETHEUS_MULTIPROC_DIR before any worker starts;
prometheus_client then keeps each worker's values in files there, and `/metrics` on any worker
reports the sum over all of them.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"  # the route label of requests no route matched (bounded label values)
# The *_created timestamp series double the output and no dashboard reads them.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """One app's metric families and the registry `/metrics` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        if os.environ.get(MULTIPROC_ENV):
            MultiProcessCollector(self.registry)
            owner = None  # values live in the shared files; the collector reads them all
        else:
            owner = self.registry
        self.requests = Counter("pjstore_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=owner)
        self.latency = Histogram("pjstore_http_request_duration_seconds", "Time to the end of the response.",
                                 ["route", "method"], buckets=LATENCY_BUCKETS, registry=owner)
        self.bytes_read = Counter("pjstore_storage_bytes_read", "Stored bytes read to serve images.",
                                  registry=owner)
        self.bytes_stored = Counter("pjstore_served_images_stored_bytes",
                                    "Whole stored size of each image served, to set bytes read against.",
                                    registry=owner)
        self.uploads = Counter("pjstore_uploads", "Uploads by outcome: created, existing, or the error.",
                               ["outcome"], registry=owner)

    def served(self, bytes_read: int, stored_bytes: int) -> None:
        """Count one image response that read `bytes_read` of a `stored_bytes`-long stored file."""
        self.bytes_read.inc(bytes_read)
        self.bytes_stored.inc(stored_bytes)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware): times each request
    and counts it under the template of the route that handled it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app raises before responding

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
