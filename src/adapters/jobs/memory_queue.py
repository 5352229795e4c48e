"""The in-memory JobQueue for unit tests: a dict, the caller's clock, and the same rules as the SQL ones."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

from adapters.jobs.events import MemoryEventFeed
from adapters.jobs.wakeup import WakeSignal
from application.job_events import job_event_data
from application.ports import Clock
from domain.errors import NotFound
from domain.events import EventType
from domain.jobs import Job, JobStatus

LEASE_EXPIRED = "lease expired: the worker stopped renewing it"


class MemoryJobQueue:
    def __init__(self, clock: Clock, events: MemoryEventFeed | None = None) -> None:
        self.clock = clock
        self.events = events or MemoryEventFeed()
        self._jobs: dict[UUID, Job] = {}
        self._keys: dict[str, UUID] = {}
        self._wake = WakeSignal()

    # Copies go in and out so a caller's object never aliases the stored row, as with a database.

    async def enqueue(self, job: Job, idempotency_key: str | None = None) -> Job:
        if idempotency_key is not None and idempotency_key in self._keys:
            return copy.deepcopy(self._jobs[self._keys[idempotency_key]])
        stored = copy.deepcopy(job)
        stored.run_after = stored.run_after or stored.created_at
        self._jobs[job.job_id] = stored
        if idempotency_key is not None:
            self._keys[idempotency_key] = job.job_id
        self._changed(stored)
        return copy.deepcopy(stored)

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        for job in jobs:
            await self.enqueue(job)

    async def get(self, job_id: UUID) -> Job | None:
        job = self._jobs.get(job_id)
        return copy.deepcopy(job) if job is not None else None

    async def claim_batch(
        self, worker_id: str, types: Sequence[str] | None, lease: timedelta, limit: int
    ) -> list[Job]:
        self._wake.rearm()
        now = self.clock.now()
        due = [
            j for j in self._jobs.values()
            if j.status is JobStatus.PENDING and j.run_after is not None and j.run_after <= now
            and (types is None or j.type in types)
        ]
        due.sort(key=lambda j: (-j.priority, j.run_after, j.created_at))
        claimed = []
        for job in due[:limit]:
            job.claim(worker_id, now, lease)
            self._changed(job)
            claimed.append(copy.deepcopy(job))
        return claimed

    async def heartbeat(self, job_id: UUID, worker_id: str, lease: timedelta) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.worker_id != worker_id:
            return False
        job.lease_expires_at = self.clock.now() + lease
        return True

    async def progress(
        self, job_id: UUID, progress: int, total: int | None, message: str | None,
        worker_id: str | None = None,
    ) -> bool:
        job = self._jobs.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or (
            worker_id is not None and job.worker_id != worker_id
        ):
            return True
        job.report_progress(progress, total, message, self.clock.now())
        # Progress is sent live and not kept: only status changes are replayed on resume.
        self.events.announce(EventType.JOB_UPDATED, copy.deepcopy(job_event_data(job)))
        return job.cancel_requested

    async def finish(self, job: Job, worker_id: str) -> bool:
        stored = self._jobs.get(job.job_id)
        if (
            stored is None or stored.status is not JobStatus.RUNNING or stored.worker_id != worker_id
            or stored.attempts != job.attempts
        ):
            return False
        updated = copy.deepcopy(job)
        updated.cancel_requested = stored.cancel_requested or job.cancel_requested
        self._jobs[job.job_id] = updated
        self._changed(updated)
        return True

    async def cancel(self, job_id: UUID) -> Job:
        job = self._require(job_id)
        job.cancel(self.clock.now())
        self._changed(job)
        return copy.deepcopy(job)

    async def retry(self, job_id: UUID) -> Job:
        job = self._require(job_id)
        job.retry(self.clock.now())
        self._changed(job)
        return copy.deepcopy(job)

    async def requeue_expired(self) -> int:
        now = self.clock.now()
        expired = [j for j in self._jobs.values() if j.lease_expired(now)]
        for job in expired:
            job.fail(LEASE_EXPIRED, now, retryable=True)
            self._changed(job)
        return len(expired)

    async def wait_for_work(self, timeout: float) -> None:
        now = self.clock.now()
        # Jobs due already are another worker's types (a claim just ran); only future ones set a timer.
        later = [
            j.run_after for j in self._jobs.values()
            if j.status is JobStatus.PENDING and j.run_after is not None and j.run_after > now
        ]
        if later:
            timeout = min(timeout, (min(later) - now).total_seconds())
        await self._wake.wait(timeout)

    async def wake(self) -> None:
        self._wake.notify()

    def _require(self, job_id: UUID) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", {"job_id": str(job_id)})
        return job

    def _changed(self, job: Job) -> None:
        self.events.emit(EventType.JOB_UPDATED, copy.deepcopy(job_event_data(job)))
        if job.status is JobStatus.PENDING:
            self._wake.notify()
