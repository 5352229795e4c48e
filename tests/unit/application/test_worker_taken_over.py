"""A worker paused past its lease (a starved machine, a stopped process) wakes up after another worker took its
job over: its late end is not stored, and what only the counted attempt may do (remove the job's uploads) is
done once, by the attempt that holds the job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import anyio
import pytest
from tests.jobs_support import FakeClock

from adapters.jobs.memory_queue import MemoryJobQueue
from adapters.worker_metrics import PrometheusWorkerMetrics
from application.job_registry import JobHandlers, ProgressReporter
from application.worker import Worker
from domain.jobs import Job, JobStatus

pytestmark = pytest.mark.anyio


class AnsweringQueue(MemoryJobQueue):
    """Records each worker's finish and whether the store took it."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.finishes: list[tuple[str, bool]] = []
        self.finished = anyio.Event()

    async def finish(self, job: Job, worker_id: str) -> bool:
        stored = await super().finish(job, worker_id)
        self.finishes.append((worker_id, stored))
        if worker_id == "first":
            self.finished.set()
        return stored


async def test_a_job_taken_over_from_a_paused_worker_ends_once_and_only_its_new_holder_runs_the_after_store_step(
) -> None:
    clock = FakeClock()
    queue = AnsweringQueue(clock)
    job = await queue.enqueue(Job.submit(uuid4(), "import", {}, clock.now()))
    paused = anyio.Event()
    wake_up = anyio.Event()
    after_store: list[tuple[str, UUID, int]] = []

    async def stalls_until_woken(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        paused.set()
        await wake_up.wait()
        return {"by": "first"}

    async def finishes(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        return {"by": "second"}

    def worker(name: str, handler: Any) -> Worker:
        return Worker(
            queue, JobHandlers({"import": handler}), name, clock=clock, lease=timedelta(seconds=30),
            maintenance_interval=60, metrics=PrometheusWorkerMetrics(),
            on_stored=lambda done: after_store.append((name, done.job_id, done.attempts)),
        )

    first = worker("first", stalls_until_woken)
    async with anyio.create_task_group() as group:
        group.start_soon(first.run)
        with anyio.fail_after(5):
            await paused.wait()
        clock.advance(31)  # no renewal reached the store for longer than the lease
        assert await queue.requeue_expired() == 1
        clock.advance(10)  # past the retry's backoff
        assert await worker("second", finishes).drain() == 1
        wake_up.set()  # the first worker carries on as if nothing happened
        with anyio.fail_after(5):
            await queue.finished.wait()
        first.stop()

    stored = await queue.get(job.job_id)
    assert stored is not None and stored.status is JobStatus.COMPLETED
    assert stored.attempts == 2 and stored.result == {"by": "second"}
    assert queue.finishes == [("second", True), ("first", False)]
    assert after_store == [("second", job.job_id, 2)]
    assert isinstance(first.metrics, PrometheusWorkerMetrics) and first.metrics.value("lost", "import") == 1
