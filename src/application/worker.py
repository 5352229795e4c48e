"""The worker runtime: claims jobs, runs their handlers and stores how each attempt ended.

Framework-free: it talks to the queue through the JobQueue port and lets the domain's Job decide
every transition (complete, fail with backoff, acknowledge a cancel, release at shutdown).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import anyio

from application.job_registry import JobCancelled, JobHandler, ProgressReporter
from application.job_reporter import JobReporter
from application.ports import Clock, JobQueue, WorkerMetrics
from domain.errors import InvalidInput, Refused, StoreUnavailable
from domain.jobs import BACKOFF_BASE, OUTAGE_BACKOFF_BASE, Job, JobStatus

__all__ = ["JobCancelled", "JobHandler", "ProgressReporter", "Worker"]

_STORE_ATTEMPTS = 5

# Job type -> what a finished job's message says, from its result ("imported 5000 rows into m").
Summary = Callable[[dict[str, Any]], str]
# Called once a job's end is stored by the worker that still held it: what only the attempt that counts may do
# (a paused worker whose job was taken over must not remove the upload the new attempt reads).
Stored = Callable[[Job], None]


class Worker:
    """Runs up to `concurrency` jobs at once until `stop()`.

    A running job's lease is renewed in the background; a worker that dies simply stops renewing, and
    `requeue_expired` (called here periodically, by every worker) gives its jobs to someone else.
    """

    def __init__(
        self,
        queue: JobQueue,
        handlers: Mapping[str, JobHandler],
        worker_id: str,
        *,
        clock: Clock,
        concurrency: int = 4,
        lease: timedelta = timedelta(seconds=30),
        logger: logging.Logger | None = None,
        metrics: WorkerMetrics | None = None,
        types: Sequence[str] | None = None,
        grace: float = 10.0,
        idle_poll: float = 5.0,
        maintenance_interval: float | None = None,
        progress_interval: timedelta = timedelta(milliseconds=250),
        error_pause: float = 0.5,
        summaries: Mapping[str, Summary] | None = None,
        outage_backoff: timedelta = OUTAGE_BACKOFF_BASE,
        on_stored: Stored | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.queue = queue
        self.handlers = handlers
        self.worker_id = worker_id
        self.clock = clock
        self.concurrency = concurrency
        self.lease = lease
        self.log = logger or logging.getLogger("stage1.worker")
        self.metrics: WorkerMetrics = metrics or _Uncounted()
        # None claims every type, so a job nobody can run fails visibly instead of waiting forever.
        self.types = list(types) if types is not None else None
        self.grace = grace
        self.idle_poll = idle_poll
        self.maintenance_interval = (
            maintenance_interval if maintenance_interval is not None else min(max(lease.total_seconds() / 2, 0.5), 30.0)
        )
        self.progress_interval = progress_interval
        self.error_pause = error_pause
        self.summaries = dict(summaries or {})
        self.outage_backoff = outage_backoff
        self.on_stored = on_stored
        self._heartbeat_every = max(lease.total_seconds() / 3, 0.05)
        self._in_hand: dict[UUID, _Held] = {}
        self._running = 0
        self._stopping = False
        self._wait_scope: anyio.CancelScope | None = None
        self._slot_freed = anyio.Event()
        self._all_done = anyio.Event()

    @property
    def in_hand(self) -> int:
        return len(self._in_hand)

    def stop(self) -> None:
        """Stop claiming; `run` then waits up to `grace` seconds for the jobs in hand and releases the rest.

        Synchronous so a signal handler can call it."""
        self._stopping = True
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        self._slot_freed.set()

    async def run(self) -> None:
        self._log(logging.INFO, "worker started", concurrency=self.concurrency, types=self.types)
        async with anyio.create_task_group() as maintenance:
            maintenance.start_soon(self._maintain)
            maintenance.start_soon(self._keep_leases)
            async with anyio.create_task_group() as jobs:
                await self._claim_loop(jobs)
                if self._in_hand:
                    self._log(logging.INFO, "worker stopping", in_hand=len(self._in_hand), grace_s=self.grace)
                    with anyio.move_on_after(self.grace):
                        await self._all_done.wait()
                # Whatever is still running is cancelled; each job releases itself on the way out.
                jobs.cancel_scope.cancel()
            maintenance.cancel_scope.cancel()
        self._log(logging.INFO, "worker stopped")

    async def drain(self) -> int:
        """Runs claimable jobs until none is left and answers how many attempts ran (tests, one-shot runs)."""
        ran = 0
        async with anyio.create_task_group() as keeper:
            keeper.start_soon(self._keep_leases)
            while batch := await self.queue.claim_batch(
                self.worker_id, self.types, self.lease, self.concurrency
            ):
                async with anyio.create_task_group() as jobs:
                    for job in batch:
                        self._take(job)
                        jobs.start_soon(self._execute, job)
                ran += len(batch)
            keeper.cancel_scope.cancel()
        return ran

    # ------------------------------------------------------------ claiming

    async def _claim_loop(self, jobs: anyio.abc.TaskGroup) -> None:
        errors = 0
        while not self._stopping:
            # A job's slot frees when its handler returns, so the next claim overlaps its store; but no more
            # than `concurrency` jobs may wait for their store: when stores fall behind (a slow or locked
            # database), claiming on would pile up jobs whose leases lapse before their end is written.
            free = min(self.concurrency - self._running, 2 * self.concurrency - len(self._in_hand))
            if free <= 0:
                self._slot_freed = anyio.Event()
                await self._slot_freed.wait()
                continue
            try:
                batch = await self.queue.claim_batch(self.worker_id, self.types, self.lease, free)
            except Exception as exc:
                errors += 1
                pause = min(self.error_pause * 2 ** min(errors - 1, 6), 30.0)
                self.log.warning("claim failed, retrying in %.1fs: %s", pause, exc, exc_info=errors == 1)
                await self._interruptible(anyio.sleep(pause))
                continue
            errors = 0
            for job in batch:
                self._take(job)
                jobs.start_soon(self._execute, job)
            if len(batch) < free and not self._stopping:
                try:
                    await self._interruptible(self.queue.wait_for_work(self.idle_poll))
                except Exception as exc:
                    self.log.warning("waiting for work failed: %s", exc)
                    await self._interruptible(anyio.sleep(self.error_pause))

    async def _interruptible(self, waiting: Any) -> None:
        with anyio.CancelScope() as scope:
            self._wait_scope = scope
            if self._stopping:
                scope.cancel()
            await waiting
        self._wait_scope = None

    def _take(self, job: Job) -> None:
        self._in_hand[job.job_id] = _Held(job)
        self._running += 1
        self._all_done = anyio.Event()
        self.metrics.count("claimed", job.type)

    def _free_slot(self) -> None:
        self._running -= 1
        self._slot_freed.set()

    def _drop(self, job: Job) -> None:
        self._in_hand.pop(job.job_id, None)
        self._slot_freed.set()
        if not self._in_hand:
            self._all_done.set()

    async def _keep_leases(self) -> None:
        """One loop renews every running job's lease (short jobs never need it) and stops a job whose
        lease another worker took over."""
        while True:
            await anyio.sleep(self._heartbeat_every / 2)
            for held in list(self._in_hand.values()):
                if held.lost or time.monotonic() - held.renewed < self._heartbeat_every:
                    continue
                try:
                    still_ours = await self.queue.heartbeat(held.job.job_id, self.worker_id, self.lease)
                except Exception as exc:
                    self.log.warning("heartbeat failed job_id=%s: %s", held.job.job_id, exc)
                    continue
                held.renewed = time.monotonic()
                if not still_ours and held.scope is not None:
                    held.lost = True
                    held.scope.cancel()

    async def _maintain(self) -> None:
        while True:
            try:
                requeued = await self.queue.requeue_expired()
            except Exception as exc:
                self.log.warning("requeue of expired leases failed: %s", exc)
            else:
                if requeued:
                    self._log(logging.WARNING, "requeued jobs whose lease expired", count=requeued)
            await anyio.sleep(self.maintenance_interval)

    # ------------------------------------------------------------ running one job

    async def _execute(self, job: Job) -> None:
        try:
            try:
                handler = self.handlers.get(job.type)
                if handler is None:
                    self._log(logging.ERROR, "job has no handler", job)
                    job.fail(f"no handler for job type {job.type!r}", self.clock.now(), retryable=False)
                elif not await self._run(job, handler):
                    return
            finally:
                # The slot is free once the handler is done: the next claim overlaps this job's store.
                self._free_slot()
            with anyio.CancelScope(shield=True):
                await self._store(job)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                if job.status is JobStatus.RUNNING:
                    job.release(self.clock.now())
                    await self._store(job, counter="released")
            raise
        except Exception:
            # A bug here must not kill the worker; the lease expires and the job is retried elsewhere.
            self.log.exception("job execution crashed job_id=%s", job.job_id)
        finally:
            self._drop(job)

    async def _run(self, job: Job, handler: JobHandler) -> bool:
        """Runs the handler and moves `job` to its next state; False when the lease was lost meanwhile."""
        self._log(logging.INFO, "job started", job)
        held = self._in_hand[job.job_id]
        outcome: BaseException | dict[str, Any] | None = None
        started = time.monotonic()
        reporter = JobReporter(job, self.queue, self.clock, self.progress_interval, self.worker_id, self.log)
        with anyio.CancelScope() as scope:
            held.scope = scope
            try:
                outcome = dict(await handler(job, reporter) or {})
            except Exception as exc:
                outcome = exc
        held.scope = None
        duration = time.monotonic() - started
        self.metrics.observe_duration(job.type, duration)
        duration_ms = round(duration * 1000, 1)
        if held.lost:
            self.metrics.count("lost", job.type)
            self._log(logging.WARNING, "job lease lost, abandoning it", job, duration_ms=duration_ms)
            return False

        now = self.clock.now()
        if isinstance(outcome, dict):
            job.complete(outcome, now, self._summary(job, outcome, reporter.said_something))
        elif isinstance(outcome, JobCancelled):
            job.acknowledge_cancel(now)
        elif isinstance(outcome, InvalidInput | Refused):
            job.fail(outcome.message, now, retryable=False)
        else:
            await self._refresh_cancel_flag(job)
            wait = self.outage_backoff if isinstance(outcome, StoreUnavailable) else BACKOFF_BASE
            job.fail(f"{type(outcome).__name__}: {outcome}", now, retryable=True, backoff_base=wait)
            self.log.warning(
                "job attempt failed job_id=%s type=%s attempt=%s",
                job.job_id,
                job.type,
                job.attempts,
                exc_info=outcome,
            )
        self._log(logging.INFO, "job attempt ended", job, status=job.status.value, duration_ms=duration_ms)
        return True

    def _summary(self, job: Job, result: dict[str, Any], handler_said_something: bool) -> str | None:
        """The submission's "... queued" must not outlive the job; a handler's own last word may."""
        summarise = self.summaries.get(job.type)
        if summarise is not None:
            try:
                return summarise(result)
            except Exception:
                self.log.warning("summary failed job_id=%s", job.job_id, exc_info=True)
        return None if handler_said_something else "completed"

    async def _refresh_cancel_flag(self, job: Job) -> None:
        """A cancel asked since the last progress report turns a retry into CANCELLED."""
        try:
            current = await self.queue.get(job.job_id)
        except Exception as exc:
            self.log.warning("could not re-read job_id=%s: %s", job.job_id, exc)
            return
        if current is not None and current.cancel_requested:
            job.cancel_requested = True

    async def _store(self, job: Job, counter: str | None = None) -> None:
        for attempt in range(_STORE_ATTEMPTS):
            try:
                held = await self.queue.finish(job, self.worker_id)
            except Exception as exc:
                self.log.warning("storing job_id=%s failed (try %d): %s", job.job_id, attempt + 1, exc)
                await anyio.sleep(min(0.2 * 2**attempt, 5.0))
                continue
            if not held:
                self.metrics.count("lost", job.type)
                self._log(logging.WARNING, "job was taken over before its end was stored", job)
                return
            self.metrics.count(counter or _COUNTER_BY_STATUS[job.status], job.type)
            if self.on_stored is not None:
                try:
                    self.on_stored(job)
                except Exception:
                    self.log.warning("after storing job_id=%s failed", job.job_id, exc_info=True)
            return
        self._log(logging.ERROR, "giving up storing the job; its lease will expire and it will rerun", job)

    # ------------------------------------------------------------ logging

    def _log(self, level: int, event: str, job: Job | None = None, **fields: Any) -> None:
        if not self.log.isEnabledFor(level):
            return
        data: dict[str, Any] = {"worker_id": self.worker_id}
        if job is not None:
            data.update(job_id=str(job.job_id), type=job.type, attempt=job.attempts)
            if isinstance(job.payload, dict) and job.payload.get("request_id"):
                data["request_id"] = job.payload["request_id"]
        data.update(fields)
        self.log.log(level, "%s %s", event, " ".join(f"{k}={v}" for k, v in data.items()), extra=data)


_COUNTER_BY_STATUS = {
    JobStatus.COMPLETED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELLED: "cancelled",
    # PENDING after an attempt: either a retry after backoff or a release at shutdown.
    JobStatus.PENDING: "retried",
    JobStatus.RUNNING: "lost",
}


class _Held:
    """A job this worker runs: the scope to cancel it by, and when its lease was last renewed."""

    __slots__ = ("job", "lost", "renewed", "scope")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.scope: anyio.CancelScope | None = None
        self.renewed = time.monotonic()
        self.lost = False


class _Uncounted:
    """A worker nobody reads metrics from (one-shot runs, tests) counts nothing."""

    def count(self, counter: str, job_type: str, n: int = 1) -> None:
        return None

    def observe_duration(self, job_type: str, seconds: float) -> None:
        return None
