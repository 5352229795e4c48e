"""The `?async=true` path shared by imports, dataset exports, run and simulation saves."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response

from application.context import Ports
from application.idempotency import IdempotencyKey
from application.jobs import submit_job
from application.ports import FrameUpload
from domain.jobs import Job
from entrypoints.http import schemas as s
from entrypoints.http.inputs import sha256
from entrypoints.http.uploads import UploadSpool


async def submit_with_uploads(
    ports: Ports,
    spool: UploadSpool,
    job_type: str,
    payload: dict[str, Any],
    uploads: list[FrameUpload],
    key: IdempotencyKey | None,
) -> Job:
    """Queue a job that owns the request's spooled files from now on (it deletes them when done).

    With an Idempotency-Key the same request answers the job it queued the first time."""
    payload = {**payload, "uploads": [upload.path for upload in uploads]}
    # The client's key (up to 200 characters) goes in as a digest: the queue's key column holds 200.
    queue_key = None if key is None else f"{key.scope}:{sha256(key.key.encode())[:32]}:{key.request_hash[:16]}"
    job = await submit_job(ports, job_type, payload, message=f"{job_type} queued", idempotency_key=queue_key)
    if job.payload.get("uploads") == payload["uploads"]:
        for upload in uploads:
            spool.keep(upload)
    return job


async def queue_record(
    ports: Ports,
    spool: UploadSpool,
    job_type: str,
    body: msgspec.Struct,
    frame_field: str,
    frame: FrameUpload | None,
    key: IdempotencyKey | None,
    **extra: Any,
) -> Job:
    """A run or simulation saved by a job: the record travels as its JSON, its frame as the spooled file."""
    record = msgspec.structs.replace(body, **{frame_field: None, f"{frame_field}_csv": None})
    payload = {"body": msgspec.to_builtins(record), frame_field: frame and frame.path, **extra}
    return await submit_with_uploads(ports, spool, job_type, payload, [frame] if frame else [], key)


def accepted(job: Job) -> Response[s.JobAcceptedOut]:
    poll_url = f"/api/jobs/{job.job_id}"
    return Response(
        s.JobAcceptedOut(
            job_id=str(job.job_id),
            status=job.status.value,
            message=f"{job.type} job created. Poll {poll_url} for status.",
            poll_url=poll_url,
        ),
        status_code=202,
        headers={"Location": poll_url},
    )
