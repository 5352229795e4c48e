"""`simulation_runs` with their trade buckets and trades; lists carry no buckets."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import and_, delete, func, or_, select

from adapters.sql import tables as t
from adapters.sql.mapping import entity, row_values
from adapters.sql.repositories import SqlRepository, equal_where_given
from adapters.trade_paging import trade_cursor, trade_position
from application.ports import SimulationFilter
from domain.paging import Page, PageRequest
from domain.simulations import Simulation, Trade, TradeBucket

# Spelled once here: inside a repository class `list` names the method, not the builtin.
TradeList = list[Trade]

_TRADE_COLUMNS = [column for column in t.trades.c if column.name != "simulation_id"]


class SqlSimulationRepository(SqlRepository):
    async def lock(self, simulation_id: UUID) -> None:
        await self._lock_row(t.simulations, "simulation_id", simulation_id)

    async def add(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        await self._insert(t.simulations, simulation)
        mine = {"simulation_id": simulation.simulation_id}
        if simulation.trade_buckets:
            await self._bulk_insert(
                t.trade_buckets, (row_values(t.trade_buckets, b, **mine) for b in simulation.trade_buckets)
            )
        await self._bulk_insert(t.trades, (row_values(t.trades, trade, **mine) for trade in trades))

    async def save(self, simulation: Simulation) -> None:
        await self._update(t.simulations, "simulation_id", simulation, "simulation")

    async def replace_trades(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        mine = {"simulation_id": simulation.simulation_id}
        for table in (t.trades, t.trade_buckets):
            await self._execute(delete(table).where(table.c.simulation_id == simulation.simulation_id))
        await self.save(simulation)
        buckets = simulation.trade_buckets
        await self._bulk_insert(t.trade_buckets, (row_values(t.trade_buckets, b, **mine) for b in buckets))
        await self._bulk_insert(t.trades, (row_values(t.trades, trade, **mine) for trade in trades))

    async def delete(self, simulation_id: UUID) -> None:
        tables = (t.trades, t.trade_buckets, t.simulations)
        await self._delete(*tables, key="simulation_id", ident=simulation_id, noun="simulation")

    async def get(self, simulation_id: UUID) -> Simulation | None:
        rows = await self._rows(select(t.simulations).where(t.simulations.c.simulation_id == simulation_id))
        if not rows:
            return None
        bucket_rows = await self._rows(
            select(t.trade_buckets)
            .where(t.trade_buckets.c.simulation_id == simulation_id)
            .order_by(t.trade_buckets.c.bucket)
        )
        buckets = [entity(TradeBucket, row._mapping) for row in bucket_rows]
        return entity(Simulation, rows[0]._mapping, trade_buckets=buckets)

    async def list(self, filters: SimulationFilter, page: PageRequest) -> Page[Simulation]:
        c = t.simulations.c
        conditions = equal_where_given(
            (c.run_id, filters.run_id), (c.dataset_id, filters.dataset_id), (c.status, filters.status)
        )
        if filters.dataset_slug is not None:
            slug = t.datasets.c.dataset_slug == filters.dataset_slug
            conditions.append(c.dataset_id.in_(select(t.datasets.c.dataset_id).where(slug)))
        return await self._newest_first(
            t.simulations, "simulation_id", conditions, page, lambda row: entity(Simulation, row._mapping)
        )

    async def trades(self, simulation_id: UUID, page: PageRequest) -> Page[Trade]:
        c = t.trades.c
        mine = c.simulation_id == simulation_id
        total = int(await self._scalar(select(func.count()).select_from(t.trades).where(mine)))
        statement = select(*_TRADE_COLUMNS).where(mine)
        if page.after is not None:
            bar, trade_id = trade_position(page.after)
            statement = statement.where(or_(c.bar_timestamp > bar, and_(c.bar_timestamp == bar, c.trade_id > trade_id)))
        statement = statement.order_by(c.bar_timestamp, c.trade_id).limit(page.limit + 1)
        if page.offset:
            statement = statement.offset(page.offset)
        rows = await self._rows(statement)
        items = [entity(Trade, row._mapping) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        next_cursor = trade_cursor(items[-1]).encode() if more and items else None
        return Page(items, total, page.limit, page.offset, next_cursor)

    async def all_trades(self, simulation_id: UUID) -> TradeList:
        c = t.trades.c
        rows = await self._rows(
            select(*_TRADE_COLUMNS).where(c.simulation_id == simulation_id).order_by(c.bar_timestamp, c.trade_id)
        )
        return [entity(Trade, row._mapping) for row in rows]

    async def measurement_taken(self, measurement: str) -> bool:
        return await self._measurement_taken(measurement)
