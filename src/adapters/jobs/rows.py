"""What the SQL queues store of a Job: `stage1_jobs` columns, mapped by name (see adapters.sql.mapping)."""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

from sqlalchemy.dialects.postgresql.base import PGDialect

from adapters.sql.mapping import columns_of, entity, plain
from adapters.sql.tables import jobs
from domain.jobs import Job

# Every column but `idempotency_key`, which only an enqueue sets.
JOB_COLUMNS = columns_of(jobs, Job)
# Their Postgres types, for statements that take one array per column.
_POSTGRES = PGDialect()  # type: ignore[no-untyped-call]
JOB_ARRAY_TYPES = tuple(f"{jobs.c[name].type.compile(dialect=_POSTGRES)}[]" for name in JOB_COLUMNS)


def job_from_row(row: Mapping[Any, Any]) -> Job:
    return entity(Job, row)


# Read by position, not by walking the table's columns per job: enqueueing a batch spent most of its time there.
_FIELDS = operator.attrgetter(*JOB_COLUMNS)
_RUN_AFTER = JOB_COLUMNS.index("run_after")


def job_row(job: Job) -> list[Any]:
    """The JOB_COLUMNS of `job`, in that order; a job stored without `run_after` is due at once."""
    values = [plain(value) for value in _FIELDS(job)]
    values[_RUN_AFTER] = job.run_after or job.created_at
    return values


def job_values(job: Job) -> dict[str, Any]:
    """`job_row` by column name."""
    return dict(zip(JOB_COLUMNS, job_row(job), strict=True))
