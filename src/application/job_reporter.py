"""The progress reporter a worker hands each job's handler."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from application.job_registry import JobCancelled
from application.ports import Clock, JobQueue
from domain.jobs import Job


@dataclass(slots=True)
class JobReporter:
    """The handler's ProgressReporter: keeps the job's progress current in memory, writes it at most
    every `progress_interval` (and always when its total changes or it reaches the total), and turns a
    cancel into JobCancelled."""

    job: Job
    queue: JobQueue
    clock: Clock
    interval: timedelta
    worker_id: str
    log: logging.Logger
    _last_write: datetime | None = field(default=None, init=False)
    said_something: bool = field(default=False, init=False)

    async def report(self, progress: int, total: int | None = None, message: str | None = None) -> None:
        job = self.job
        self.said_something = self.said_something or message is not None
        if job.cancel_requested:
            raise JobCancelled(f"job {job.job_id} was cancelled")
        now = self.clock.now()
        known = job.total
        job.report_progress(progress, total if total is not None else job.total, message, now)
        final = job.total is not None and progress >= job.total
        # A total that is new (an import's rows counted, its write starting) is a step a client should see
        # at once, as is the end; the reports between them are rate-limited.
        news = job.total != known
        if not (final or news) and self._last_write is not None and now - self._last_write < self.interval:
            return
        self._last_write = now
        try:
            stop = await self.queue.progress(job.job_id, job.progress, job.total, job.message, self.worker_id)
        except Exception as exc:
            self.log.warning("progress write failed job_id=%s: %s", job.job_id, exc)
            return
        if stop:
            job.cancel_requested = True
            raise JobCancelled(f"job {job.job_id} was cancelled")
