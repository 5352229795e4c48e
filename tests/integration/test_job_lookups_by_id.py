"""The queue's statements find a job by its id through the primary key, whatever plan Postgres caches (#16).

A worker connection prepares each statement once and may keep a generic plan made while the table was empty.
Before migration 0016 that plan could read the `(created_at, job_id)` index or the lease index from end to end
for every claim, finish, heartbeat and progress report (15-19 ms per claim at 20,000 jobs instead of 0.8 ms),
and a finish's generic plan joined its batch to a full scan of the primary key; so the queue's connections plan
each call (`plan_cache_mode`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from tests.jobs_support import fresh_postgres_database

from adapters.jobs.pg import QUEUE_SESSION, asyncpg_dsn
from adapters.jobs.postgres_queue import _CLAIM_ANY, _FINISH_MANY, _HEARTBEAT, _PROGRESS, _SAVE, PostgresJobQueue
from domain.jobs import Job

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

PK = "pk_stage1_jobs"
CLAIM_INDEX = "ix_stage1_jobs_claim"
# Each statement with the number of arguments it is prepared with.
BY_ID = {"claim": (_CLAIM_ANY, 3), "finish": (_FINISH_MANY, 15), "heartbeat": (_HEARTBEAT, 3),
         "progress": (_PROGRESS, 5), "save": (_SAVE, 15)}


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with fresh_postgres_database("stage1_lookups") as fresh:
        yield fresh


def indexes_read(node: dict[str, Any]) -> set[str]:
    own = {node["Index Name"]} if node.get("Relation Name") == "stage1_jobs" and "Index Name" in node else set()
    return own.union(*(indexes_read(child) for child in node.get("Plans", [])))


async def generic_plans(url: str) -> dict[str, set[str]]:
    """The indexes of `stage1_jobs` each statement's generic plan reads, on a connection set up as the queue's."""
    settings = dict(QUEUE_SESSION, plan_cache_mode="force_generic_plan")
    conn = await asyncpg.connect(asyncpg_dsn(url), server_settings=settings)
    try:
        plans = {}
        for name, (sql, count) in BY_ID.items():
            await conn.execute(f"PREPARE {name} AS {sql}")
            found = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE {name}({', '.join(['NULL'] * count)})")
            plans[name] = indexes_read(json.loads(found)[0]["Plan"])
        return plans
    finally:
        await conn.close()


async def test_each_statement_finds_jobs_by_the_primary_key_from_an_empty_table_to_a_busy_one(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    queue = await PostgresJobQueue.connect(url, max_size=2)
    try:
        # Statistics taken on an empty table, as after a clean-up: the state in which the wrong plans were cached.
        await conn.execute("TRUNCATE stage1_jobs, stage1_events")
        await conn.execute("ANALYZE stage1_jobs")
        seen: dict[int, dict[str, set[str]]] = {0: await generic_plans(url)}
        # The table grows (some jobs running, some done) while the statistics stay those of the empty table.
        await queue.enqueue_many([Job.submit(uuid4(), "noop", {}, datetime.now(UTC)) for _ in range(300)])
        running = await queue.claim_batch("w1", None, timedelta(seconds=30), 100)
        for job in running[:50]:
            job.complete({}, datetime.now(UTC))
            assert await queue.finish(job, "w1")
        seen[300] = await generic_plans(url)
    finally:
        await queue.close()
        await conn.close()

    expected = {name: {CLAIM_INDEX, PK} if name == "claim" else {PK} for name in BY_ID}
    assert seen == {0: expected, 300: expected}


async def test_the_queue_plans_each_call_with_the_batch_and_the_table_it_finds_instead_of_a_cached_plan(
    url: str,
) -> None:
    # One connection, so that every call below reuses the same prepared statements, as a worker's do.
    queue = await PostgresJobQueue.connect(url, max_size=1)
    try:
        for _ in range(8):
            await queue.enqueue_many([Job.submit(uuid4(), "noop", {}, datetime.now(UTC)) for _ in range(5)])
            for job in await queue.claim_batch("w1", None, timedelta(seconds=30), 5):
                job.complete({}, datetime.now(UTC))
                assert await queue.finish(job, "w1")
        async with queue._pool.acquire() as conn:
            rows = await conn.fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
    finally:
        await queue.close()

    # Postgres switches a statement to a generic plan from its sixth call on when it finds one no dearer.
    plans = {name: (row["generic_plans"], row["custom_plans"]) for row in rows
             for name, words in (("claim", "SET status = 'RUNNING'"), ("finish", "AS i(job_id")) if words in row["statement"]}
    assert {name: generic for name, (generic, _) in plans.items()} == {"claim": 0, "finish": 0}
    assert all(custom >= 8 for _, custom in plans.values())
