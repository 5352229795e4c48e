"""The composition root: which adapter serves which port, chosen from the settings.

Nothing is built at import time: `async with open_ports(settings) as ports:` opens the configured adapters
(the HTTP app, the worker, `seed` and `token create` all start this way) and `ports.bind(use_case)` fills in
the ports a use case names as keyword-only parameters."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

import anyio
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.frames.spooled_files import LocalSpooledFiles
from adapters.frames.upload_reader import ArrowUploadReader
from adapters.series.read_only_sql import SqlGate
from adapters.sql import migrate
from adapters.sql.engine import create_engine
from adapters.sql.uow import unit_of_work_factory
from adapters.system import RandomIds, SystemClock
from application.auth import TokenMint
from application.dataset_frames import FrameWriter
from application.ports import AttemptLedger, Clock, EventFeed, IdGenerator, JobQueue, UnitOfWorkFactory
from application.series_ports import TimeSeriesStore, UploadReader
from entrypoints.settings import Settings

R = TypeVar("R")


async def _engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    if settings.is_embedded_metadata:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.metadata_url)
    try:
        yield engine
    finally:
        await engine.dispose()


def sql_gate(settings: Settings) -> SqlGate:
    return SqlGate(settings.sql_concurrency, settings.sql_timeout_max_seconds)


def _duckdb_store(settings: Settings) -> TimeSeriesStore:
    from adapters.duckdb.store import DuckDBTimeSeriesStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return DuckDBTimeSeriesStore(
        Path(settings.data_dir) / "timeseries.duckdb",
        threads=settings.duckdb_threads,
        memory_limit_mb=settings.duckdb_memory_limit_mb,
        sql_gate=sql_gate(settings),
    )


def _questdb_store(settings: Settings) -> TimeSeriesStore:
    from adapters.questdb.store import QuestDBTimeSeriesStore

    return QuestDBTimeSeriesStore(
        settings.questdb_http_url,
        pg_url=settings.questdb_pg_url,
        ilp=settings.questdb_ilp_url,
        sql_gate=sql_gate(settings),
    )


def _memory_store(settings: Settings) -> TimeSeriesStore:
    from adapters.memory.timeseries import InMemoryTimeSeriesStore

    return InMemoryTimeSeriesStore()


STORES = {"duckdb": _duckdb_store, "questdb": _questdb_store, "memory": _memory_store}


async def _time_series_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    """Only the configured store is opened (a Selector of resources would open them all), and closed on the
    way out whichever it is."""
    store = STORES[settings.timeseries](settings)
    try:
        yield store
    finally:
        await store.close()


@dataclass(frozen=True, slots=True)
class JobBackend:
    """The queue and the event feed share a store (and, on SQLite, a write lock), so they come together."""

    queue: JobQueue
    events: EventFeed


async def _job_backend(settings: Settings) -> AsyncIterator[JobBackend]:
    if settings.is_embedded_metadata:
        from adapters.jobs.sqlite_queue import SqliteJobQueue

        sqlite_queue = SqliteJobQueue.open(settings.metadata_url)
        sqlite_queue.events.retention = retention(settings)
        try:
            yield JobBackend(sqlite_queue, sqlite_queue.events)
        finally:
            await sqlite_queue.close()
        return
    from adapters.jobs import pg
    from adapters.jobs.postgres_events import PostgresEventFeed
    from adapters.jobs.postgres_queue import PostgresJobQueue

    pool = await pg.create_pool(settings.metadata_url, min_size=1, max_size=10)
    feed = PostgresEventFeed(pool, settings.metadata_url, retention=retention(settings))
    queue = PostgresJobQueue(pool, settings.metadata_url)
    try:
        yield JobBackend(queue, feed)
    finally:
        await queue.close()
        await feed.close()
        await pool.close()


def retention(settings: Settings) -> timedelta:
    """One retention for finished jobs and events (`STAGE1_JOB_RETENTION_DAYS`)."""
    return timedelta(days=settings.job_retention_days)


def _attempt_ledger(settings: Settings, engine: AsyncEngine) -> AttemptLedger:
    """Credential tries live in Postgres when servers share it (N processes must not give a guesser N
    budgets); an embedded server is one process, and keeps them in memory."""
    if settings.is_embedded_metadata:
        from adapters.memory.attempts import InMemoryAttemptLedger

        return InMemoryAttemptLedger()
    from adapters.sql.attempts import SqlAttemptLedger

    return SqlAttemptLedger(engine)


async def resolve(value: Any) -> Any:
    """A provider whose dependencies include an async resource answers a future; others answer the value."""
    if inspect.isawaitable(value):
        return await value
    return value


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    engine = providers.Resource(_engine, settings)
    uow = providers.Singleton(unit_of_work_factory, engine, name_lease_seconds=settings.provided.name_lease_seconds)
    store = providers.Resource(_time_series_store, settings)
    uploads = providers.Singleton(
        ArrowUploadReader,
        block_size=settings.provided.csv_block_bytes,
        max_columns=settings.provided.max_csv_columns,
    )
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)
    jobs = providers.Resource(_job_backend, settings)
    events = providers.Callable(attrgetter("events"), jobs)
    queue = providers.Callable(attrgetter("queue"), jobs)
    attempts = providers.Singleton(_attempt_ledger, settings, engine)


@dataclass(frozen=True, slots=True)
class OpenPorts:
    """The opened adapters. A use case names the roles it needs as keyword-only parameters; `bind` fills them
    in by name, the way cosmicpython's bootstrap injects a handler's dependencies."""

    uow: UnitOfWorkFactory
    store: TimeSeriesStore
    uploads: UploadReader
    clock: Clock
    ids: IdGenerator
    feed: EventFeed
    queue: JobQueue
    attempts: AttemptLedger

    def roles(self) -> dict[str, Any]:
        store = self.store
        return {
            "uow": self.uow,
            "writer": store,
            "catalog": store,
            "reader": store,
            "read_only": store,
            "probe": store,
            "fingerprints": store,
            "frames": FrameWriter(store, store, store, self.clock),
            "mint": TokenMint(self.uow, self.clock, self.ids),
            "uploads": self.uploads,
            "clock": self.clock,
            "ids": self.ids,
            "events": self.feed,
            "feed": self.feed,
            "queue": self.queue,
            "spool": LocalSpooledFiles(),
            "attempts": self.attempts,
        }

    def bind(self, use_case: Callable[..., R]) -> Callable[..., R]:
        """`use_case` with every keyword-only port it names filled in; a port nobody provides fails here, at start."""
        roles = self.roles()
        wanted = {
            name: parameter
            for name, parameter in inspect.signature(use_case).parameters.items()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        }
        missing = [n for n, p in wanted.items() if n not in roles and p.default is inspect.Parameter.empty]
        if missing:
            raise TypeError(f"{use_case.__qualname__} needs ports nobody provides: {', '.join(missing)}")
        return functools.partial(use_case, **{name: roles[name] for name in wanted if name in roles})


@asynccontextmanager
async def open_ports(settings: Settings, container: Container | None = None) -> AsyncIterator[OpenPorts]:
    """Migrate an embedded metadata store, open the configured adapters, and close them all on the way out."""
    container = container or Container(settings=settings)
    if settings.is_embedded_metadata:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await anyio.to_thread.run_sync(migrate.upgrade, settings.metadata_url)
    await _maybe_await(container.init_resources())
    try:
        uow, feed = await resolve(container.uow()), await resolve(container.events())
        # Units of work tell the process's feed when they commit events (the embedded feed has no NOTIFY).
        connect_feed = getattr(uow, "connect_feed", None)
        if connect_feed is not None:
            connect_feed(feed)
        yield OpenPorts(
            uow=uow,
            store=await resolve(container.store()),
            uploads=await resolve(container.uploads()),
            clock=await resolve(container.clock()),
            ids=await resolve(container.ids()),
            feed=feed,
            queue=await resolve(container.queue()),
            attempts=await resolve(container.attempts()),
        )
    finally:
        await _maybe_await(container.shutdown_resources())


async def _maybe_await(value: Any) -> None:
    if value is not None and hasattr(value, "__await__"):
        await value
