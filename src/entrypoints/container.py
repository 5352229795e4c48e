"""The composition root: which adapter serves which port, chosen from the settings.

Nothing is built at import time; `Container(settings=...)` then `await init_resources()`."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.frames.upload_reader import ArrowUploadReader
from adapters.sql.engine import create_engine
from adapters.sql.uow import unit_of_work_factory
from adapters.system import RandomIds, SystemClock
from application.context import Ports
from application.ports import EventFeed, JobQueue, TimeSeriesStore
from entrypoints.settings import Settings


async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    if settings.is_embedded_metadata:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.metadata_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _duckdb_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    from adapters.duckdb.store import DuckDBTimeSeriesStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = DuckDBTimeSeriesStore(Path(settings.data_dir) / "timeseries.duckdb")
    try:
        yield store
    finally:
        await store.close()


async def _questdb_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    from adapters.questdb.store import QuestDBTimeSeriesStore

    store = QuestDBTimeSeriesStore(
        settings.questdb_http_url, pg_url=settings.questdb_pg_url, ilp=settings.questdb_ilp_url
    )
    try:
        yield store
    finally:
        await store.close()


async def _memory_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    from adapters.memory.timeseries import InMemoryTimeSeriesStore

    yield InMemoryTimeSeriesStore()


STORES = {"duckdb": _duckdb_store, "questdb": _questdb_store, "memory": _memory_store}


async def _time_series_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    """Only the configured store is opened (a Selector of resources would open them all)."""
    async for store in STORES[settings.timeseries](settings):
        yield store


@dataclass(frozen=True, slots=True)
class JobBackend:
    """The queue and the event feed share a store (and, on SQLite, a write lock), so they come together."""

    queue: JobQueue
    events: EventFeed


async def _job_backend(settings: Settings) -> AsyncIterator[JobBackend]:
    if settings.is_embedded_metadata:
        from adapters.jobs.sqlite_queue import SqliteJobQueue

        sqlite_queue = SqliteJobQueue.open(settings.metadata_url)
        try:
            yield JobBackend(sqlite_queue, sqlite_queue.events)
        finally:
            await sqlite_queue.close()
        return
    from adapters.jobs import pg
    from adapters.jobs.postgres_events import PostgresEventFeed
    from adapters.jobs.postgres_queue import PostgresJobQueue

    pool = await pg.create_pool(settings.metadata_url, min_size=1, max_size=10)
    feed = PostgresEventFeed(pool, settings.metadata_url)
    queue = PostgresJobQueue(pool, settings.metadata_url)
    try:
        yield JobBackend(queue, feed)
    finally:
        await queue.close()
        await feed.close()
        await pool.close()


async def _memory_job_backend() -> AsyncIterator[JobBackend]:
    from adapters.jobs.events import MemoryEventFeed
    from adapters.jobs.memory_queue import MemoryJobQueue

    feed = MemoryEventFeed()
    yield JobBackend(MemoryJobQueue(SystemClock(), feed), feed)


async def resolve(value: Any) -> Any:
    """A provider whose dependencies include an async resource answers a future; others answer the value."""
    if inspect.isawaitable(value):
        return await value
    return value


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    engine = providers.Resource(_engine, settings)
    uow = providers.Singleton(unit_of_work_factory, engine)
    store = providers.Resource(_time_series_store, settings)
    frames = providers.Singleton(ArrowUploadReader)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)
    jobs = providers.Resource(_job_backend, settings)
    events = providers.Callable(attrgetter("events"), jobs)
    queue = providers.Callable(attrgetter("queue"), jobs)
    ports = providers.Singleton(
        Ports, uow=uow, store=store, frames=frames, clock=clock, ids=ids, events=events, queue=queue
    )
