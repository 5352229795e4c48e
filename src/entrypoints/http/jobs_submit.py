"""The `?async=true` path shared by imports, dataset exports, run and simulation saves."""

from __future__ import annotations

from typing import Any

from litestar import Response

from application.context import Ports
from application.idempotency import IdempotencyKey, earlier_answer, remember_answer
from application.jobs import find_job, submit_job
from application.ports import FrameUpload
from domain.jobs import Job
from entrypoints.http import schemas as s
from entrypoints.http.uploads import UploadSpool


async def submit_with_uploads(
    ports: Ports,
    spool: UploadSpool,
    job_type: str,
    payload: dict[str, Any],
    uploads: list[FrameUpload],
    key: IdempotencyKey | None,
) -> Job:
    """Queue a job that owns the request's spooled files from now on (it deletes them when done)."""
    if key is not None:
        async with ports.uow() as uow:
            replay = await earlier_answer(uow, key)
            if replay is not None:
                return await find_job(uow, str(replay.body["job_id"]))
    payload = {**payload, "uploads": [upload.path for upload in uploads]}
    job = await submit_job(ports, job_type, payload, message=f"{job_type} queued")
    for upload in uploads:
        spool.keep(upload)
    if key is not None:
        async with ports.uow() as uow:
            await remember_answer(uow, key, 202, {"job_id": str(job.job_id)}, ports.clock.now())
            await uow.commit()
    return job


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
