"""The three JobQueue + EventFeed pairs the contract tests run against, behind one small interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.jobs_support import SystemClock, truncate

from adapters.jobs import pg
from adapters.jobs.events import FanoutFeed, MemoryEventFeed
from adapters.jobs.memory_queue import MemoryJobQueue
from adapters.jobs.postgres_events import PostgresEventFeed
from adapters.jobs.postgres_queue import PostgresJobQueue
from adapters.jobs.sqlite_events import SqliteEventFeed
from adapters.jobs.sqlite_queue import SqliteJobQueue
from adapters.memory.metadata import InMemoryMetadata, InMemoryUnitOfWorkFactory
from adapters.sql import create_engine, migrate
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.ports import UnitOfWorkFactory

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def backend_param(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """(kind, Postgres URL or None); sync, so the module's session database is made outside any loop."""
    kind: str = request.param
    return kind, request.getfixturevalue("jobs_pg_url") if kind == "postgres" else None


@dataclass
class Backend:
    kind: str
    queue: Any
    feed: FanoutFeed
    _extra: list[Any] = field(default_factory=list)
    _pg_url: str | None = None
    _sqlite_url: str | None = None

    def unit_of_work(self) -> UnitOfWorkFactory:
        """Units of work on the same store whose events go to this feed, as the composition root wires them."""
        if self.kind == "memory":
            assert isinstance(self.feed, MemoryEventFeed)
            return InMemoryUnitOfWorkFactory(InMemoryMetadata(feed=self.feed))
        engine = create_engine(self._pg_url or self._sqlite_url or "")
        self._extra.append(engine)
        factory = SqlUnitOfWorkFactory(engine)
        factory.connect_feed(self.feed)
        return factory

    async def another_queue(self) -> Any:
        """A second queue as another process would have it (its own pool on Postgres)."""
        if self.kind != "postgres":
            return self.queue
        assert self._pg_url is not None
        other = await PostgresJobQueue.connect(self._pg_url, max_size=2)
        self._extra.append(other)
        return other

    async def another_feed(self, **options: Any) -> FanoutFeed:
        """A second feed (another process's, on Postgres), e.g. with a small subscriber `buffer`."""
        if self.kind == "memory":
            return MemoryEventFeed(**options)
        if self.kind == "sqlite":
            return SqliteEventFeed(self.queue.engine, **options)
        assert self._pg_url is not None
        pool = await pg.create_pool(self._pg_url, max_size=2)
        feed = PostgresEventFeed(pool, self._pg_url, **options)
        self._extra.append((feed, pool))
        return feed


@asynccontextmanager
async def open_backend(kind: str, pg_url: str | None, tmp_path: Path) -> AsyncIterator[Backend]:
    if kind == "memory":
        feed = MemoryEventFeed()
        yield Backend(kind, MemoryJobQueue(SystemClock(), feed), feed)
        return
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
        migrate.upgrade(url)
        queue = SqliteJobQueue.open(url, SystemClock())
        backend = Backend(kind, queue, queue.events, _sqlite_url=url)
        try:
            yield backend
        finally:
            for extra in backend._extra:
                await extra.dispose()
            await queue.close()
        return
    assert pg_url is not None
    url = pg_url
    await truncate(url)
    pool = await pg.create_pool(url, max_size=5)
    pg_queue = PostgresJobQueue(pool, url)
    pg_feed = PostgresEventFeed(pool, url)
    backend = Backend(kind, pg_queue, pg_feed, _pg_url=url)
    try:
        yield backend
    finally:
        await pg_feed.close()
        await pg_queue.close()
        for extra in backend._extra:
            if isinstance(extra, tuple):
                await extra[0].close()
                await extra[1].close()
            elif hasattr(extra, "dispose"):
                await extra.dispose()
            else:
                await extra.close()
        await pool.close()
