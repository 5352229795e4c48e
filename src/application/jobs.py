"""Job use cases on the API side: submit, look up, cancel, retry."""

from __future__ import annotations

import contextlib
from typing import Any
from uuid import UUID

from application.context import Ports
from application.ports import JobFilter, UnitOfWork
from domain.errors import NotFound
from domain.jobs import Job
from domain.paging import Page, PageRequest


async def submit_job(
    ports: Ports,
    job_type: str,
    payload: dict[str, Any],
    *,
    priority: int = 0,
    max_attempts: int = 3,
    message: str | None = None,
) -> Job:
    job = Job.submit(ports.ids.new_id(), job_type, payload, ports.clock.now(), priority, max_attempts, message)
    await ports.queue.enqueue(job)
    return job


async def get_job(ports: Ports, ref: str) -> Job:
    async with ports.uow() as uow:
        return await find_job(uow, ref)


async def list_jobs(ports: Ports, filters: JobFilter, page: PageRequest) -> Page[Job]:
    async with ports.uow() as uow:
        return await uow.jobs.list(filters, page)


async def cancel_job(ports: Ports, ref: str) -> Job:
    """A pending job is cancelled at once; a running one stops at its next progress step."""
    async with ports.uow() as uow:
        job = await find_job(uow, ref)
        job.cancel(ports.clock.now())
        await uow.jobs.save(job)
        await uow.commit()
    await ports.events.publish("job.updated", job_event(job))
    return job


async def retry_job(ports: Ports, ref: str) -> Job:
    async with ports.uow() as uow:
        job = await find_job(uow, ref)
        job.retry(ports.clock.now())
        await uow.jobs.save(job)
        await uow.commit()
    await ports.queue.wake()
    await ports.events.publish("job.updated", job_event(job))
    return job


async def find_job(uow: UnitOfWork, ref: str) -> Job:
    job = None
    with contextlib.suppress(ValueError):
        job = await uow.jobs.get(UUID(ref))
    if job is None:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]})
    return job


def job_event(job: Job) -> dict[str, Any]:
    return {
        "job_id": str(job.job_id),
        "type": job.type,
        "status": job.status.value,
        "progress": job.progress,
        "total": job.total,
        "message": job.message,
        "error": job.error,
        "attempts": job.attempts,
    }
