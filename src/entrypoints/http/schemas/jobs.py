"""Jobs and the service health on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from entrypoints.http.schemas.common import (
    CreatedAt,
    Json,
    Paged,
    Struct,
    UpdatedAt,
    doc,
)

JobId = Annotated[str, doc("The job's id (UUID).")]
JobStatus = Annotated[str, doc("PENDING, RUNNING, COMPLETED, FAILED or CANCELLED.")]
JobMessage = Annotated[str | None, doc("What the job is doing or what happened, in one sentence.")]


class JobAcceptedOut(Struct):
    """A request queued as a job (`?async=true`)."""

    job_id: JobId
    status: JobStatus
    message: Annotated[str, doc("What was queued.")]
    poll_url: Annotated[str, doc("Path to poll for the job's progress and result.")]


class JobOut(Struct):
    job_id: JobId
    type: Annotated[str, doc("What the job does, e.g. `questdb_import`.")]
    status: JobStatus
    payload: Annotated[Json, doc("The queued command, without its uploaded rows.")]
    progress: Annotated[int, doc("Rows (or steps) done so far.")]
    total: Annotated[int | None, doc("Rows (or steps) in all, once known.")]
    message: JobMessage
    result: Annotated[Json | None, doc("The answer the synchronous route would have given, once COMPLETED.")]
    error: Annotated[str | None, doc("Why it failed, once FAILED.")]
    attempts: Annotated[int, doc("Times a worker has started it.")]
    max_attempts: Annotated[int, doc("Attempts before it is FAILED for good.")]
    priority: Annotated[int, doc("Higher runs first.")]
    worker_id: Annotated[str | None, doc("The worker running it, if any.")]
    created_at: CreatedAt
    updated_at: UpdatedAt
    started_at: Annotated[datetime | None, doc("When a worker last started it (UTC).")]
    completed_at: Annotated[datetime | None, doc("When it finished (UTC).")]


class JobPage(Paged):
    jobs: Annotated[list[JobOut], doc("This page's jobs, newest first.")]


class HealthOut(Struct):
    status: Annotated[str, doc("`ok`; `degraded` without the time-series store; `down` without metadata.")]
    metadata: Annotated[Json, doc("The metadata store: `status` and `latency_ms`, or `error`.")]
    timeseries: Annotated[Json, doc("The time-series store: `status` and `latency_ms`, or `error`.")]
    jobs: Annotated[dict[str, int], doc("Jobs by status.")]
    version: Annotated[str, doc("The service's version.")]
