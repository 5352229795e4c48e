"""`/api/jobs`: long work the desktop polls (or follows on `/api/events`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, post
from litestar.params import Parameter

from application import jobs as use
from application.context import Ports
from application.ports import JobFilter
from domain.paging import PageRequest
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s

Text = Annotated[str | None, Parameter(max_length=64, required=False)]


@get("/", summary="List jobs")
async def list_jobs(
    ports: Ports,
    status: Text = None,
    type: Text = None,
    limit: Annotated[int | None, Parameter(ge=1, le=1000, required=False)] = None,
    offset: Annotated[int | None, Parameter(ge=0, le=2**62, required=False)] = None,
    after: Annotated[str | None, Parameter(max_length=512, required=False)] = None,
) -> s.JobPage:
    page = await use.list_jobs(ports, JobFilter(status, type), PageRequest.of(limit, offset, after))
    return s.JobPage(
        jobs=[present.job_out(job) for job in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_cursor=page.next_cursor,
    )


@get("/{job_id:str}", summary="A job")
async def get_job(ports: Ports, job_id: str) -> s.JobOut:
    return present.job_out(await use.get_job(ports, job_id))


@post("/{job_id:str}/cancel", status_code=200, summary="Cancel a job")
async def cancel_job(ports: Ports, job_id: str) -> s.JobOut:
    return present.job_out(await use.cancel_job(ports, job_id))


@post("/{job_id:str}/retry", status_code=200, summary="Put a failed or cancelled job back in the queue")
async def retry_job(ports: Ports, job_id: str) -> s.JobOut:
    return present.job_out(await use.retry_job(ports, job_id))


router = Router(path="/api/jobs", route_handlers=[list_jobs, get_job, cancel_job, retry_job], tags=["jobs"])
