"""Plain reads and writes of `stage1_jobs`; claiming is the queue adapters' business."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import PurePath
from uuid import UUID

from sqlalchemy import ColumnElement, Text, cast, delete, func, or_, select

from adapters.sql import tables as t
from adapters.sql.repositories import SqlEntities
from application.ports import JobFilter
from domain.events import EventType
from domain.jobs import Job, JobStatus
from domain.paging import Page, PageRequest

# Spelled once here: inside a repository class `list` names the method, not the builtin.
JobList = list[Job]


class SqlJobRepository(SqlEntities[Job]):
    kind, table, key, noun = Job, t.jobs, "job_id", "job"

    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]:
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(t.jobs.c.status == filters.status)
        if filters.type is not None:
            conditions.append(t.jobs.c.type == filters.type)
        return await self._newest_first(t.jobs, "job_id", conditions, page, self._item)

    async def delete(self, job_id: UUID) -> None:
        events = t.events
        await self._execute(
            delete(events).where(
                events.c.type == EventType.JOB_UPDATED.value, events.c.data["job_id"].as_string() == str(job_id)
            )
        )
        await self._delete(t.jobs, key="job_id", ident=job_id, noun="job")

    async def finished_before(self, cutoff: datetime, limit: int) -> JobList:
        c = t.jobs.c
        finished = [status.value for status in JobStatus if status.finished]
        statement = (
            select(t.jobs)
            .where(c.status.in_(finished), c.completed_at < cutoff)
            .order_by(c.completed_at, c.job_id)
            .limit(limit)
        )
        return [self._item(row) for row in await self._rows(statement)]

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        result = await self._execute(select(t.jobs.c.status, func.count()).group_by(t.jobs.c.status))
        known = {status.value: status for status in JobStatus}
        for status, count in result.all():
            if status in known:
                counts[known[status]] = int(count)
        return counts

    async def uploads_in_use(self, paths: Sequence[str]) -> set[str]:
        if not paths:
            return set()
        wanted = set(paths)
        # The payload's text narrows the rows down by file name (unique per upload); the exact path decides.
        names = [cast(t.jobs.c.payload, Text).contains(PurePath(path).name, autoescape=True) for path in wanted]
        statement = select(t.jobs.c.payload).where(t.jobs.c.status != JobStatus.COMPLETED.value, or_(*names))
        rows = (await self._execute(statement)).all()
        return {path for (payload,) in rows for path in (payload or {}).get("uploads", []) if path in wanted}
