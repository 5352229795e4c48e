"""Helpers for the job-queue tests: a fresh Postgres database and the two tables the queue uses."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from adapters.jobs.pg import asyncpg_dsn
from adapters.sql import migrate
from application.ports import JobQueue
from domain.jobs import Job


def postgres_server_url() -> str:
    url = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("STAGE1_TEST_POSTGRES_URL is not set (source .testenv/env.sh after scripts/services.sh up)")
    return url


@contextmanager
def fresh_postgres_database(prefix: str = "stage1_jobs") -> Iterator[str]:
    """A new database migrated to head (the real schema); dropped afterwards. Yields its URL."""
    server = postgres_server_url()
    name = f"{prefix}_{secrets.token_hex(4)}"
    url = migrate.create_database(server, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        migrate.drop_database(server, name)


async def truncate(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("TRUNCATE stage1_jobs, stage1_events RESTART IDENTITY")
    finally:
        await conn.close()


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2025, 11, 10, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def claim_one(queue: JobQueue, worker_id: str, types: Sequence[str] | None, lease: timedelta) -> Job | None:
    """The most urgent claimable job, claimed as the worker claims them: a batch of one."""
    jobs = await queue.claim_batch(worker_id, types, lease, 1)
    return jobs[0] if jobs else None
