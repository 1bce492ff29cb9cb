"""Prometheus metrics at ``/metrics``.

Several uvicorn workers are several processes, so ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory and every worker writes its samples
there; a scrape of any worker reads them all. A single process uses the default registry.

The hot path never touches Prometheus directly: it bumps plain integers in ``HOT_PATH``
(a dict increment), and a task adds them to the Prometheus counters once a second.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import Counter as Tally
from collections.abc import Callable

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.asgi import StatusRecordingSend

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ

REQUESTS = Counter(
    "gi_http_requests_total",
    "HTTP requests by route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "gi_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
INTROSPECTION = Counter(
    "gi_introspection_outcomes_total",
    "Introspection and forward-auth answers by outcome",
    ["endpoint", "outcome"],
)
CACHE = Counter("gi_introspection_cache_total", "Introspection cache lookups", ["result"])
INVALIDATIONS = Counter("gi_cache_invalidations_total", "Cache invalidations applied", ["source"])
DB_CONNECTIONS_IN_USE = Gauge(
    "gi_db_connections_in_use",
    "Database connections checked out, by pool",
    ["pool"],
    multiprocess_mode="livesum",
)

# (metric, labels) -> count since the last fold; bumped on the hot path.
HOT_PATH: Tally[tuple[str, str, str]] = Tally()


def count(kind: str, first: str, second: str = "") -> None:
    HOT_PATH[(kind, first, second)] += 1


def fold_hot_path_counts() -> None:
    counts = HOT_PATH.copy()
    HOT_PATH.clear()
    for (kind, first, second), value in counts.items():
        if kind == "outcome":
            INTROSPECTION.labels(first, second).inc(value)
        elif kind == "cache":
            CACHE.labels(first).inc(value)
        elif kind == "invalidation":
            INVALIDATIONS.labels(first).inc(value)


async def fold_forever(gauges: Callable[[], dict[str, int]], interval: float = 1.0) -> None:
    """Publish hot-path counts and connection gauges; runs in every process's lifespan."""
    while True:
        await asyncio.sleep(interval)
        fold_hot_path_counts()
        for pool, in_use in gauges().items():
            DB_CONNECTIONS_IN_USE.labels(pool).set(in_use)


router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics (text exposition format)."""
    fold_hot_path_counts()
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, media_type=CONTENT_TYPE_LATEST)


class RequestMetrics:
    """Counts and times every request that goes through FastAPI, by route template.

    Templates (``/api/v1/integrations/{integration_id}``) keep the label set small; they
    are matched against the app's own OpenAPI paths, compiled on first use.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._templates: list[tuple[re.Pattern[str], str]] | None = None

    def _template(self, scope: Scope) -> str:
        if self._templates is None:
            paths = scope["app"].openapi()["paths"]
            self._templates = [(compile_path(path)[0], path) for path in paths]
        path = scope["path"]
        for pattern, template in self._templates:
            if pattern.match(path):
                return template
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        send_with_status = StatusRecordingSend(send)
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            template = self._template(scope)
            method = scope["method"]
            REQUESTS.labels(method, template, str(send_with_status.status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
