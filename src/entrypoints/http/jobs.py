"""`/api/jobs`: long work the desktop polls (or follows on `/api/events`)."""

from __future__ import annotations

from litestar import Router, get, post

from application.ports import JobFilter
from domain.jobs import Job
from domain.paging import Page, PageRequest
from entrypoints.http import deletes
from entrypoints.http import parameters as p
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.errors import error_responses
from entrypoints.http.use_cases import UseCase


@get("/", summary="List jobs", dependencies=p.PAGE)
async def list_jobs(
    list_jobs: UseCase[Page[Job]], status: p.JobStatus = None, type: p.JobTypeName = None, *, page: PageRequest
) -> s.JobPage:
    return present.page_out(s.JobPage, await list_jobs(JobFilter(status, type), page), present.job_out)


@get("/{job_id:str}", summary="A job")
async def get_job(get_job: UseCase[Job], job_id: p.JobId) -> s.JobOut:
    return present.job_out(await get_job(job_id))


@post("/{job_id:str}/cancel", status_code=200, summary="Cancel a job", responses=error_responses(409))
async def cancel_job(cancel_job: UseCase[Job], job_id: p.JobId) -> s.JobOut:
    return present.job_out(await cancel_job(job_id))


@post(
    "/{job_id:str}/retry",
    status_code=200,
    summary="Put a failed or cancelled job back in the queue",
    responses=error_responses(409),
)
async def retry_job(retry_job: UseCase[Job], job_id: p.JobId) -> s.JobOut:
    return present.job_out(await retry_job(job_id))


router = Router(
    path="/api/jobs",
    route_handlers=[list_jobs, get_job, cancel_job, retry_job, deletes.delete_job],
    tags=["jobs"],
)
