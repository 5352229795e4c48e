"""The worker runtime over the in-memory queue, with a fake clock where time matters."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import anyio
import pytest
from tests.jobs_support import FakeClock

from adapters.jobs.memory_queue import MemoryJobQueue
from adapters.worker_metrics import PrometheusWorkerMetrics
from application.job_registry import JobCancelled, JobHandlers, ProgressReporter
from application.worker import Worker
from domain.errors import InvalidInput, StoreUnavailable
from domain.jobs import Job, JobStatus

pytestmark = pytest.mark.anyio


class CountingQueue(MemoryJobQueue):
    """Counts the progress writes that reach the store."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.progress_writes: list[tuple[int, int | None]] = []

    async def progress(
        self, job_id: UUID, progress: int, total: int | None, message: str | None,
        worker_id: str | None = None,
    ) -> bool:
        self.progress_writes.append((progress, total))
        return await super().progress(job_id, progress, total, message, worker_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(clock: FakeClock) -> CountingQueue:
    return CountingQueue(clock)


def make_worker(queue: MemoryJobQueue, handlers: JobHandlers, clock: FakeClock, **options: Any) -> Worker:
    options.setdefault("metrics", PrometheusWorkerMetrics())
    return Worker(queue, handlers, "worker-1", clock=clock, **options)


async def submit(queue: MemoryJobQueue, clock: FakeClock, type: str = "noop", **options: Any) -> Job:
    return await queue.enqueue(Job.submit(uuid4(), type, {}, clock.now(), **options))


async def stored(queue: MemoryJobQueue, job: Job) -> Job:
    found = await queue.get(job.job_id)
    assert found is not None
    return found


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 3.0) -> None:
    with anyio.fail_after(timeout):
        while True:
            outcome = check()
            if outcome if isinstance(outcome, bool) else await outcome:
                return
            await anyio.sleep(0.005)


async def all_completed(queue: MemoryJobQueue, jobs: list[Job]) -> bool:
    return [(await stored(queue, j)).status for j in jobs] == [JobStatus.COMPLETED] * len(jobs)


async def test_a_handler_result_completes_the_job(queue: CountingQueue, clock: FakeClock) -> None:
    handlers = JobHandlers()

    @handlers.register("noop")
    async def handle(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await progress.report(5, 5, "done")
        return {"echo": job.job_id.hex}

    job = await submit(queue, clock)
    worker = make_worker(queue, handlers, clock)
    assert await worker.drain() == 1
    done = await stored(queue, job)
    assert (done.status, done.result, done.progress, done.total) == (
        JobStatus.COMPLETED, {"echo": job.job_id.hex}, 5, 5,
    )
    assert worker.metrics.value("completed", "noop") == 1


async def test_an_attempt_that_found_a_store_unreachable_waits_the_outage_delay_so_its_attempts_outlast_a_restart(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def store_down(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        raise StoreUnavailable("QuestDB is unreachable")

    job = await submit(queue, clock, max_attempts=3)
    worker = make_worker(queue, JobHandlers({"noop": store_down}), clock, outage_backoff=timedelta(seconds=10))

    assert await worker.drain() == 1
    first = await stored(queue, job)
    assert first.status is JobStatus.PENDING and first.run_after == clock.now() + timedelta(seconds=10)
    clock.advance(9.9)
    assert await worker.drain() == 0, "not retried while the store may still be restarting"
    clock.advance(0.1)
    assert await worker.drain() == 1
    second = await stored(queue, job)
    assert second.status is JobStatus.PENDING and second.run_after == clock.now() + timedelta(seconds=20)
    clock.advance(20)
    assert await worker.drain() == 1
    assert (await stored(queue, job)).status is JobStatus.FAILED


async def test_a_failing_handler_is_retried_with_exponential_backoff_then_fails(
    queue: CountingQueue, clock: FakeClock
) -> None:
    calls = 0

    async def always_fails(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise RuntimeError(f"upstream down ({calls})")

    job = await submit(queue, clock, max_attempts=3)
    worker = make_worker(queue, JobHandlers({"noop": always_fails}), clock)
    start = clock.now()

    assert await worker.drain() == 1
    first = await stored(queue, job)
    assert (first.status, first.attempts, first.error) == (JobStatus.PENDING, 1, "RuntimeError: upstream down (1)")
    assert first.run_after == start + timedelta(seconds=2)

    clock.advance(1.9)
    assert await worker.drain() == 0, "not due before its backoff ends"
    clock.advance(0.1)
    assert await worker.drain() == 1
    second = await stored(queue, job)
    assert second.status is JobStatus.PENDING and second.attempts == 2
    assert second.run_after == clock.now() + timedelta(seconds=4)

    clock.advance(4)
    assert await worker.drain() == 1
    last = await stored(queue, job)
    assert (last.status, last.attempts, last.error) == (JobStatus.FAILED, 3, "RuntimeError: upstream down (3)")
    assert worker.metrics.value("retried", "noop") == 2
    assert worker.metrics.value("failed", "noop") == 1


async def test_invalid_input_fails_the_job_at_once(queue: CountingQueue, clock: FakeClock) -> None:
    async def rejects(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        raise InvalidInput("missing columns: close", {"missing": ["close"]})

    job = await submit(queue, clock, max_attempts=5)
    await make_worker(queue, JobHandlers({"noop": rejects}), clock).drain()
    failed = await stored(queue, job)
    assert (failed.status, failed.attempts, failed.error) == (JobStatus.FAILED, 1, "missing columns: close")


async def test_a_job_of_an_unknown_type_fails_at_once(queue: CountingQueue, clock: FakeClock) -> None:
    job = await submit(queue, clock, type="mystery")
    await make_worker(queue, JobHandlers(), clock).drain()
    failed = await stored(queue, job)
    assert failed.status is JobStatus.FAILED
    assert failed.error == "no handler for job type 'mystery'"


async def test_a_worker_limited_to_some_types_leaves_the_others_alone(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    other = await submit(queue, clock, type="questdb_import")
    mine = await submit(queue, clock, type="noop")
    await make_worker(queue, JobHandlers({"noop": ok}), clock, types=["noop"]).drain()
    assert (await stored(queue, mine)).status is JobStatus.COMPLETED
    assert (await stored(queue, other)).status is JobStatus.PENDING


async def test_a_cancelled_running_job_stops_at_its_next_progress_report(
    queue: CountingQueue, clock: FakeClock
) -> None:
    reached = 0

    async def long_job(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        nonlocal reached
        for step in range(1, 101):
            clock.advance(1)
            await progress.report(step, 100)
            reached = step
            if step == 3:
                await queue.cancel(job.job_id)
        return {}

    job = await submit(queue, clock)
    worker = make_worker(queue, JobHandlers({"noop": long_job}), clock)
    await worker.drain()
    cancelled = await stored(queue, job)
    assert cancelled.status is JobStatus.CANCELLED
    # report(4) is where the cancel is seen: the handler never gets past it.
    assert reached == 3 and cancelled.progress == 4
    assert worker.metrics.value("cancelled", "noop") == 1


async def test_a_handler_may_raise_job_cancelled_itself(queue: CountingQueue, clock: FakeClock) -> None:
    async def gives_up(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        raise JobCancelled("nothing to do")

    job = await submit(queue, clock)
    await make_worker(queue, JobHandlers({"noop": gives_up}), clock).drain()
    assert (await stored(queue, job)).status is JobStatus.CANCELLED


async def test_a_failure_after_a_cancel_request_ends_cancelled_not_retried(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def cancelled_then_crashes(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await queue.cancel(job.job_id)
        raise RuntimeError("crashed while being cancelled")

    job = await submit(queue, clock)
    await make_worker(queue, JobHandlers({"noop": cancelled_then_crashes}), clock).drain()
    assert (await stored(queue, job)).status is JobStatus.CANCELLED


async def test_progress_writes_are_rate_limited_but_the_final_one_is_kept(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def chatty(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        for step in range(1, 1001):
            clock.advance(0.001)  # 1 s in all: about four writes at 250 ms, plus the first and the last
            await progress.report(step, 1000, f"row {step}")
        return {}

    job = await submit(queue, clock)
    await make_worker(queue, JobHandlers({"noop": chatty}), clock).drain()
    writes = queue.progress_writes
    assert writes[0] == (1, 1000) and writes[-1] == (1000, 1000)
    assert 4 <= len(writes) <= 7
    done = await stored(queue, job)
    assert (done.progress, done.message) == (1000, "row 1000")


async def test_a_total_that_becomes_known_is_written_at_once_within_the_rate_limit(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def counts_then_writes(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await progress.report(500, None, "500 rows checked")
        await progress.report(1000, None, "1,000 rows checked")  # rate-limited
        await progress.report(0, 1000, "0 of 1,000 rows written")  # the total is new: written at once
        await progress.report(10, 1000, "10 of 1,000 rows written")  # rate-limited again
        return {}

    await submit(queue, clock)
    await make_worker(queue, JobHandlers({"noop": counts_then_writes}), clock).drain()
    assert queue.progress_writes == [(500, None), (0, 1000)]


async def test_the_latest_progress_is_stored_with_the_result_even_when_not_yet_written(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def quick(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await progress.report(1, None, "first")
        await progress.report(2, None, "second")  # rate-limited, never written on its own
        return {}

    job = await submit(queue, clock)
    await make_worker(queue, JobHandlers({"noop": quick}), clock).drain()
    assert queue.progress_writes == [(1, None)]
    done = await stored(queue, job)
    assert (done.progress, done.message) == (2, "second")


async def test_concurrency_bounds_the_jobs_in_flight(queue: CountingQueue, clock: FakeClock) -> None:
    running = peak = 0
    release = anyio.Event()

    async def blocking(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1
        return {}

    jobs = [await submit(queue, clock) for _ in range(5)]
    worker = make_worker(queue, JobHandlers({"noop": blocking}), clock, concurrency=2)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await eventually(lambda: peak >= 2)
        await anyio.sleep(0.05)
        assert running == 2
        release.set()
        await eventually(lambda: all_completed(queue, jobs))
        worker.stop()
    assert peak == 2


class StallingStores(CountingQueue):
    """A store whose job-end writes wait until released (a slow or locked database)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.stores_open = anyio.Event()

    async def finish(self, job: Job, worker_id: str) -> bool:
        await self.stores_open.wait()
        return await super().finish(job, worker_id)


async def test_a_worker_whose_stores_fall_behind_stops_claiming_at_twice_its_concurrency(clock: FakeClock) -> None:
    queue = StallingStores(clock)
    jobs = [await submit(queue, clock) for _ in range(30)]
    worker = make_worker(queue, JobHandlers({"noop": lambda job, progress: _nothing()}), clock, concurrency=3)

    async def claimed() -> int:
        return sum([(await stored(queue, job)).status is not JobStatus.PENDING for job in jobs])

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        try:
            await eventually(lambda: _at_least(claimed, 6))
            await anyio.sleep(0.1)
            assert await claimed() == 6  # three whose end waits, three more whose handlers ran: no more
        finally:
            queue.stores_open.set()  # a failure above must not leave the worker's shielded stores waiting
        await eventually(lambda: all_completed(queue, jobs))
        worker.stop()


async def _nothing() -> dict[str, Any]:
    return {}


async def _at_least(count: Callable[[], Awaitable[int]], wanted: int) -> bool:
    return await count() >= wanted


@pytest.fixture
async def running_worker(queue: CountingQueue, clock: FakeClock) -> AsyncIterator[tuple[Worker, JobHandlers]]:
    handlers = JobHandlers()
    worker = make_worker(queue, handlers, clock, grace=0.3, idle_poll=5.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        yield worker, handlers
        worker.stop()


async def test_a_running_worker_picks_up_a_job_enqueued_while_it_waits(
    queue: CountingQueue, clock: FakeClock, running_worker: tuple[Worker, JobHandlers]
) -> None:
    _, handlers = running_worker

    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {"ok": True}

    handlers.add("noop", ok)
    await anyio.sleep(0.05)
    job = await submit(queue, clock)
    await eventually(lambda: all_completed(queue, [job]), timeout=1.0)


async def test_stop_lets_a_job_in_hand_finish_within_the_grace_period(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def short(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await anyio.sleep(0.1)
        return {"finished": True}

    job = await submit(queue, clock)
    worker = make_worker(queue, JobHandlers({"noop": short}), clock, grace=2.0)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await eventually(lambda: worker.in_hand > 0)
        worker.stop()
    assert (await stored(queue, job)).status is JobStatus.COMPLETED


async def test_stop_releases_a_job_that_outlasts_the_grace_period(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def endless(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await anyio.sleep_forever()
        return {}

    job = await submit(queue, clock)
    worker = make_worker(queue, JobHandlers({"noop": endless}), clock, grace=0.1)
    with anyio.fail_after(3):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run)
            await eventually(lambda: worker.in_hand > 0)
            worker.stop()
    released = await stored(queue, job)
    assert (released.status, released.worker_id, released.attempts) == (JobStatus.PENDING, None, 1)
    assert released.run_after == clock.now()
    assert worker.metrics.value("released", "noop") == 1


async def test_a_worker_that_lost_its_lease_abandons_the_job_without_writing(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def slow(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await anyio.sleep_forever()
        return {}

    job = await submit(queue, clock)
    worker = make_worker(
        queue, JobHandlers({"noop": slow}), clock, lease=timedelta(milliseconds=150), maintenance_interval=60
    )
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await eventually(lambda: worker.in_hand > 0)
        clock.advance(10)  # the lease is long gone in queue time; someone else's requeue sees it
        assert await queue.requeue_expired() == 1
        await eventually(lambda: worker.in_hand == 0)
        worker.stop()
    after = await stored(queue, job)
    assert after.status is JobStatus.PENDING and after.error is not None and "lease expired" in after.error
    assert worker.metrics.value("lost", "noop") == 1


async def test_job_logs_carry_the_job_id_type_attempt_and_duration(
    queue: CountingQueue, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    job = await submit(queue, clock)
    with caplog.at_level(logging.INFO, logger="stage1.worker"):
        await make_worker(queue, JobHandlers({"noop": ok}), clock).drain()
    ended = [r for r in caplog.records if r.getMessage().startswith("job attempt ended")]
    assert len(ended) == 1
    record = ended[0]
    assert record.__dict__["job_id"] == str(job.job_id)
    assert (record.__dict__["type"], record.__dict__["attempt"]) == ("noop", 1)
    assert record.__dict__["duration_ms"] >= 0
    assert f"job_id={job.job_id}" in record.getMessage()


async def test_metrics_render_as_prometheus_text(queue: CountingQueue, clock: FakeClock) -> None:
    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    await submit(queue, clock)
    worker = make_worker(queue, JobHandlers({"noop": ok}), clock)
    await worker.drain()
    text = worker.metrics.render()
    assert "# TYPE stage1_jobs_completed_total counter" in text
    assert 'stage1_jobs_completed_total{type="noop"} 1' in text
    assert 'stage1_jobs_claimed_total{type="noop"} 1' in text
    assert 'stage1_jobs_duration_seconds_bucket{le="+Inf",type="noop"} 1' in text
    assert 'stage1_jobs_duration_seconds_count{type="noop"} 1' in text


def test_a_handler_type_is_registered_once() -> None:
    handlers = JobHandlers()

    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    handlers.add("noop", ok)
    with pytest.raises(ValueError, match="already registered"):
        handlers.add("noop", ok)
    assert list(handlers) == ["noop"] and handlers["noop"] is ok


class FlakyQueue(CountingQueue):
    """The store is down for the first claims and waits, then comes back."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.claim_failures = 2
        self.wait_failures = 1

    async def claim_batch(
        self, worker_id: str, types: Sequence[str] | None, lease: timedelta, limit: int
    ) -> list[Job]:
        if self.claim_failures:
            self.claim_failures -= 1
            raise StoreUnavailable("database restarting")
        return await super().claim_batch(worker_id, types, lease, limit)

    async def wait_for_work(self, timeout: float) -> None:
        if self.wait_failures:
            self.wait_failures -= 1
            raise StoreUnavailable("listener connection lost")
        await super().wait_for_work(timeout)


async def test_a_worker_rides_out_an_unreachable_store(clock: FakeClock) -> None:
    queue = FlakyQueue(clock)

    async def ok(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    worker = make_worker(queue, JobHandlers({"noop": ok}), clock, error_pause=0.01)
    async with anyio.create_task_group() as tg:
        tg.start_soon(worker.run)
        await eventually(lambda: queue.claim_failures == 0 and queue.wait_failures == 0)
        job = await submit(queue, clock)
        await eventually(lambda: all_completed(queue, [job]))
        worker.stop()


async def test_a_finished_import_says_how_many_rows_went_where_not_that_it_is_queued(
    queue: CountingQueue, clock: FakeClock
) -> None:
    from application.timeseries import ImportReport
    from entrypoints.worker_jobs import summaries

    async def imports(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await progress.report(5000, 5000, "5000 of 5000 rows written")
        return ImportReport("m", 5000, 1, 2, 3).as_dict()

    job = await submit(queue, clock, "questdb_import", message="questdb_import queued")
    handlers = JobHandlers({"questdb_import": imports})
    await make_worker(queue, handlers, clock, summaries=summaries()).drain()
    done = await stored(queue, job)
    assert (done.status, done.message) == (JobStatus.COMPLETED, "imported 5000 rows into m")


async def test_a_job_whose_handler_said_nothing_ends_completed_not_queued(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def silent(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {}

    job = await submit(queue, clock, message="noop queued")
    await make_worker(queue, JobHandlers({"noop": silent}), clock).drain()
    assert (await stored(queue, job)).message == "completed"


async def test_a_failed_job_says_it_failed_and_why_and_a_retry_says_it_will_retry(
    queue: CountingQueue, clock: FakeClock
) -> None:
    async def crashes(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        raise RuntimeError("disk full")

    retried = await submit(queue, clock, message="noop queued", max_attempts=2)
    await make_worker(queue, JobHandlers({"noop": crashes}), clock).drain()
    assert (await stored(queue, retried)).message == "attempt 1 of 2 failed, retrying: RuntimeError: disk full"

    async def refuses(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        raise InvalidInput("column `close` is missing")

    clock.advance(60)
    await make_worker(queue, JobHandlers({"noop": refuses}), clock).drain()
    failed = await stored(queue, retried)
    assert (failed.status, failed.message) == (JobStatus.FAILED, "failed: column `close` is missing")


async def test_a_cancelled_job_says_cancelled(queue: CountingQueue, clock: FakeClock) -> None:
    job = await submit(queue, clock, message="noop queued")
    await queue.cancel(job.job_id)
    assert (await stored(queue, job)).message == "cancelled"
