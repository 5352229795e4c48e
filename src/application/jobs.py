"""Job use cases on the API side: submit, look up, cancel, retry. The queue owns every state change."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.context import Ports
from application.ports import JobFilter
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
    idempotency_key: str | None = None,
) -> Job:
    """Queue a job; a key seen before answers the job it created then."""
    job = Job.submit(ports.ids.new_id(), job_type, payload, ports.clock.now(), priority, max_attempts, message)
    return await ports.queue.enqueue(job, idempotency_key)


async def get_job(ports: Ports, ref: str) -> Job:
    job = await ports.queue.get(_job_id(ref))
    if job is None:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]})
    return job


async def list_jobs(ports: Ports, filters: JobFilter, page: PageRequest) -> Page[Job]:
    async with ports.uow() as uow:
        return await uow.jobs.list(filters, page)


async def cancel_job(ports: Ports, ref: str) -> Job:
    """A pending job is cancelled at once; a running one stops at its next progress step."""
    return await ports.queue.cancel(_job_id(ref))


async def retry_job(ports: Ports, ref: str) -> Job:
    """A failed or cancelled job goes back to PENDING with its attempts reset."""
    return await ports.queue.retry(_job_id(ref))


def _job_id(ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError as exc:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]}) from exc
