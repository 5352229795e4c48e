"""The composition root: which adapter serves which port, chosen from the settings.

Nothing is built at import time; `Container(settings=...)` then `await init_resources()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.frames.upload_reader import ArrowFrameReader
from adapters.sql.engine import create_engine
from adapters.sql.uow import unit_of_work_factory
from adapters.system import RandomIds, SystemClock
from application.context import Ports
from application.ports import TimeSeriesStore
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
    from adapters.duckdb.store import DuckDbStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = DuckDbStore(Path(settings.data_dir) / "timeseries.duckdb")
    try:
        yield store
    finally:
        await store.close()


async def _questdb_store(settings: Settings) -> AsyncIterator[TimeSeriesStore]:
    from adapters.questdb.store import QuestDbStore

    store = QuestDbStore(
        http_url=settings.questdb_http_url,
        ilp_url=settings.questdb_ilp_url or settings.questdb_http_url,
        pg_url=settings.questdb_pg_url,
    )
    try:
        yield store
    finally:
        await store.close()


async def _memory_store() -> AsyncIterator[TimeSeriesStore]:
    from adapters.memory.timeseries import InMemoryTimeSeriesStore

    yield InMemoryTimeSeriesStore()


async def _events(settings: Settings, engine: AsyncEngine) -> AsyncIterator[object]:
    from adapters.jobs.events import create_event_bus

    bus = await create_event_bus(settings.metadata_url, engine)
    try:
        yield bus
    finally:
        await bus.close()


async def _queue(settings: Settings, engine: AsyncEngine, events: object) -> AsyncIterator[object]:
    from adapters.jobs.factory import create_job_queue

    queue = await create_job_queue(settings.metadata_url, engine, events)
    try:
        yield queue
    finally:
        await queue.close()


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    engine = providers.Resource(_engine, settings)
    uow = providers.Singleton(unit_of_work_factory, engine)
    store = providers.Selector(
        settings.provided.timeseries,
        duckdb=providers.Resource(_duckdb_store, settings),
        questdb=providers.Resource(_questdb_store, settings),
        memory=providers.Resource(_memory_store),
    )
    frames = providers.Singleton(ArrowFrameReader)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)
    events = providers.Resource(_events, settings, engine)
    queue = providers.Resource(_queue, settings, engine, events)
    ports = providers.Singleton(
        Ports, uow=uow, store=store, frames=frames, clock=clock, ids=ids, events=events, queue=queue
    )
