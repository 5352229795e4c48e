"""The event feed of the embedded (SQLite, one process) setup: rows in `stage1_events`, delivered
in-process right after their transaction commits, so a reconnecting client can resume from the table.

SQLite lets one transaction write at a time, so event ids are numbered in commit order across the job queue
and units of work: once id N is committed every smaller id is committed or was never kept. Events a unit of
work committed are read back from the table (`committed`), so they are delivered in id order with the
queue's own, whichever of the two takes the feed's lock first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from adapters.jobs.events import SUBSCRIBER_BUFFER, Event, FanoutFeed
from adapters.sql.tables import events as events_table


class SqliteEventFeed(FanoutFeed):
    """`lock` serialises this process's writes so event ids are delivered in commit order; the SQLite
    job queue writes under the same lock."""

    def __init__(
        self, engine: AsyncEngine, *, buffer: int = SUBSCRIBER_BUFFER,
        retention: timedelta = timedelta(hours=24), prune_every: int = 10_000,
    ) -> None:
        super().__init__(buffer)
        self.engine = engine
        self.lock = asyncio.Lock()
        self.retention = retention
        self.prune_every = prune_every
        self._started = False
        self._since_prune = 0

    async def publish(self, event_type: str, data: dict[str, Any]) -> None:
        async with self.lock:
            await self._start_locked()
            async with self.engine.begin() as conn:
                event = await self.record(conn, event_type, data)
            await self.deliver([event])

    async def record(self, conn: AsyncConnection, event_type: str, data: dict[str, Any]) -> Event:
        """Stores an event inside the caller's transaction; `deliver` it once that commits."""
        result = await conn.execute(
            insert(events_table).values(type=event_type, data=data, created_at=datetime.now(UTC))
        )
        event_id = result.inserted_primary_key
        assert event_id is not None
        # Pruning rides along with writes every so often: no timer task to manage.
        self._since_prune += 1
        if self._since_prune >= self.prune_every:
            self._since_prune = 0
            await self._prune(conn)
        return Event(int(event_id[0]), event_type, data)

    async def deliver(self, events: list[Event]) -> None:
        """The queue's committed events; call it holding `lock`. Ids committed before them by a unit of work
        and not yet delivered are read from the table first."""
        if events and events[0].id != self._fanout.delivered + 1:
            await self._catch_up_locked()
        self._fanout.deliver(events)

    async def committed(self) -> None:
        if not self._started:
            return  # nobody subscribed yet: the first subscriber starts from the table
        async with self.lock:
            await self._catch_up_locked()

    async def _catch_up_locked(self) -> None:
        after = self._fanout.delivered
        while True:
            page = await self._read_range_unlocked(after, 2**63 - 1, None, 500)
            self._fanout.deliver(page)
            if len(page) < 500:
                return
            after = page[-1].id

    async def prune(self) -> int:
        """Deletes events older than `retention`; answers how many."""
        async with self.lock, self.engine.begin() as conn:
            return await self._prune(conn)

    async def _prune(self, conn: AsyncConnection) -> int:
        cutoff = datetime.now(UTC) - self.retention
        # The newest row stays: SQLite numbers a new row after the largest one left, and ids must never restart.
        newest = select(func.max(events_table.c.event_id)).scalar_subquery()
        result = await conn.execute(
            delete(events_table).where(events_table.c.created_at < cutoff, events_table.c.event_id < newest)
        )
        return int(result.rowcount or 0)

    async def _start(self) -> None:
        if self._started:
            return
        async with self.lock:
            await self._start_locked()

    async def _start_locked(self) -> None:
        if self._started:
            return
        async with self.engine.connect() as conn:
            latest = await conn.scalar(select(func.max(events_table.c.event_id)))
        self._fanout.delivered = max(self._fanout.delivered, int(latest or 0))
        self._started = True

    async def _read_range(self, after: int, upto: int, types: set[str] | None, limit: int) -> list[Event]:
        async with self.lock:
            return await self._read_range_unlocked(after, upto, types, limit)

    async def _read_range_unlocked(
        self, after: int, upto: int, types: set[str] | None, limit: int
    ) -> list[Event]:
        query = (
            select(events_table.c.event_id, events_table.c.type, events_table.c.data)
            .where(events_table.c.event_id > after, events_table.c.event_id <= upto)
            .order_by(events_table.c.event_id)
            .limit(limit)
        )
        if types is not None:
            query = query.where(events_table.c.type.in_(sorted(types)))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [Event(int(r.event_id), r.type, r.data) for r in rows]
