"""Plain reads and writes of `stage1_jobs`; claiming is the queue adapters' business."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select

from adapters.sql import tables as t
from adapters.sql.repositories import SqlEntities
from application.ports import JobFilter
from domain.jobs import Job, JobStatus
from domain.paging import Page, PageRequest


class SqlJobRepository(SqlEntities[Job]):
    kind, table, key, noun = Job, t.jobs, "job_id", "job"

    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]:
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(t.jobs.c.status == filters.status)
        if filters.type is not None:
            conditions.append(t.jobs.c.type == filters.type)
        return await self._newest_first(t.jobs, "job_id", conditions, page, self._item)

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        result = await self._execute(select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status))
        known = {status.value: status for status in JobStatus}
        for status, count in result.all():
            if status in known:
                counts[known[status]] = int(count)
        return counts
