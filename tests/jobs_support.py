"""Helpers for the job-queue tests: a fresh Postgres database and the two tables the queue uses."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from adapters.jobs.pg import asyncpg_dsn

# The schema of migrations/versions/0002 for the two tables the queue touches.
PG_DDL = """
CREATE TABLE IF NOT EXISTS stage1_jobs (
    job_id uuid PRIMARY KEY,
    type varchar(64) NOT NULL,
    status varchar(16) NOT NULL,
    payload jsonb NOT NULL,
    progress bigint NOT NULL DEFAULT 0,
    total bigint,
    message text,
    result jsonb,
    error text,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 3,
    priority integer NOT NULL DEFAULT 0,
    worker_id varchar(128),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    started_at timestamptz,
    completed_at timestamptz,
    run_after timestamptz,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    idempotency_key varchar(200) UNIQUE
);
CREATE INDEX IF NOT EXISTS ix_stage1_jobs_claim ON stage1_jobs (status, priority DESC, run_after, created_at)
    WHERE status = 'PENDING';
CREATE INDEX IF NOT EXISTS ix_stage1_jobs_lease ON stage1_jobs (status, lease_expires_at);
CREATE TABLE IF NOT EXISTS stage1_events (
    event_id bigserial PRIMARY KEY,
    type varchar(64) NOT NULL,
    data jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_stage1_events_created_at ON stage1_events (created_at);
"""


def postgres_server_url() -> str:
    url = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    if not url:
        pytest.fail("STAGE1_TEST_POSTGRES_URL is not set (source .testenv/env.sh after scripts/services.sh up)")
    return url


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def _create_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(asyncpg_dsn(with_database(server_url, name)))
    try:
        await conn.execute(PG_DDL)
    finally:
        await conn.close()


async def _drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def fresh_postgres_database(prefix: str = "stage1_jobs") -> Iterator[str]:
    """A new database with the queue's tables; dropped afterwards. Yields its SQLAlchemy-style URL."""
    server = postgres_server_url()
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_create_database(server, name))
    try:
        yield with_database(server, name)
    finally:
        asyncio.run(_drop_database(server, name))


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
