"""The JobQueue of the embedded setup: SQLite, one process, workers in the same event loop.

Every change runs in a `BEGIN IMMEDIATE` transaction (the write lock up front, so two claims never
read the same PENDING row) under the feed's in-process lock, records its `job.updated` events in the
same transaction and delivers them after the commit. Waiting workers are woken in-process.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.jobs.events import Event
from adapters.jobs.rows import job_from_row, job_values
from adapters.jobs.sqlite_events import SqliteEventFeed
from adapters.jobs.wakeup import WakeSignal
from adapters.sql.engine import create_engine
from adapters.sql.tables import jobs as jobs_table
from application.job_events import job_event_data
from application.ports import Clock
from domain.errors import NotFound, StoreUnavailable
from domain.events import EventType
from domain.jobs import Job, JobStatus

LEASE_EXPIRED = "lease expired: the worker stopped renewing it"

T = TypeVar("T")


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SqliteJobQueue:
    def __init__(self, events: SqliteEventFeed, clock: Clock | None = None) -> None:
        """`events.engine` must begin its transactions with BEGIN IMMEDIATE (see `open`)."""
        self.events = events
        self.engine: AsyncEngine = events.engine
        self.clock = clock or _UtcClock()
        self._wake = WakeSignal()
        # Jobs due at or before the last claim's clock were seen by it: only later ones set a timer.
        self._last_claim_at: datetime | None = None

    @classmethod
    def open(cls, url: str, clock: Clock | None = None) -> SqliteJobQueue:
        engine = create_engine(url, sqlite_begin="immediate")
        return cls(SqliteEventFeed(engine), clock)

    async def close(self) -> None:
        await self.engine.dispose()

    # ------------------------------------------------------------ API side

    async def enqueue(self, job: Job, idempotency_key: str | None = None) -> Job:
        async def work(conn: AsyncConnection, changed: list[Job]) -> Job:
            if idempotency_key is not None:
                row = (await conn.execute(
                    select(jobs_table).where(jobs_table.c.idempotency_key == idempotency_key)
                )).first()
                if row is not None:
                    return job_from_row(row._mapping)
            await conn.execute(insert(jobs_table).values(**job_values(job), idempotency_key=idempotency_key))
            stored = await self._load(conn, job.job_id)
            changed.append(stored)
            return stored

        return await self._write(work)

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return

        async def work(conn: AsyncConnection, changed: list[Job]) -> None:
            await conn.execute(insert(jobs_table), [job_values(job) for job in jobs])
            for job in jobs:
                stored = copy.copy(job)
                stored.run_after = stored.run_after or stored.created_at
                changed.append(stored)

        await self._write(work)

    async def get(self, job_id: UUID) -> Job | None:
        async with self.events.lock, self.engine.connect() as conn:
            row = (await conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))).first()
        return job_from_row(row._mapping) if row is not None else None

    async def cancel(self, job_id: UUID) -> Job:
        return await self._transition(job_id, lambda job: job.cancel(self.clock.now()))

    async def retry(self, job_id: UUID) -> Job:
        return await self._transition(job_id, lambda job: job.retry(self.clock.now()))

    async def wake(self) -> None:
        self._wake.notify()

    # ------------------------------------------------------------ worker side

    async def claim_batch(
        self, worker_id: str, types: Sequence[str] | None, lease: timedelta, limit: int
    ) -> list[Job]:
        self._wake.rearm()

        async def work(conn: AsyncConnection, changed: list[Job]) -> list[Job]:
            now = self.clock.now()
            self._last_claim_at = now
            query = (
                select(jobs_table)
                .where(jobs_table.c.status == JobStatus.PENDING.value, jobs_table.c.run_after <= now)
                .order_by(jobs_table.c.priority.desc(), jobs_table.c.run_after, jobs_table.c.created_at)
                .limit(limit)
            )
            if types is not None:
                query = query.where(jobs_table.c.type.in_(list(types)))
            for row in (await conn.execute(query)).all():
                job = job_from_row(row._mapping)
                job.claim(worker_id, now, lease)
                await self._save(conn, job)
                changed.append(job)
            return list(changed)

        return await self._write(work)

    async def heartbeat(self, job_id: UUID, worker_id: str, lease: timedelta) -> bool:
        async def work(conn: AsyncConnection, changed: list[Job]) -> bool:
            result = await conn.execute(
                update(jobs_table)
                .where(
                    jobs_table.c.job_id == job_id, jobs_table.c.worker_id == worker_id,
                    jobs_table.c.status == JobStatus.RUNNING.value,
                )
                .values(lease_expires_at=self.clock.now() + lease)
            )
            return bool(result.rowcount)

        return await self._write(work)

    async def progress(
        self, job_id: UUID, progress: int, total: int | None, message: str | None,
        worker_id: str | None = None,
    ) -> bool:
        async def work(conn: AsyncConnection, changed: list[Job]) -> bool:
            job = await self._find(conn, job_id)
            if job is None or job.status is not JobStatus.RUNNING or (
                worker_id is not None and job.worker_id != worker_id
            ):
                return True
            job.report_progress(progress, total, message, self.clock.now())
            await self._save(conn, job)
            reported.append(job)
            return job.cancel_requested

        # Progress is sent live and not stored: only status changes are kept for resume.
        reported: list[Job] = []
        stop = await self._write(work)
        for job in reported:
            self.events.announce(EventType.JOB_UPDATED, job_event_data(job))
        return stop

    async def finish(self, job: Job, worker_id: str) -> bool:
        async def work(conn: AsyncConnection, changed: list[Job]) -> bool:
            stored = await self._find(conn, job.job_id)
            if (
                stored is None or stored.status is not JobStatus.RUNNING or stored.worker_id != worker_id
                or stored.attempts != job.attempts
            ):
                return False
            # A cancel asked since the worker last looked is kept, never cleared by its write.
            job.cancel_requested = job.cancel_requested or stored.cancel_requested
            await self._save(conn, job)
            changed.append(job)
            return True

        return await self._write(work)

    async def requeue_expired(self) -> int:
        async def work(conn: AsyncConnection, changed: list[Job]) -> int:
            now = self.clock.now()
            rows = (await conn.execute(
                select(jobs_table).where(
                    jobs_table.c.status == JobStatus.RUNNING.value, jobs_table.c.lease_expires_at < now
                )
            )).all()
            for row in rows:
                job = job_from_row(row._mapping)
                job.fail(LEASE_EXPIRED, now, retryable=True)
                await self._save(conn, job)
                changed.append(job)
            return len(rows)

        return await self._write(work)

    async def wait_for_work(self, timeout: float) -> None:
        since = self._last_claim_at or self.clock.now()
        async with self.events.lock, self.engine.connect() as conn:
            due = await conn.scalar(
                select(func.min(jobs_table.c.run_after)).where(
                    jobs_table.c.status == JobStatus.PENDING.value, jobs_table.c.run_after > since
                )
            )
        if due is not None:
            if due.tzinfo is None:
                due = due.replace(tzinfo=UTC)
            timeout = min(timeout, max((due - self.clock.now()).total_seconds(), 0.0))
        await self._wake.wait(timeout)

    # ------------------------------------------------------------ plumbing

    async def _transition(self, job_id: UUID, change: Callable[[Job], None]) -> Job:
        async def work(conn: AsyncConnection, changed: list[Job]) -> Job:
            job = await self._find(conn, job_id)
            if job is None:
                raise NotFound(f"job {job_id} not found", {"job_id": str(job_id)})
            change(job)
            await self._save(conn, job)
            changed.append(job)
            return job

        return await self._write(work)

    async def _write(self, work: Callable[[AsyncConnection, list[Job]], Awaitable[T]]) -> T:
        """Runs `work` in one BEGIN IMMEDIATE transaction; events for the jobs it changed go out after
        the commit, and PENDING ones wake the waiting workers."""
        changed: list[Job] = []
        try:
            async with self.events.lock:
                async with self.engine.begin() as conn:
                    result = await work(conn, changed)
                    events: list[Event] = [
                        await self.events.record(conn, EventType.JOB_UPDATED, job_event_data(job)) for job in changed
                    ]
                await self.events.deliver(events)
        except OperationalError as exc:
            raise StoreUnavailable(f"job queue (sqlite): {exc.orig}") from exc
        if any(job.status is JobStatus.PENDING for job in changed):
            self._wake.notify()
        return result

    async def _find(self, conn: AsyncConnection, job_id: UUID) -> Job | None:
        row = (await conn.execute(select(jobs_table).where(jobs_table.c.job_id == job_id))).first()
        return job_from_row(row._mapping) if row is not None else None

    async def _load(self, conn: AsyncConnection, job_id: UUID) -> Job:
        job = await self._find(conn, job_id)
        assert job is not None
        return job

    async def _save(self, conn: AsyncConnection, job: Job) -> None:
        values: dict[str, Any] = job_values(job)
        del values["job_id"]
        await conn.execute(update(jobs_table).where(jobs_table.c.job_id == job.job_id).values(**values))
