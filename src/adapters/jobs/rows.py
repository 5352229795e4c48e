"""Between `stage1_jobs` rows and domain Jobs, shared by the SQL queues."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from domain.jobs import Job, JobStatus

JOB_COLUMNS = (
    "job_id", "type", "status", "payload", "progress", "total", "message", "result", "error", "attempts",
    "max_attempts", "priority", "worker_id", "created_at", "updated_at", "started_at", "completed_at",
    "run_after", "lease_expires_at", "cancel_requested",
)


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def job_from_row(row: Mapping[Any, Any]) -> Job:
    job_id = row["job_id"]
    created_at, updated_at = utc(row["created_at"]), utc(row["updated_at"])
    assert created_at is not None and updated_at is not None
    return Job(
        job_id=job_id if isinstance(job_id, UUID) else UUID(str(job_id)),
        type=row["type"],
        status=JobStatus(row["status"]),
        created_at=created_at,
        updated_at=updated_at,
        payload=dict(row["payload"] or {}),
        progress=int(row["progress"] or 0),
        total=row["total"],
        message=row["message"],
        result=row["result"],
        error=row["error"],
        attempts=int(row["attempts"]),
        max_attempts=int(row["max_attempts"]),
        priority=int(row["priority"]),
        worker_id=row["worker_id"],
        started_at=utc(row["started_at"]),
        completed_at=utc(row["completed_at"]),
        run_after=utc(row["run_after"]),
        lease_expires_at=utc(row["lease_expires_at"]),
        cancel_requested=bool(row["cancel_requested"]),
    )


def job_values(job: Job) -> dict[str, Any]:
    """Every stored column of `job`; a job stored without `run_after` is due at once."""
    return {
        "job_id": job.job_id,
        "type": job.type,
        "status": job.status.value,
        "payload": job.payload,
        "progress": job.progress,
        "total": job.total,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "worker_id": job.worker_id,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "run_after": job.run_after or job.created_at,
        "lease_expires_at": job.lease_expires_at,
        "cancel_requested": job.cancel_requested,
    }
