"""Worker OS processes on one Postgres queue: no job lost or doubled, crashes and shutdowns handled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from tests.integration.jobs_worker_process import EXECUTIONS_DDL
from tests.jobs_support import fresh_postgres_database, truncate

from adapters.jobs.pg import asyncpg_dsn, init_connection
from adapters.jobs.postgres_queue import PostgresJobQueue
from domain.jobs import Job

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).with_name("jobs_worker_process.py")


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with fresh_postgres_database("stage1_workers") as url:
        asyncio.run(_execute(url, EXECUTIONS_DDL))
        yield url


@pytest.fixture
def url(pg_url: str) -> str:
    asyncio.run(truncate(pg_url))
    asyncio.run(_execute(pg_url, "TRUNCATE job_executions"))
    return pg_url


class WorkerProcess:
    def __init__(self, url: str, worker_id: str, **options: Any) -> None:
        args = [sys.executable, str(SCRIPT), url, worker_id]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        self.worker_id = worker_id
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "ready", f"worker did not start: {line}{self.proc.stdout.read()}"

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def workers() -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(url: str, worker_id: str, **options: Any) -> WorkerProcess:
        process = WorkerProcess(url, worker_id, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


async def _execute(url: str, sql: str, *args: Any) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


def fetch(url: str, sql: str, *args: Any) -> list[Any]:
    async def run() -> list[Any]:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        await init_connection(conn)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def enqueue(url: str, jobs: list[Job]) -> None:
    async def run() -> None:
        queue = await PostgresJobQueue.connect(url, max_size=1)
        try:
            for start in range(0, len(jobs), 1000):
                await queue.enqueue_many(jobs[start : start + 1000])
        finally:
            await queue.close()

    asyncio.run(run())


def new_job(type: str, **payload: Any) -> Job:
    return Job.submit(uuid4(), type, payload, datetime.now(UTC))


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def status_of(url: str, job_id: UUID) -> dict[str, Any]:
    return dict(fetch(url, "SELECT * FROM stage1_jobs WHERE job_id = $1", job_id)[0])


def test_two_worker_processes_complete_every_job_exactly_once(
    url: str, workers: Callable[..., WorkerProcess]
) -> None:
    first = workers(url, "stress-1", concurrency=8)
    second = workers(url, "stress-2", concurrency=8)
    jobs = [new_job("noop", i=i) for i in range(3000)]
    enqueue(url, jobs)

    wait_until(
        lambda: fetch(url, "SELECT count(*) FROM stage1_jobs WHERE status <> 'COMPLETED'")[0][0] == 0,
        timeout=180, what="3000 jobs to complete",
    )
    for process in (first, second):
        process.signal(signal.SIGTERM)
        code, output = process.wait(timeout=30)
        assert code == 0, output

    executions = fetch(url, "SELECT job_id, count(*) AS n FROM job_executions GROUP BY job_id")
    assert len(executions) == 3000
    assert {row["n"] for row in executions} == {1}, "a job ran more than once"
    rows = fetch(url, "SELECT status, attempts, count(*) AS n FROM stage1_jobs GROUP BY status, attempts")
    assert [(r["status"], r["attempts"], r["n"]) for r in rows] == [("COMPLETED", 1, 3000)]
    by_worker = dict(fetch(url, "SELECT worker_id, count(*) FROM job_executions GROUP BY worker_id"))
    assert set(by_worker) == {"stress-1", "stress-2"}, by_worker
    events = fetch(url, "SELECT count(*) FROM stage1_events WHERE type = 'job.updated'")[0][0]
    assert events == 3 * 3000  # PENDING, RUNNING, COMPLETED per job


def test_a_job_held_by_a_killed_worker_is_completed_by_another_after_its_lease(
    url: str, workers: Callable[..., WorkerProcess]
) -> None:
    doomed = workers(url, "doomed", concurrency=1, lease=2)
    job = new_job("hang")
    enqueue(url, [job])
    wait_until(lambda: bool(fetch(url, "SELECT 1 FROM job_executions")), timeout=10, what="the job to start")
    doomed.signal(signal.SIGKILL)
    doomed.proc.wait(timeout=10)
    killed_at = time.monotonic()
    assert status_of(url, job.job_id)["status"] == "RUNNING"

    workers(url, "rescuer", concurrency=1, lease=2)
    wait_until(lambda: status_of(url, job.job_id)["status"] == "COMPLETED", timeout=30, what="the rescue")
    # Two seconds of lease, then the first backoff of two seconds: not before.
    assert time.monotonic() - killed_at > 2
    done = status_of(url, job.job_id)
    assert done["attempts"] == 2 and done["result"] == {"worker": "rescuer"}
    runs = fetch(url, "SELECT worker_id, attempt FROM job_executions ORDER BY at")
    assert [(r["worker_id"], r["attempt"]) for r in runs] == [("doomed", 1), ("rescuer", 2)]


def test_sigterm_lets_a_job_in_hand_finish_within_the_grace_period(
    url: str, workers: Callable[..., WorkerProcess]
) -> None:
    worker = workers(url, "graceful", concurrency=2, grace=10)
    job = new_job("sleep", seconds=1.0)
    enqueue(url, [job])
    wait_until(lambda: bool(fetch(url, "SELECT 1 FROM job_executions")), timeout=10, what="the job to start")
    worker.signal(signal.SIGTERM)
    code, output = worker.wait(timeout=20)
    assert code == 0, output
    done = status_of(url, job.job_id)
    assert done["status"] == "COMPLETED" and done["attempts"] == 1


def test_sigterm_releases_a_job_that_outlasts_the_grace_period_to_another_worker(
    url: str, workers: Callable[..., WorkerProcess]
) -> None:
    worker = workers(url, "impatient", concurrency=1, grace=0.5)
    job = new_job("sleep", seconds=60, sleep_on=[1])
    enqueue(url, [job])
    wait_until(lambda: bool(fetch(url, "SELECT 1 FROM job_executions")), timeout=10, what="the job to start")
    stopped_at = time.monotonic()
    worker.signal(signal.SIGTERM)
    code, output = worker.wait(timeout=20)
    assert code == 0, output
    assert time.monotonic() - stopped_at < 10
    released = status_of(url, job.job_id)
    assert (released["status"], released["worker_id"], released["attempts"]) == ("PENDING", None, 1)

    workers(url, "next", concurrency=1)
    wait_until(lambda: status_of(url, job.job_id)["status"] == "COMPLETED", timeout=15, what="the next worker")
    assert status_of(url, job.job_id)["result"] == {"worker": "next"}
