"""`/api/jobs`: long work the desktop polls (or follows on `/api/events`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, get, post
from litestar.params import Parameter

from application.ports import JobFilter
from domain.jobs import Job
from domain.paging import Page, PageRequest
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.use_cases import UseCase

Text = Annotated[str | None, Parameter(max_length=64, required=False)]


@get("/", summary="List jobs")
async def list_jobs(
    list_jobs: UseCase[Page[Job]],
    status: Text = None,
    type: Text = None,
    limit: Annotated[int | None, Parameter(ge=1, le=1000, required=False)] = None,
    offset: Annotated[int | None, Parameter(ge=0, le=2**62, required=False)] = None,
    after: Annotated[str | None, Parameter(max_length=512, required=False)] = None,
) -> s.JobPage:
    page = await list_jobs(JobFilter(status, type), PageRequest.of(limit, offset, after))
    return present.page_out(s.JobPage, page, present.job_out)


@get("/{job_id:str}", summary="A job")
async def get_job(get_job: UseCase[Job], job_id: str) -> s.JobOut:
    return present.job_out(await get_job(job_id))


@post("/{job_id:str}/cancel", status_code=200, summary="Cancel a job")
async def cancel_job(cancel_job: UseCase[Job], job_id: str) -> s.JobOut:
    return present.job_out(await cancel_job(job_id))


@post("/{job_id:str}/retry", status_code=200, summary="Put a failed or cancelled job back in the queue")
async def retry_job(retry_job: UseCase[Job], job_id: str) -> s.JobOut:
    return present.job_out(await retry_job(job_id))


router = Router(path="/api/jobs", route_handlers=[list_jobs, get_job, cancel_job, retry_job], tags=["jobs"])
