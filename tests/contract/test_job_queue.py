"""The JobQueue contract, run against the memory, SQLite and Postgres queues."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import anyio
import pytest
from tests.jobs_backends import Backend
from tests.jobs_support import SystemClock, claim_one, fresh_postgres_database

from adapters.worker_metrics import PrometheusWorkerMetrics
from application.job_registry import JobHandlers, ProgressReporter
from application.worker import Worker
from domain.errors import InvalidTransition, NotFound
from domain.jobs import Job, JobStatus

pytestmark = pytest.mark.anyio

LEASE = timedelta(seconds=30)


@pytest.fixture(scope="module")
def jobs_pg_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


def now() -> datetime:
    return datetime.now(UTC)


def new_job(type: str = "noop", priority: int = 0, max_attempts: int = 3, **payload: object) -> Job:
    return Job.submit(uuid4(), type, dict(payload), now(), priority=priority, max_attempts=max_attempts)


async def test_an_enqueued_job_is_claimed_and_completed(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job(n=1))
    assert job.status is JobStatus.PENDING

    claimed = await claim_one(jobs.queue, "w1", ["noop"], LEASE)
    assert claimed is not None and claimed.job_id == job.job_id
    assert (claimed.status, claimed.worker_id, claimed.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert claimed.payload == {"n": 1}
    assert claimed.lease_expires_at is not None and claimed.started_at is not None

    claimed.complete({"rows": 3}, now())
    assert await jobs.queue.finish(claimed, "w1") is True

    stored = await jobs.queue.get(job.job_id)
    assert stored is not None
    assert (stored.status, stored.result, stored.worker_id) == (JobStatus.COMPLETED, {"rows": 3}, None)
    assert stored.completed_at is not None
    assert await claim_one(jobs.queue, "w1", ["noop"], LEASE) is None


async def test_higher_priority_is_claimed_first_then_the_oldest(jobs: Backend) -> None:
    low = new_job(name="low")
    await jobs.queue.enqueue(low)
    first_normal = new_job(priority=5, name="first")
    await jobs.queue.enqueue(first_normal)
    await anyio.sleep(0.002)
    second_normal = new_job(priority=5, name="second")
    await jobs.queue.enqueue(second_normal)
    urgent = new_job(priority=9, name="urgent")
    await jobs.queue.enqueue(urgent)

    order = [(await claim_one(jobs.queue, "w", None, LEASE)) for _ in range(4)]
    assert [j.payload["name"] for j in order if j is not None] == ["urgent", "first", "second", "low"]


async def test_a_batch_claim_takes_at_most_the_limit_in_priority_order(jobs: Backend) -> None:
    await jobs.queue.enqueue_many([new_job(priority=p, p=p) for p in range(6)])
    batch = await jobs.queue.claim_batch("w", None, LEASE, 4)
    assert [j.payload["p"] for j in batch] == [5, 4, 3, 2]
    assert all(j.status is JobStatus.RUNNING and j.worker_id == "w" for j in batch)


async def test_a_job_is_not_claimed_before_its_run_after(jobs: Backend) -> None:
    later = new_job(name="later")
    later.run_after = now() + timedelta(hours=1)
    await jobs.queue.enqueue(later)
    assert await claim_one(jobs.queue, "w", None, LEASE) is None

    due = new_job(name="due")
    due.run_after = now() - timedelta(seconds=1)
    await jobs.queue.enqueue(due)
    claimed = await claim_one(jobs.queue, "w", None, LEASE)
    assert claimed is not None and claimed.payload == {"name": "due"}


async def test_claims_only_take_the_requested_types(jobs: Backend) -> None:
    await jobs.queue.enqueue(new_job("questdb_import"))
    assert await claim_one(jobs.queue, "w", ["run_persist"], LEASE) is None
    claimed = await claim_one(jobs.queue, "w", ["run_persist", "questdb_import"], LEASE)
    assert claimed is not None and claimed.type == "questdb_import"


async def test_a_claimed_job_is_not_claimed_again(jobs: Backend) -> None:
    await jobs.queue.enqueue(new_job())
    assert await claim_one(jobs.queue, "w1", None, LEASE) is not None
    assert await claim_one(jobs.queue, "w2", None, LEASE) is None


async def test_concurrent_claimers_never_get_the_same_job(jobs: Backend) -> None:
    await jobs.queue.enqueue_many([new_job(i=i) for i in range(40)])
    other = await jobs.another_queue()
    got: list[Job] = []

    async def claimer(queue: object, name: str) -> None:
        while batch := await queue.claim_batch(name, None, LEASE, 3):  # type: ignore[attr-defined]
            got.extend(batch)

    async with anyio.create_task_group() as tg:
        for i in range(4):
            tg.start_soon(claimer, jobs.queue if i % 2 else other, f"w{i}")
    ids = [j.job_id for j in got]
    assert len(ids) == 40 and len(set(ids)) == 40


async def test_an_expired_lease_puts_the_job_back_for_another_worker(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    await claim_one(jobs.queue, "dead-worker", None, timedelta(milliseconds=50))
    await anyio.sleep(0.2)

    assert await jobs.queue.requeue_expired() == 1
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None
    assert (stored.status, stored.worker_id, stored.attempts) == (JobStatus.PENDING, None, 1)
    assert stored.error is not None and "lease expired" in stored.error
    # The lost attempt counts as a failure: it waits out the first backoff before the next try.
    assert stored.run_after is not None and stored.run_after > now() + timedelta(seconds=1)
    assert await jobs.queue.heartbeat(job.job_id, "dead-worker", LEASE) is False
    assert await jobs.queue.requeue_expired() == 0


async def test_an_expired_lease_on_the_last_attempt_fails_the_job(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job(max_attempts=1))
    await claim_one(jobs.queue, "dead-worker", None, timedelta(milliseconds=50))
    await anyio.sleep(0.2)
    assert await jobs.queue.requeue_expired() == 1
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.FAILED and stored.completed_at is not None


async def test_a_renewed_lease_does_not_expire(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    await claim_one(jobs.queue, "w", None, timedelta(milliseconds=300))
    for _ in range(3):
        await anyio.sleep(0.15)
        assert await jobs.queue.heartbeat(job.job_id, "w", timedelta(milliseconds=300)) is True
    assert await jobs.queue.requeue_expired() == 0
    assert await jobs.queue.heartbeat(job.job_id, "someone-else", LEASE) is False


async def test_cancelling_a_pending_job_cancels_it_at_once(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    cancelled = await jobs.queue.cancel(job.job_id)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.completed_at is not None
    assert await claim_one(jobs.queue, "w", None, LEASE) is None
    with pytest.raises(InvalidTransition):
        await jobs.queue.cancel(job.job_id)
    with pytest.raises(NotFound):
        await jobs.queue.cancel(uuid4())


async def test_cancelling_a_running_job_is_seen_at_its_next_progress_step(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    running = await claim_one(jobs.queue, "w", None, LEASE)
    assert running is not None
    assert await jobs.queue.progress(job.job_id, 1, 10, "step 1", "w") is False

    flagged = await jobs.queue.cancel(job.job_id)
    assert flagged.status is JobStatus.RUNNING and flagged.cancel_requested

    assert await jobs.queue.progress(job.job_id, 2, 10, "step 2", "w") is True
    running.cancel_requested = True
    running.acknowledge_cancel(now())
    assert await jobs.queue.finish(running, "w") is True
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.CANCELLED


async def test_a_cancel_asked_during_a_failing_attempt_is_not_lost_by_finish(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    running = await claim_one(jobs.queue, "w", None, LEASE)
    assert running is not None
    await jobs.queue.cancel(job.job_id)
    running.complete({}, now())
    assert await jobs.queue.finish(running, "w") is True
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED and stored.cancel_requested


async def test_progress_is_stored_and_answers_the_cancel_flag(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    await claim_one(jobs.queue, "w", None, LEASE)
    assert await jobs.queue.progress(job.job_id, 40, 100, "reading", "w") is False
    assert await jobs.queue.progress(job.job_id, 60, 100, None, "w") is False
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and (stored.progress, stored.total, stored.message) == (60, 100, "reading")
    # Someone else's progress on a job it does not hold is refused with "stop".
    assert await jobs.queue.progress(job.job_id, 99, 100, None, "intruder") is True


async def test_a_failed_attempt_goes_back_to_pending_after_a_backoff(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    running = await claim_one(jobs.queue, "w", None, LEASE)
    assert running is not None
    failed_at = now()
    running.fail("boom", failed_at)
    assert await jobs.queue.finish(running, "w") is True

    stored = await jobs.queue.get(job.job_id)
    assert stored is not None
    assert (stored.status, stored.error, stored.attempts, stored.worker_id) == (JobStatus.PENDING, "boom", 1, None)
    assert stored.run_after == failed_at + timedelta(seconds=2)
    assert await claim_one(jobs.queue, "w", None, LEASE) is None


async def test_the_last_failed_attempt_fails_the_job_and_retry_requeues_it(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job(max_attempts=1))
    running = await claim_one(jobs.queue, "w", None, LEASE)
    assert running is not None
    running.fail("boom", now())
    await jobs.queue.finish(running, "w")
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.FAILED

    retried = await jobs.queue.retry(job.job_id)
    assert (retried.status, retried.attempts, retried.error) == (JobStatus.PENDING, 0, None)
    again = await claim_one(jobs.queue, "w", None, LEASE)
    assert again is not None and again.job_id == job.job_id and again.attempts == 1
    with pytest.raises(InvalidTransition):
        await jobs.queue.retry(job.job_id)


async def test_finish_by_a_worker_that_lost_the_job_writes_nothing(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    stale = await claim_one(jobs.queue, "slow", None, timedelta(milliseconds=50))
    assert stale is not None
    await anyio.sleep(0.2)
    await jobs.queue.requeue_expired()
    pending = await jobs.queue.get(job.job_id)
    assert pending is not None and pending.status is JobStatus.PENDING

    stale.complete({"late": True}, now())
    assert await jobs.queue.finish(stale, "slow") is False
    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.PENDING and stored.result is None


async def test_a_release_gives_the_job_back_at_once(jobs: Backend) -> None:
    job = await jobs.queue.enqueue(new_job())
    running = await claim_one(jobs.queue, "stopping", None, LEASE)
    assert running is not None
    running.release(now())
    assert await jobs.queue.finish(running, "stopping") is True
    again = await claim_one(jobs.queue, "other", None, LEASE)
    assert again is not None and again.job_id == job.job_id and again.attempts == 2


async def test_the_same_idempotency_key_returns_the_first_job(jobs: Backend) -> None:
    first = await jobs.queue.enqueue(new_job(n=1), idempotency_key="import-42")
    second = await jobs.queue.enqueue(new_job(n=2), idempotency_key="import-42")
    assert second.job_id == first.job_id and second.payload == {"n": 1}
    assert await claim_one(jobs.queue, "w", None, LEASE) is not None
    assert await claim_one(jobs.queue, "w", None, LEASE) is None


async def test_a_waiting_worker_is_woken_by_enqueue_in_well_under_a_second(jobs: Backend) -> None:
    producer = await jobs.another_queue()
    assert await claim_one(jobs.queue, "w", None, LEASE) is None
    await jobs.queue.wait_for_work(0.05)  # the first wait may return at once (it starts listening)
    assert await claim_one(jobs.queue, "w", None, LEASE) is None

    woke_at: list[float] = []

    async def wait() -> None:
        await jobs.queue.wait_for_work(5.0)
        woke_at.append(time.perf_counter())

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.sleep(0.2)
        assert not woke_at, "the worker should still be waiting"
        enqueued_at = time.perf_counter()
        await producer.enqueue(new_job())
    assert woke_at[0] - enqueued_at < 0.5
    assert await claim_one(jobs.queue, "w", None, LEASE) is not None


async def test_a_waiting_worker_wakes_when_a_backed_off_job_becomes_due(jobs: Backend) -> None:
    assert await claim_one(jobs.queue, "w", None, LEASE) is None
    await jobs.queue.wait_for_work(0.05)
    assert await claim_one(jobs.queue, "w", None, LEASE) is None
    soon = new_job()
    soon.run_after = now() + timedelta(milliseconds=400)
    await jobs.queue.enqueue(soon)
    assert await claim_one(jobs.queue, "w", None, LEASE) is None

    started = time.perf_counter()
    waited = 0.0
    while (claimed := await claim_one(jobs.queue, "w", None, LEASE)) is None and waited < 5:
        await jobs.queue.wait_for_work(5.0)
        waited = time.perf_counter() - started
    assert claimed is not None and claimed.job_id == soon.job_id
    assert 0.2 < time.perf_counter() - started < 1.5


async def _until(check: object, timeout: float = 10.0) -> None:
    with anyio.fail_after(timeout):
        while True:
            if await check():  # type: ignore[operator]
                return
            await anyio.sleep(0.02)


async def test_a_worker_runs_jobs_end_to_end_on_this_queue(jobs: Backend) -> None:
    handlers = JobHandlers()

    @handlers.register("noop")
    async def handle(job: Job, progress: ProgressReporter) -> dict[str, object]:
        for step in range(1, 4):
            await progress.report(step, 3, f"step {step}")
        return {"n": job.payload["i"]}

    worker = Worker(jobs.queue, handlers, "e2e", clock=SystemClock(), concurrency=4, idle_poll=0.5)
    submitted = [await jobs.queue.enqueue(new_job(i=i)) for i in range(20)]

    async def all_done() -> bool:
        stored = [await jobs.queue.get(j.job_id) for j in submitted]
        return all(s is not None and s.status is JobStatus.COMPLETED for s in stored)

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await _until(all_done)
        worker.stop()
    for i, job in enumerate(submitted):
        stored = await jobs.queue.get(job.job_id)
        assert stored is not None
        assert (stored.result, stored.progress, stored.total, stored.attempts) == ({"n": i}, 3, 3, 1)


async def test_a_running_job_cancelled_through_the_queue_stops_end_to_end(jobs: Backend) -> None:
    started = anyio.Event()

    async def long_running(job: Job, progress: ProgressReporter) -> dict[str, object]:
        for step in range(10_000):
            started.set()
            await progress.report(step, 10_000)
            await anyio.sleep(0.01)
        return {}

    metrics = PrometheusWorkerMetrics()
    worker = Worker(
        jobs.queue, JobHandlers({"noop": long_running}), "e2e", clock=SystemClock(), idle_poll=0.5, metrics=metrics
    )
    job = await jobs.queue.enqueue(new_job())

    async def cancelled() -> bool:
        stored = await jobs.queue.get(job.job_id)
        return stored is not None and stored.status is JobStatus.CANCELLED

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await started.wait()
        await jobs.queue.cancel(job.job_id)
        await _until(cancelled, timeout=5)
        worker.stop()
    assert metrics.value("cancelled", "noop") == 1


class _Paused:
    """A worker's view of the queue while its process is paused (a starved machine, a stopped process): its lease
    renewals never reach the store. Everything else goes through, so the worker carries on once woken."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self.finished: list[bool] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)

    async def heartbeat(self, job_id: Any, worker_id: str, lease: timedelta) -> bool:
        await anyio.sleep_forever()
        return False

    async def finish(self, job: Job, worker_id: str) -> bool:
        stored: bool = await self._queue.finish(job, worker_id)
        self.finished.append(stored)
        return stored


async def test_a_job_taken_over_from_a_paused_worker_ends_once_with_its_new_holders_result(jobs: Backend) -> None:
    paused, wake_up = anyio.Event(), anyio.Event()
    after_store: list[tuple[str, int]] = []

    async def stalls(job: Job, progress: ProgressReporter) -> dict[str, object]:
        paused.set()
        await wake_up.wait()
        return {"by": "first"}

    async def finishes(job: Job, progress: ProgressReporter) -> dict[str, object]:
        return {"by": "second"}

    def worker(queue: Any, name: str, handler: Any) -> Worker:
        # One job at a time: the paused worker does not claim the job back itself once it is due again.
        return Worker(queue, JobHandlers({"noop": handler}), name, clock=SystemClock(), idle_poll=0.5, concurrency=1,
                      lease=timedelta(milliseconds=300), maintenance_interval=60,
                      on_stored=lambda done: after_store.append((name, done.attempts)))

    job = await jobs.queue.enqueue(new_job())
    first_view = _Paused(jobs.queue)
    first = worker(first_view, "first", stalls)
    async with anyio.create_task_group() as tg:
        tg.start_soon(first.run)
        with anyio.fail_after(10):
            await paused.wait()
        await anyio.sleep(0.5)  # the lease lapses: no renewal reached the store
        other = await jobs.another_queue()
        assert await other.requeue_expired() == 1
        await anyio.sleep(2.1)  # the lost attempt counts as a failure: the first backoff, then it is due
        assert await worker(other, "second", finishes).drain() == 1
        wake_up.set()  # the first worker finishes as if nothing had happened
        await _until(lambda: _true(bool(first_view.finished)))
        first.stop()

    stored = await jobs.queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert (stored.attempts, stored.result) == (2, {"by": "second"})
    assert first_view.finished == [False]
    assert after_store == [("second", 2)]


async def _true(value: bool) -> bool:
    return value
