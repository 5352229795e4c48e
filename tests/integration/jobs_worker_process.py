"""A worker OS process for the integration tests: the real Worker on the real Postgres queue.

    python jobs_worker_process.py URL WORKER_ID [--concurrency N] [--lease S] [--grace S]

Handlers (job type -> behaviour), each recording every execution in `job_executions`:
  noop   returns at once
  sleep  sleeps payload["seconds"] (only on attempts listed in payload["sleep_on"], if given), then returns
  hang   on attempt 1 hangs forever (the test kills the process); later attempts return
SIGTERM stops the worker gracefully. Prints "ready" once it listens for work.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from adapters.jobs.pg import asyncpg_dsn
from adapters.jobs.postgres_queue import PostgresJobQueue
from application.job_registry import JobHandlers, ProgressReporter
from application.worker import Worker
from domain.jobs import Job

EXECUTIONS_DDL = """
CREATE TABLE IF NOT EXISTS job_executions (
    job_id uuid NOT NULL, worker_id text NOT NULL, attempt int NOT NULL, at timestamptz NOT NULL DEFAULT now()
)
"""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def main(args: argparse.Namespace) -> None:
    queue = await PostgresJobQueue.connect(args.url, max_size=args.concurrency + 2)
    pool = await asyncpg.create_pool(asyncpg_dsn(args.url), min_size=1, max_size=args.concurrency)
    assert pool is not None

    async def record(job: Job) -> None:
        await pool.execute(
            "INSERT INTO job_executions (job_id, worker_id, attempt) VALUES ($1, $2, $3)",
            job.job_id, args.worker_id, job.attempts,
        )

    handlers = JobHandlers()

    @handlers.register("noop")
    async def noop(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await record(job)
        return {"worker": args.worker_id}

    @handlers.register("sleep")
    async def sleep(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await record(job)
        sleep_on = job.payload.get("sleep_on")
        if sleep_on is None or job.attempts in sleep_on:
            await asyncio.sleep(float(job.payload["seconds"]))
        return {"worker": args.worker_id}

    @handlers.register("hang")
    async def hang(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        await record(job)
        if job.attempts == 1:
            await asyncio.Event().wait()
        return {"worker": args.worker_id}

    worker = Worker(
        queue, handlers, args.worker_id, clock=SystemClock(), concurrency=args.concurrency,
        lease=timedelta(seconds=args.lease), grace=args.grace, maintenance_interval=args.lease / 2,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
    await queue.wait_for_work(0)  # opens the LISTEN connection before saying ready
    print("ready", flush=True)
    try:
        await worker.run()
    finally:
        await pool.close()
        await queue.close()
    print("stopped", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("worker_id")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--log-level", default="WARNING")
    parsed = parser.parse_args()
    logging.basicConfig(level=parsed.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(main(parsed))
