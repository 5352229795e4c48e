"""Job use cases on the API side: submit, look up, cancel, retry. The queue owns every state change."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.ports import Clock, IdGenerator, JobFilter, JobQueue, UnitOfWorkFactory
from domain.errors import NotFound
from domain.jobs import Job, JobType
from domain.paging import Page, PageRequest


async def submit_job(
    job_type: JobType,
    payload: dict[str, Any],
    *,
    message: str | None = None,
    idempotency_key: str | None = None,
    priority: int = 0,
    max_attempts: int = 3,
    queue: JobQueue,
    clock: Clock,
    ids: IdGenerator,
) -> Job:
    """Queue a job; a key seen before answers the job it created then."""
    job = Job.submit(ids.new_id(), job_type, payload, clock.now(), priority, max_attempts, message)
    return await queue.enqueue(job, idempotency_key)


async def get_job(ref: str, *, queue: JobQueue) -> Job:
    job = await queue.get(_job_id(ref))
    if job is None:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]})
    return job


async def list_jobs(filters: JobFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[Job]:
    async with uow() as tx:
        return await tx.jobs.list(filters, page)


async def cancel_job(ref: str, *, queue: JobQueue) -> Job:
    """A pending job is cancelled at once; a running one stops at its next progress step."""
    return await queue.cancel(_job_id(ref))


async def retry_job(ref: str, *, queue: JobQueue) -> Job:
    """A failed or cancelled job goes back to PENDING with its attempts reset."""
    return await queue.retry(_job_id(ref))


def _job_id(ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError as exc:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]}) from exc
