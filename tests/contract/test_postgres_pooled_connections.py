"""Pooled Postgres connections are not pinged before use: a unit that finds its connection dropped by the
store runs its first statement again on a new one; reading units run without BEGIN/ROLLBACK."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy import text

from adapters.jobs.pg import asyncpg_dsn
from adapters.sql import create_engine
from adapters.sql.uow import SqlUnitOfWorkFactory
from application.ports import RunFilter, UnitOfWork
from domain.datasets import Dataset, DatasetChanges
from domain.errors import StoreUnavailable
from domain.paging import PageRequest
from domain.values import Slug

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

EVERY_RUN = RunFilter(None, None, None, None, None)


@pytest.fixture
async def factory(metadata_postgres_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    # One pooled connection, so the second unit gets the very connection the first one used.
    engine = create_engine(metadata_postgres_url, pool_size=1, max_overflow=0)
    try:
        yield SqlUnitOfWorkFactory(engine)
    finally:
        await engine.dispose()


async def _backend_pid(factory: SqlUnitOfWorkFactory) -> int:
    async with factory.reading() as unit:
        return int((await unit.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[attr-defined]


async def _drop(url: str, pid: int) -> None:
    """What a store restart does to a pooled connection: the server ends it."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    await asyncio.sleep(0.2)


async def test_a_read_on_a_pooled_connection_the_store_dropped_answers_from_a_new_connection(
    factory: SqlUnitOfWorkFactory, metadata_postgres_url: str
) -> None:
    dropped = await _backend_pid(factory)
    await _drop(metadata_postgres_url, dropped)

    async with factory.reading() as unit:
        page = await unit.runs.list(EVERY_RUN, PageRequest.of(10, None, None))
        now_on = int((await unit.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[attr-defined]

    assert page.items == [] and page.total == 0
    assert now_on != dropped


async def test_a_write_whose_first_statement_finds_the_connection_dropped_is_committed_on_a_new_one(
    factory: SqlUnitOfWorkFactory, metadata_postgres_url: str
) -> None:
    await _drop(metadata_postgres_url, await _backend_pid(factory))
    dataset = _dataset()

    async with factory() as unit:
        await unit.datasets.add(dataset)
        await unit.commit()

    async with factory.reading() as unit:
        assert await unit.datasets.get(dataset.dataset_id) is not None


async def test_a_transaction_whose_connection_drops_after_its_first_statement_fails_as_unavailable(
    factory: SqlUnitOfWorkFactory, metadata_postgres_url: str
) -> None:
    dataset = _dataset()
    with pytest.raises(StoreUnavailable):
        async with factory() as unit:
            await unit.datasets.add(dataset)
            pid = int((await unit.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[attr-defined]
            await _drop(metadata_postgres_url, pid)
            # Run again on a new connection, this would commit the second half of the transaction alone.
            await unit.datasets.add(_dataset())
            await unit.commit()

    async with factory.reading() as unit:
        assert await unit.datasets.get(dataset.dataset_id) is None


async def test_a_reading_unit_holds_no_transaction_open_between_its_statements(
    factory: SqlUnitOfWorkFactory, metadata_postgres_url: str
) -> None:
    async def state_between_statements(unit: UnitOfWork) -> str:
        await unit.runs.list(EVERY_RUN, PageRequest.of(10, None, None))
        pid = int((await unit.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())  # type: ignore[attr-defined]
        conn = await asyncpg.connect(asyncpg_dsn(metadata_postgres_url))
        try:
            return str(await conn.fetchval("SELECT state FROM pg_stat_activity WHERE pid = $1", pid))
        finally:
            await conn.close()

    async with factory.reading() as unit:
        assert await state_between_statements(unit) == "idle"
    async with factory() as unit:
        assert await state_between_statements(unit) == "idle in transaction"


def _dataset() -> Dataset:
    slug = Slug(f"pooled_{uuid4().hex[:8]}")
    return Dataset.register(uuid4(), slug, DatasetChanges(symbol="BTCUSD", granularity="1h"), datetime.now(UTC))
