"""The JobQueue on Postgres (asyncpg): SKIP LOCKED claims, leases, LISTEN/NOTIFY wake-ups.

Each hot-path call (enqueue, claim, progress, finish) is one statement and one round trip: the row
change, its `job.updated` event row and both NOTIFYs travel in a single CTE, so they commit together.
Progress is the exception: its `job.updated` travels in the NOTIFY only, and is not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from adapters.jobs import pg
from adapters.jobs.rows import JOB_ARRAY_TYPES, JOB_COLUMNS, job_from_row, job_row
from application.ports import Clock
from domain.errors import InvalidInput, NotFound, StoreUnavailable
from domain.jobs import Job

log = logging.getLogger("stage1.jobs.postgres")

LEASE_EXPIRED = "lease expired: the worker stopped renewing it"
REQUEUE_BATCH = 100
# A timer for a job due "now" that the last claim did not get (a concurrent claim held its lock):
# look again soon, without spinning.
_MIN_TIMER = 0.01

_COLUMNS = ", ".join(JOB_COLUMNS)
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, len(JOB_COLUMNS) + 1))

_EVENTS = pg.job_events_sql("changed")
_NOTIFIED = "(SELECT count(*) FROM notified) AS _notified"

_ENQUEUE = f"""
WITH changed AS (
    INSERT INTO stage1_jobs ({_COLUMNS}, idempotency_key)
    VALUES ({_PLACEHOLDERS}, ${len(JOB_COLUMNS) + 1})
    ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *
), {_EVENTS},
woken AS (SELECT pg_notify('{pg.JOBS_CHANNEL}', type) FROM changed)
SELECT changed.*, {_NOTIFIED}, (SELECT count(*) FROM woken) AS _woken FROM changed
"""

_ENQUEUE_MANY = f"""
WITH changed AS (
    INSERT INTO stage1_jobs ({_COLUMNS})
    SELECT * FROM unnest({", ".join(f"${i}::{t}" for i, t in enumerate(JOB_ARRAY_TYPES, 1))})
    RETURNING *
), {_EVENTS},
woken AS (SELECT pg_notify('{pg.JOBS_CHANNEL}', '') FROM (SELECT 1 FROM changed LIMIT 1) AS one)
SELECT count(*) AS inserted, {_NOTIFIED}, (SELECT count(*) FROM woken) AS _woken FROM changed
"""


def _claim_sql(typed: bool) -> str:
    type_filter = "AND type = ANY($4::text[])" if typed else ""
    return f"""
WITH changed AS (
    UPDATE stage1_jobs
    SET status = 'RUNNING', worker_id = $1, attempts = attempts + 1, started_at = now(),
        lease_expires_at = now() + $2::interval, updated_at = now()
    WHERE job_id = ANY(ARRAY(
        SELECT job_id FROM stage1_jobs
        WHERE status = 'PENDING' AND run_after <= now() {type_filter}
        ORDER BY priority DESC, run_after, created_at
        LIMIT $3
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
), {_EVENTS}
SELECT changed.*, {_NOTIFIED} FROM changed ORDER BY priority DESC, run_after, created_at
"""


_CLAIM_ANY = _claim_sql(typed=False)
_CLAIM_TYPED = _claim_sql(typed=True)

_HEARTBEAT = """
UPDATE stage1_jobs SET lease_expires_at = now() + $3::interval
WHERE job_id = $1 AND worker_id = $2 AND status = 'RUNNING'
RETURNING 1
"""

# Progress is announced live (the job's JSON in the NOTIFY), not stored as an event: only status changes are.
_PROGRESS = f"""
WITH changed AS (
    UPDATE stage1_jobs SET progress = $2, total = $3, message = COALESCE($4, message), updated_at = now()
    WHERE job_id = $1 AND status = 'RUNNING' AND ($5::text IS NULL OR worker_id = $5)
    RETURNING *
), {pg.job_progress_sql("changed")}
SELECT cancel_requested, (SELECT count(*) FROM announced) AS _announced FROM changed
"""


# An API-side change (cancel, retry, lease expiry) made under FOR UPDATE in the same transaction.
_SAVE = f"""
WITH changed AS (
    UPDATE stage1_jobs
    SET status = $2, progress = $3, total = $4, message = $5, result = $6, error = $7, attempts = $8,
        worker_id = $9, updated_at = $10, started_at = $11, completed_at = $12, run_after = $13,
        lease_expires_at = $14, cancel_requested = $15
    WHERE job_id = $1
    RETURNING *
), {_EVENTS},
woken AS (SELECT pg_notify('{pg.JOBS_CHANNEL}', type) FROM changed WHERE status = 'PENDING')
SELECT changed.*, {_NOTIFIED}, (SELECT count(*) FROM woken) AS _woken FROM changed
"""

# Workers' finishes, many per statement: the row changes only if the worker still holds that attempt
# (`holder`, `attempts`), and a cancel asked meanwhile is kept.
_FINISH_MANY = f"""
WITH input AS (
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::int8[], $4::int8[], $5::text[], $6::jsonb[], $7::text[], $8::int4[],
        $9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],
        $14::bool[], $15::text[]
    ) AS i(job_id, status, progress, total, message, result, error, attempts, worker_id, updated_at,
           completed_at, run_after, lease_expires_at, cancel_requested, holder)
), changed AS (
    UPDATE stage1_jobs AS j
    SET status = i.status, progress = i.progress, total = i.total, message = i.message, result = i.result,
        error = i.error, worker_id = i.worker_id, updated_at = i.updated_at, completed_at = i.completed_at,
        run_after = i.run_after, lease_expires_at = i.lease_expires_at,
        cancel_requested = j.cancel_requested OR i.cancel_requested
    FROM input AS i
    WHERE j.job_id = i.job_id AND j.status = 'RUNNING' AND j.worker_id = i.holder AND j.attempts = i.attempts
    RETURNING j.*
), {_EVENTS},
woken AS (
    SELECT pg_notify('{pg.JOBS_CHANNEL}', '') FROM (SELECT 1 FROM changed WHERE status = 'PENDING' LIMIT 1) AS one
)
SELECT changed.job_id, {_NOTIFIED}, (SELECT count(*) FROM woken) AS _woken FROM changed
"""
FINISH_BATCH = 500

_NEXT_DUE = """
SELECT EXTRACT(EPOCH FROM (min(run_after) - now()))::float8 FROM stage1_jobs
WHERE status = 'PENDING' AND ($1::text[] IS NULL OR type = ANY($1::text[]))
"""


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def _finish_args(job: Job, holder: str) -> tuple[Any, ...]:
    return (
        job.job_id, job.status.value, job.progress, job.total, job.message, job.result, job.error,
        job.attempts, job.worker_id, job.updated_at, job.completed_at, job.run_after, job.lease_expires_at,
        job.cancel_requested, holder,
    )


def _update_args(job: Job) -> list[Any]:
    return [
        job.job_id, job.status.value, job.progress, job.total, job.message, job.result, job.error,
        job.attempts, job.worker_id, job.updated_at, job.started_at, job.completed_at, job.run_after,
        job.lease_expires_at, job.cancel_requested,
    ]


class PostgresJobQueue:
    """One per process. Workers LISTEN on `stage1_jobs` (a dedicated connection opened by the first
    `wait_for_work`); API processes only NOTIFY."""

    def __init__(self, pool: asyncpg.Pool, url: str, *, clock: Clock | None = None, owns_pool: bool = False):
        self._pool = pool
        self._url = url
        self._clock = clock or _UtcClock()
        self._owns_pool = owns_pool
        self._listener: asyncpg.Connection | None = None
        self._wake = asyncio.Event()
        self._types: list[str] | None = None
        self._finishing: list[tuple[tuple[Any, ...], asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls, url: str, *, min_size: int = 1, max_size: int = 10, clock: Clock | None = None
    ) -> PostgresJobQueue:
        pool = await pg.create_pool(url, min_size=min_size, max_size=max_size)
        return cls(pool, url, clock=clock, owns_pool=True)

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        self._listener = None
        if self._owns_pool:
            await self._pool.close()

    # ------------------------------------------------------------ API side

    async def enqueue(self, job: Job, idempotency_key: str | None = None) -> Job:
        row = await self._fetchrow(_ENQUEUE, *job_row(job), idempotency_key)
        if row is None:
            row = await self._fetchrow(
                "SELECT * FROM stage1_jobs WHERE idempotency_key = $1", idempotency_key
            )
            if row is None:
                raise StoreUnavailable("the job with this idempotency key vanished while enqueueing; retry")
        return job_from_row(row)

    async def enqueue_many(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        columns = [list(column) for column in zip(*map(job_row, jobs), strict=True)]
        await self._fetchrow(_ENQUEUE_MANY, *columns)

    async def get(self, job_id: UUID) -> Job | None:
        row = await self._fetchrow("SELECT * FROM stage1_jobs WHERE job_id = $1", job_id)
        return job_from_row(row) if row is not None else None

    async def cancel(self, job_id: UUID) -> Job:
        return await self._transition(job_id, lambda job: job.cancel(self._clock.now()))

    async def retry(self, job_id: UUID) -> Job:
        return await self._transition(job_id, lambda job: job.retry(self._clock.now()))

    async def wake(self) -> None:
        await self._fetchrow(f"SELECT 1 FROM pg_notify('{pg.JOBS_CHANNEL}', '')")

    # ------------------------------------------------------------ worker side

    async def claim_batch(
        self, worker_id: str, types: Sequence[str] | None, lease: timedelta, limit: int
    ) -> list[Job]:
        self._types = list(types) if types is not None else None
        # Re-armed before looking: a NOTIFY that arrives from here on wakes the next wait_for_work.
        self._wake.clear()
        if types is None:
            rows = await self._fetch(_CLAIM_ANY, worker_id, lease, limit)
        else:
            rows = await self._fetch(_CLAIM_TYPED, worker_id, lease, limit, list(types))
        return [job_from_row(row) for row in rows]

    async def heartbeat(self, job_id: UUID, worker_id: str, lease: timedelta) -> bool:
        return await self._fetchrow(_HEARTBEAT, job_id, worker_id, lease) is not None

    async def progress(
        self, job_id: UUID, progress: int, total: int | None, message: str | None,
        worker_id: str | None = None,
    ) -> bool:
        row = await self._fetchrow(_PROGRESS, job_id, progress, total, message, worker_id)
        return True if row is None else bool(row["cancel_requested"])

    async def finish(self, job: Job, worker_id: str) -> bool:
        """Group commit: finishes that arrive while one statement is in flight go out in the next one."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finishing.append((_finish_args(job, worker_id), future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_finishes(), name="stage1-jobs-finish")
        return await future

    async def _flush_finishes(self) -> None:
        while self._finishing:
            batch = self._finishing[:FINISH_BATCH]
            del self._finishing[:FINISH_BATCH]
            columns: list[list[Any]] = [list(values) for values in zip(*(args for args, _ in batch), strict=True)]
            try:
                rows = await self._fetch(_FINISH_MANY, *columns)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            stored = {row["job_id"] for row in rows}
            for args, future in batch:
                if not future.done():
                    future.set_result(args[0] in stored)

    async def requeue_expired(self) -> int:
        async def requeue(conn: asyncpg.Connection) -> int:
            rows = await conn.fetch(
                "SELECT * FROM stage1_jobs WHERE status = 'RUNNING' AND lease_expires_at < now() "
                f"ORDER BY lease_expires_at LIMIT {REQUEUE_BATCH} FOR UPDATE SKIP LOCKED"
            )
            now = self._clock.now()
            for row in rows:
                job = job_from_row(row)
                log.warning("lease expired job_id=%s worker_id=%s attempt=%s", job.job_id, job.worker_id,
                            job.attempts)
                job.fail(LEASE_EXPIRED, now, retryable=True)
                await conn.fetchrow(_SAVE, *_update_args(job))
            return len(rows)

        total = 0
        while True:
            count: int = await self._in_transaction(requeue)
            total += count
            if count < REQUEUE_BATCH:
                return total

    async def wait_for_work(self, timeout: float) -> None:
        try:
            await self._listen()
        except StoreUnavailable as exc:
            log.warning("cannot LISTEN for jobs, polling instead: %s", exc)
            await asyncio.sleep(min(timeout, 1.0))
            return
        if self._wake.is_set():
            return
        row = await self._fetchrow(_NEXT_DUE, self._types)
        due_in = row[0] if row is not None else None
        if due_in is not None:
            timeout = min(timeout, max(due_in, _MIN_TIMER))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # ------------------------------------------------------------ plumbing

    async def _listen(self) -> None:
        conn = await pg.listening(self._listener, self._url, pg.JOBS_CHANNEL, self._on_notify)
        if conn is not None:
            self._listener = conn
            # Anything enqueued while nobody listened is only found by looking.
            self._wake.set()

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        if not payload or self._types is None or payload in self._types:
            self._wake.set()

    async def _transition(self, job_id: UUID, change: Any) -> Job:
        async def apply(conn: asyncpg.Connection) -> Job:
            row = await conn.fetchrow("SELECT * FROM stage1_jobs WHERE job_id = $1 FOR UPDATE", job_id)
            if row is None:
                raise NotFound(f"job {job_id} not found", {"job_id": str(job_id)})
            job = job_from_row(row)
            change(job)
            saved = await conn.fetchrow(_SAVE, *_update_args(job))
            return job_from_row(saved)

        job: Job = await self._in_transaction(apply)
        return job

    async def _in_transaction(self, work: Any) -> Any:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                return await work(conn)
        except pg.UNAVAILABLE as exc:
            raise StoreUnavailable(f"job queue: {exc}") from exc

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        try:
            rows: list[Any] = await self._pool.fetch(sql, *args)
        except pg.UNAVAILABLE as exc:
            raise StoreUnavailable(f"job queue: {exc}") from exc
        except asyncpg.exceptions.UntranslatableCharacterError as exc:
            # Postgres text cannot hold NUL (\u0000); the client sent it, so it is bad input, not a failure.
            raise InvalidInput("text may not contain NUL characters (\\u0000)", {"field": "payload"}) from exc
        return rows

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        rows = await self._fetch(sql, *args)
        return rows[0] if rows else None
