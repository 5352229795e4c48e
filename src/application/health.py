"""How the service and its stores are doing, for `/api/health` and load balancers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from application.ports import UnitOfWorkFactory
from application.series_ports import StoreProbe
from domain.jobs import JobStatus


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: str
    metadata: dict[str, Any]
    timeseries: dict[str, Any]
    jobs: dict[str, int]


async def check_health(*, uow: UnitOfWorkFactory, probe: StoreProbe) -> HealthReport:
    """`ok` with both stores up, `degraded` without the time-series store, `down` without metadata."""
    started = time.perf_counter()
    jobs = {"pending": 0, "running": 0}
    try:
        async with uow() as tx:
            counts = await tx.jobs.count_by_status()
        jobs = {"pending": counts.get(JobStatus.PENDING, 0), "running": counts.get(JobStatus.RUNNING, 0)}
        metadata: dict[str, Any] = {"status": "ok", "latency_ms": _since(started)}
    except Exception as exc:
        metadata = {"status": "down", "error": str(exc)[:300]}
    started = time.perf_counter()
    try:
        timeseries = {"status": "ok", **(await probe.ping()), "latency_ms": _since(started)}
    except Exception as exc:
        timeseries = {"status": "down", "error": str(exc)[:300]}
    if metadata["status"] != "ok":
        status = "down"
    elif timeseries["status"] != "ok":
        status = "degraded"
    else:
        status = "ok"
    return HealthReport(status, metadata, timeseries, jobs)


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
