"""How a job travels in a `job.updated` event: the same fields as `GET /api/jobs/{id}`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from domain.jobs import Job

# Payload keys that name the server's spooled files, carry the command or tie the job to the request that
# queued it (for the logs): a job's readers (the API, the event feed) never see them. The older keys hide what
# jobs queued before commands were payloads carry.
SERVER_SIDE_KEYS = ("uploads", "command", "request_id", "body", "file", "predictions", "trades", "frames")


def public_payload(payload: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key not in SERVER_SIDE_KEYS}


# Fixed width, always UTC with microseconds, so Python and the Postgres queue (which builds the same
# object in SQL) render a timestamp identically.
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def job_event_data(job: Job) -> dict[str, Any]:
    return {
        "job_id": str(job.job_id),
        "type": job.type,
        "status": job.status.value,
        "payload": public_payload(job.payload),
        "progress": job.progress,
        "total": job.total,
        "message": job.message,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "priority": job.priority,
        "worker_id": job.worker_id,
        "created_at": format_timestamp(job.created_at),
        "updated_at": format_timestamp(job.updated_at),
        "started_at": format_timestamp(job.started_at),
        "completed_at": format_timestamp(job.completed_at),
    }
