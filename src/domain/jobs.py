"""Jobs: long work done by a worker, with a status machine that never loses or doubles a job."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.errors import InvalidTransition


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobType(StrEnum):
    QUESTDB_IMPORT = "questdb_import"
    DATASET_EXPORT = "dataset_export"
    RUN_PERSIST = "run_persist"
    SIMULATION_PERSIST = "simulation_persist"
    # Drops the measurements of deleted records; queued in the delete's own transaction.
    MEASUREMENT_DROP = "measurement_drop"
    NOOP = "noop"


BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=5)
# After an attempt that found a store unreachable: retrying at once only spends the attempts while the store
# restarts, so the first retry waits this long (then twice as long): 3 attempts ride out about 30 s.
OUTAGE_BACKOFF_BASE = timedelta(seconds=10)


def backoff(attempt: int, base: timedelta = BACKOFF_BASE) -> timedelta:
    """Exponential delay before attempt `attempt + 1`: base, 2 x base, 4 x base, ... capped at 5 minutes."""
    exponent = min(max(attempt - 1, 0), 16)
    return min(base * (1 << exponent), BACKOFF_CAP)


@dataclass(slots=True)
class Job:
    job_id: UUID
    type: str
    status: JobStatus
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    progress: int = 0
    total: int | None = None
    message: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    max_attempts: int = 3
    priority: int = 0
    worker_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    run_after: datetime | None = None
    lease_expires_at: datetime | None = None
    cancel_requested: bool = False

    @classmethod
    def submit(
        cls,
        job_id: UUID,
        type: str,
        payload: dict[str, Any],
        now: datetime,
        priority: int = 0,
        max_attempts: int = 3,
        message: str | None = None,
    ) -> Job:
        return cls(
            job_id=job_id,
            type=type,
            status=JobStatus.PENDING,
            created_at=now,
            updated_at=now,
            payload=payload,
            priority=priority,
            max_attempts=max_attempts,
            message=message,
            run_after=now,
        )

    def claim(self, worker_id: str, now: datetime, lease: timedelta) -> None:
        self._require(JobStatus.PENDING, "claim")
        self.status = JobStatus.RUNNING
        self.worker_id = worker_id
        self.attempts += 1
        self.started_at = now
        self.lease_expires_at = now + lease
        self.updated_at = now

    def heartbeat(self, now: datetime, lease: timedelta) -> None:
        self._require(JobStatus.RUNNING, "renew the lease of")
        self.lease_expires_at = now + lease
        self.updated_at = now

    def report_progress(self, progress: int, total: int | None, message: str | None, now: datetime) -> None:
        self._require(JobStatus.RUNNING, "report progress on")
        self.progress, self.total = progress, total
        if message is not None:
            self.message = message
        self.updated_at = now

    def complete(self, result: dict[str, Any], now: datetime, message: str | None = None) -> None:
        """`message` says what happened; without one, the handler's last progress message stays."""
        self._require(JobStatus.RUNNING, "complete")
        self.status = JobStatus.COMPLETED
        self.result, self.error = result, None
        if message is not None:
            self.message = message
        if self.total is not None:
            self.progress = self.total
        self._finish(now)

    def fail(
        self, error: str, now: datetime, retryable: bool = True, backoff_base: timedelta = BACKOFF_BASE
    ) -> None:
        """A failed attempt: back to PENDING after a backoff while attempts remain, else FAILED."""
        self._require(JobStatus.RUNNING, "fail")
        self.error = error
        if retryable and self.attempts < self.max_attempts and not self.cancel_requested:
            self.status = JobStatus.PENDING
            self.run_after = now + backoff(self.attempts, backoff_base)
            self.message = f"attempt {self.attempts} of {self.max_attempts} failed, retrying: {error}"
            self.worker_id = None
            self.lease_expires_at = None
            self.updated_at = now
            return
        self.status = JobStatus.CANCELLED if self.cancel_requested else JobStatus.FAILED
        self.message = "cancelled" if self.cancel_requested else f"failed: {error}"
        self._finish(now)

    def cancel(self, now: datetime) -> None:
        """A pending job stops at once; a running one at its next progress step."""
        if self.status is JobStatus.PENDING:
            self.status = JobStatus.CANCELLED
            self.cancel_requested = True
            self.message = "cancelled"
            self._finish(now)
        elif self.status is JobStatus.RUNNING:
            self.cancel_requested = True
            self.updated_at = now
        else:
            raise InvalidTransition(f"a {self.status.value} job cannot be cancelled", {"status": self.status.value})

    def acknowledge_cancel(self, now: datetime) -> None:
        self._require(JobStatus.RUNNING, "cancel")
        self.status = JobStatus.CANCELLED
        self.message = "cancelled"
        self._finish(now)

    def retry(self, now: datetime) -> None:
        if self.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
            raise InvalidTransition(
                f"only a FAILED or CANCELLED job can be retried, this one is {self.status.value}",
                {"status": self.status.value},
            )
        self.status = JobStatus.PENDING
        self.attempts = 0
        self.error = None
        self.message = "queued again"
        self.cancel_requested = False
        self.completed_at = None
        self.worker_id = None
        self.progress = 0
        self.run_after = now
        self.updated_at = now

    def release(self, now: datetime) -> None:
        """Give a running job back untouched (worker shutting down, or its lease expired)."""
        self._require(JobStatus.RUNNING, "release")
        self.status = JobStatus.PENDING
        self.worker_id = None
        self.lease_expires_at = None
        self.run_after = now
        self.updated_at = now

    def require_finished(self, action: str) -> None:
        """Only a job nobody runs or will run any more may be deleted or pruned."""
        if not self.status.finished:
            raise InvalidTransition(
                f"cannot {action} a {self.status.value} job; cancel it first", {"status": self.status.value}
            )

    def lease_expired(self, now: datetime) -> bool:
        return self.status is JobStatus.RUNNING and self.lease_expires_at is not None and self.lease_expires_at < now

    def _finish(self, now: datetime) -> None:
        self.completed_at = now
        self.updated_at = now
        self.worker_id = None
        self.lease_expires_at = None

    def _require(self, status: JobStatus, action: str) -> None:
        if self.status is not status:
            raise InvalidTransition(f"cannot {action} a {self.status.value} job", {"status": self.status.value})
