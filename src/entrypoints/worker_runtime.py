"""Running job workers: inside `stage1 serve` (embedded default) or as `stage1 worker`."""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio

from application.jobs import prune_jobs
from application.ports import WorkerMetrics
from application.worker import Worker
from domain.jobs import OUTAGE_BACKOFF_BASE
from entrypoints.container import OpenPorts, open_ports
from entrypoints.housekeeping import sweep_store_leftovers
from entrypoints.settings import Settings
from entrypoints.worker_jobs import handlers, release_finished_uploads, summaries

LEASE = timedelta(seconds=30)
# Retention is counted in days: an hourly look is plenty, and the first one runs at start.
PRUNE_EVERY = 3600.0

log = logging.getLogger("stage1.worker")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def build_worker(
    ports: OpenPorts,
    concurrency: int,
    metrics: WorkerMetrics | None = None,
    lease: timedelta = LEASE,
    outage_backoff: timedelta = OUTAGE_BACKOFF_BASE,
) -> Worker:
    return Worker(
        ports.queue,
        handlers(ports),
        worker_id(),
        clock=ports.clock,
        concurrency=concurrency,
        lease=lease,
        metrics=metrics,
        summaries=summaries(),
        outage_backoff=outage_backoff,
        on_stored=release_finished_uploads,
    )


def _timings(settings: Settings) -> tuple[timedelta, timedelta]:
    """The lease and the wait after a store outage, as configured."""
    return timedelta(seconds=settings.job_lease_seconds), timedelta(seconds=settings.job_outage_retry_seconds)


async def prune_periodically(ports: OpenPorts, settings: Settings, every: float = PRUNE_EVERY) -> None:
    """Finished jobs past `STAGE1_JOB_RETENTION_DAYS` go, with their events and kept uploads, every `every` s;
    so do the store's crash leftovers (a worker-only deployment has no `serve` to sweep them)."""
    prune = ports.bind(prune_jobs)
    age = timedelta(days=settings.job_retention_days)
    while True:
        try:
            pruned = await prune(age)
        except Exception as exc:
            log.warning("pruning finished jobs failed: %s", exc)
        else:
            if pruned:
                log.info("pruned finished jobs count=%s", pruned)
        await sweep_store_leftovers(ports)
        await anyio.sleep(every)


@asynccontextmanager
async def pruning(ports: OpenPorts, settings: Settings) -> AsyncIterator[None]:
    """Prunes in the background while the block runs (a worker's life), and stops with it."""
    async with anyio.create_task_group() as group:
        group.start_soon(prune_periodically, ports, settings)
        try:
            yield
        finally:
            group.cancel_scope.cancel()


@asynccontextmanager
async def in_process_worker(
    ports: OpenPorts, settings: Settings, metrics: WorkerMetrics | None = None
) -> AsyncIterator[None]:
    if not settings.runs_worker_in_process:
        yield
        return
    worker = build_worker(ports, settings.worker_concurrency, metrics, *_timings(settings))
    async with pruning(ports, settings), anyio.create_task_group() as group:
        group.start_soon(worker.run)
        try:
            yield
        finally:
            worker.stop()


async def run_worker(settings: Settings, concurrency: int) -> None:
    """`stage1 worker`: claim and run jobs until SIGTERM or Ctrl-C, then finish or release the ones in hand."""
    async with open_ports(settings) as ports:
        worker = build_worker(ports, concurrency, None, *_timings(settings))
        async with anyio.create_task_group() as group:

            async def on_signals() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        worker.stop()
                        return

            group.start_soon(on_signals)
            async with pruning(ports, settings):
                await worker.run()
            group.cancel_scope.cancel()
