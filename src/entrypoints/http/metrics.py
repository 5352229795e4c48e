"""`GET /metrics`: Prometheus text from prometheus_client — HTTP requests and latencies (Litestar's
Prometheus middleware), rows imported, bytes exported, the job queue's depth, and the in-process worker."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest

from application.health import HealthReport
from entrypoints.http.use_cases import UseCase

ROWS_IMPORTED = Counter(
    "stage1_rows_imported", "Rows written into the time-series store by imports and saves.", ["route"]
)
BYTES_EXPORTED = Counter("stage1_bytes_exported", "Bytes streamed out of the time-series store.", ["format"])
JOBS_WAITING = Gauge("stage1_jobs_queue", "Jobs in the queue by status.", ["status"])

PROMETHEUS = PrometheusConfig(
    app_name="stage1",
    prefix="stage1_http",
    group_path=True,
    exclude=[r"^/metrics$", r"^/schema"],
)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], include_in_schema=True, media_type="text/plain")
async def metrics(request: Request[Any, Any, Any], check_health: UseCase[HealthReport]) -> Response[bytes]:
    report = await check_health()
    for status, count in report.jobs.items():
        JOBS_WAITING.labels(status=status).set(count)
    body = generate_latest(REGISTRY)
    worker = getattr(request.app.state, "worker_metrics", None)
    if worker is not None:
        body += worker.render().encode()
    return Response(body, media_type=CONTENT_TYPE_LATEST)
