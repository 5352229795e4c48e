"""Job use cases on the API side: submit, look up, cancel, retry, delete, prune. The queue owns every state
change; a finished job's row (and the upload a failed one keeps for its retry) goes by delete or prune."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from application.ports import Clock, IdGenerator, JobFilter, JobQueue, UnitOfWorkFactory
from application.series_ports import SpooledFiles
from domain.errors import NotFound
from domain.jobs import Job, JobStatus, JobType
from domain.paging import Page, PageRequest

PRUNE_BATCH = 500


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


async def cancel_job(ref: str, *, queue: JobQueue, spool: SpooledFiles) -> Job:
    """A pending job is cancelled at once (its upload goes with it); a running one stops at its next progress
    step, and its worker lets the upload go."""
    job = await queue.cancel(_job_id(ref))
    if job.status is JobStatus.CANCELLED:
        spool.discard(uploads_of(job))
    return job


async def retry_job(ref: str, *, queue: JobQueue) -> Job:
    """A failed or cancelled job goes back to PENDING with its attempts reset."""
    return await queue.retry(_job_id(ref))


async def delete_job(ref: str, *, uow: UnitOfWorkFactory, spool: SpooledFiles) -> Job:
    """Removes a finished job, its events and the upload a failed one kept; a job that may still run is a 409."""
    async with uow() as tx:
        job = await tx.jobs.get(_job_id(ref))
        if job is None:
            raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]})
        job.require_finished("delete")
        await tx.jobs.delete(job.job_id)
        await tx.commit()
    spool.discard(uploads_of(job))
    return job


async def prune_jobs(older_than: timedelta, *, uow: UnitOfWorkFactory, clock: Clock, spool: SpooledFiles) -> int:
    """Removes every job finished more than `older_than` ago, with its events and kept upload; answers how many."""
    cutoff = clock.now() - older_than
    pruned = 0
    while True:
        async with uow() as tx:
            batch = await tx.jobs.finished_before(cutoff, PRUNE_BATCH)
            for job in batch:
                await tx.jobs.delete(job.job_id)
            await tx.commit()
        for job in batch:
            spool.discard(uploads_of(job))
        pruned += len(batch)
        if len(batch) < PRUNE_BATCH:
            return pruned


def uploads_of(job: Job) -> list[str]:
    """The spooled files a job's payload names (see `SpooledFiles`)."""
    return [str(path) for path in job.payload.get("uploads", [])]


def _job_id(ref: str) -> UUID:
    try:
        return UUID(ref)
    except ValueError as exc:
        raise NotFound(f"job {ref[:80]!r} not found", {"job_id": ref[:80]}) from exc
