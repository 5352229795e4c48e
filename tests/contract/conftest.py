"""Fixtures for the metadata contract suite: one `uow_factory` per store (memory, SQLite, Postgres)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.contract.timeseries_fixtures import STORE_KINDS, Harness, make_store
from tests.jobs_backends import BACKENDS, Backend, backend_param, open_backend

from adapters.memory import InMemoryMetadata, InMemoryUnitOfWork
from adapters.sql import SqlUnitOfWork, create_engine, migrate
from adapters.sql.tables import metadata
from application.ports import UnitOfWork

POSTGRES_ENV = "STAGE1_TEST_POSTGRES_URL"


class Store:
    """A `UnitOfWorkFactory` for one backend, plus what the tests need around it."""

    def __init__(self, kind: str, state: InMemoryMetadata | None = None, engine: AsyncEngine | None = None):
        self.kind = kind
        self.state = state
        self.engine = engine

    @property
    def is_sql(self) -> bool:
        return self.engine is not None

    def __call__(self) -> UnitOfWork:
        if self.engine is not None:
            return SqlUnitOfWork(self.engine)
        assert self.state is not None
        return InMemoryUnitOfWork(self.state)

    def reading(self) -> UnitOfWork:
        if self.engine is not None:
            return SqlUnitOfWork(self.engine, reading=True)
        assert self.state is not None
        return InMemoryUnitOfWork(self.state)

    async def clear(self) -> None:
        """Empty every table (hypothesis runs many examples inside one test)."""
        if self.state is not None:
            self.state.clear()
            return
        assert self.engine is not None
        names = [table.name for table in reversed(metadata.sorted_tables)]
        async with self.engine.begin() as connection:
            if self.engine.dialect.name == "postgresql":
                await connection.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
            else:
                for name in names:
                    await connection.execute(text(f"DELETE FROM {name}"))


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_ENV} is not set: run scripts/services.sh up and source .testenv/env.sh")
    return url


@pytest.fixture(scope="session")
def metadata_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("metadata") / "stage1.db"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def metadata_postgres_url() -> Iterator[str]:
    server = postgres_server_url()
    name = f"stage1_contract_{uuid4().hex[:12]}"
    url = migrate.create_database(server, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        migrate.drop_database(server, name)


SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    kind: str = request.param
    return kind, None if kind == "memory" else request.getfixturevalue(f"metadata_{kind}_url")


@pytest.fixture(params=["memory", *SQL_BACKENDS])
def metadata_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """The store's name and, for SQL stores, the URL of its migrated session database."""
    return _backend(request)


@pytest.fixture(params=SQL_BACKENDS)
def sql_metadata_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return _backend(request)


async def _store(kind: str, url: str | None) -> AsyncIterator[Store]:
    if url is None:
        yield Store(kind, state=InMemoryMetadata())
        return
    engine = create_engine(url)
    store = Store(kind, engine=engine)
    try:
        await store.clear()
        yield store
    finally:
        await store.clear()
        await engine.dispose()


@pytest.fixture
async def uow_factory(metadata_backend: tuple[str, str | None]) -> AsyncIterator[Store]:
    """A unit-of-work factory over an empty store, for each of memory, SQLite and Postgres."""
    async for store in _store(*metadata_backend):
        yield store


@pytest.fixture
async def sql_uow_factory(sql_metadata_backend: tuple[str, str | None]) -> AsyncIterator[Store]:
    """The same, for the SQL stores only (tests of SQL-only behaviour such as the legacy mirror)."""
    async for store in _store(*sql_metadata_backend):
        yield store


@pytest.fixture(params=STORE_KINDS)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """Each time-series store in turn (memory, DuckDB, QuestDB), its test measurements dropped afterwards."""
    subject = Harness(request.param, make_store(request.param, tmp_path))
    try:
        yield subject
    finally:
        await subject.cleanup()


# The job-queue and event contracts run on every queue backend; each module names its own `jobs_pg_url`.
@pytest.fixture(params=BACKENDS)
def jobs_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    return backend_param(request)


@pytest.fixture
async def jobs(jobs_backend: tuple[str, str | None], tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_backend(*jobs_backend, tmp_path) as backend:
        yield backend
