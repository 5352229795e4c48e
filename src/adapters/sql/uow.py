"""One metadata transaction over an async engine: the SQL implementation of `UnitOfWork`."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from adapters.sql.datasets import SqlDatasetRepository
from adapters.sql.errors import translated
from adapters.sql.jobs import SqlJobRepository
from adapters.sql.measurement_names import SqlMeasurementNames
from adapters.sql.outbox import SqlEventOutbox
from adapters.sql.runs import SqlRunRepository
from adapters.sql.search import SqlRunSearch, SqlSimulationSearch
from adapters.sql.simulations import SqlSimulationRepository
from adapters.sql.tokens import SqlIdempotencyRecords, SqlTokenRepository
from adapters.sql.versions import SqlDatasetVersions
from application.ports import (
    NAME_LEASE,
    UnitOfWork,
)


def _engine_of(source: AsyncEngine | async_sessionmaker[AsyncSession]) -> AsyncEngine:
    if isinstance(source, AsyncEngine):
        return source
    bind = source.kw.get("bind")
    if not isinstance(bind, AsyncEngine):
        raise TypeError("the session factory must be bound to an AsyncEngine")
    return bind


Source = AsyncEngine | async_sessionmaker[AsyncSession]
# Called after a commit that wrote events: the process's feed delivers them (on SQLite, where no NOTIFY exists).
EventsCommitted = Callable[[], Awaitable[None]]


class SqlUnitOfWork(UnitOfWork):
    """Opens a connection on entry; leaving without `commit()` rolls back.

    After `commit()` the unit may go on: the next statement starts a new transaction.
    """

    def __init__(
        self,
        source: Source,
        name_lease: timedelta = NAME_LEASE,
        events_committed: EventsCommitted | None = None,
        reading: bool = False,
    ) -> None:
        self._engine = _engine_of(source)
        self._connection: AsyncConnection | None = None
        self._reading = reading
        self._events_committed = events_committed
        # Each attribute's type is the port's, declared once on the UnitOfWork protocol this class implements.
        self.datasets = SqlDatasetRepository(self)
        self.runs = SqlRunRepository(self)
        self.simulations = SqlSimulationRepository(self)
        self.jobs = SqlJobRepository(self)
        self.idempotency = SqlIdempotencyRecords(self)
        self.tokens = SqlTokenRepository(self)
        self.run_search = SqlRunSearch(self)
        self.simulation_search = SqlSimulationSearch(self)
        self.measurement_names = SqlMeasurementNames(self, name_lease)
        self.versions = SqlDatasetVersions(self)
        self._outbox = SqlEventOutbox(self)
        self.events = self._outbox

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `async with` block")
        return self._connection

    async def __aenter__(self) -> Self:
        async with translated():
            self._connection = await self._open()
        return self

    async def _open(self) -> AsyncConnection:
        connection = await self._engine.connect()
        if self._reading and connection.dialect.name == "postgresql":
            # No BEGIN and ROLLBACK round trips around a read. Under READ COMMITTED (the default) every
            # statement takes its own snapshot inside a transaction too, so the reads see the same rows.
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        return connection

    def replaceable(self) -> bool:
        """True while nothing that a new connection would lose has run: a reading unit, or no open transaction."""
        return self._reading or not self.connection.in_transaction()

    async def replace_connection(self) -> None:
        """A new connection in place of one the store dropped (pooled connections are not pinged first)."""
        dead, self._connection = self._connection, None
        if dead is not None:
            with contextlib.suppress(Exception):
                await dead.close()
        self._connection = await self._open()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._outbox.added = 0
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            async with translated():
                try:
                    await connection.rollback()
                finally:
                    await connection.close()
        except Exception:
            # A dead connection must not hide the error that is already on its way out.
            if exc is None:
                raise

    async def commit(self) -> None:
        async with translated():
            await self.connection.commit()
        added, self._outbox.added = self._outbox.added, 0
        if added and self._events_committed is not None:
            await self._events_committed()

    async def rollback(self) -> None:
        self._outbox.added = 0
        async with translated():
            await self.connection.rollback()


class SqlUnitOfWorkFactory:
    """The `UnitOfWorkFactory` the container hands to use cases."""

    def __init__(
        self, source: Source, name_lease: timedelta = NAME_LEASE, events_committed: EventsCommitted | None = None
    ) -> None:
        self.engine = _engine_of(source)
        self.name_lease = name_lease
        self.events_committed = events_committed

    def __call__(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.name_lease, self.events_committed)

    def reading(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine, self.name_lease, self.events_committed, reading=True)

    def connect_feed(self, feed: object) -> None:
        """After a commit that wrote events, `feed.committed()` delivers them (when the feed has it)."""
        self.events_committed = getattr(feed, "committed", None)


def unit_of_work_factory(
    source: AsyncEngine | async_sessionmaker[AsyncSession],
    name_lease_seconds: float = NAME_LEASE.total_seconds(),
    events_committed: EventsCommitted | None = None,
) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(source, timedelta(seconds=name_lease_seconds), events_committed)
