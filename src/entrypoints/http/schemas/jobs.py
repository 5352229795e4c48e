"""Jobs and the service health on the wire."""

from __future__ import annotations

from datetime import datetime

from entrypoints.http.schemas.common import Json, Struct


class JobAcceptedOut(Struct):
    job_id: str
    status: str
    message: str
    poll_url: str


class JobOut(Struct):
    job_id: str
    type: str
    status: str
    payload: Json
    progress: int
    total: int | None
    message: str | None
    result: Json | None
    error: str | None
    attempts: int
    max_attempts: int
    priority: int
    worker_id: str | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


class JobPage(Struct):
    jobs: list[JobOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class HealthOut(Struct):
    status: str
    metadata: Json
    timeseries: Json
    jobs: dict[str, int]
    version: str
