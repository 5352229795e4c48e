"""What every SQL repository shares: its unit of work's connection, bulk inserts and newest-first paging.

One module per aggregate holds the repositories themselves (`datasets`, `runs`, `simulations`, `jobs`,
`tokens`); rows become entities through `adapters.sql.mapping`, never by copying fields by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Executable, Row, Table, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables as t
from adapters.sql.errors import translated
from adapters.sql.mapping import entity, row_values
from domain.errors import InvalidInput, NotFound
from domain.paging import Cursor, Page, PageRequest

T = TypeVar("T")
E = TypeVar("E")

# Rows per INSERT batch: large enough to be fast, small enough to bound the parameter lists in memory.
BULK_CHUNK = 5_000


class Link(Protocol):
    """What a repository needs from its unit of work: the open connection, and a new one when the store
    dropped it before anything of the unit's transaction ran on it."""

    @property
    def connection(self) -> AsyncConnection: ...

    def replaceable(self) -> bool: ...

    async def replace_connection(self) -> None: ...


class SqlRepository:
    def __init__(self, link: Link) -> None:
        self._link = link

    @property
    def _dialect(self) -> str:
        return self._link.connection.dialect.name

    async def _lock_row(self, table: Table, column: str, value: Any) -> None:
        """Held until the transaction ends, taken before anything is read: a row lock on Postgres; on SQLite
        the database's write lock, taken by an update that changes nothing."""
        key = table.c[column]
        if self._dialect == "postgresql":
            await self._execute(select(key).where(key == value).with_for_update())
        else:
            await self._execute(update(table).where(key == value).values({column: key}))

    async def _execute(self, statement: Executable, rows: Sequence[dict[str, Any]] | None = None) -> Any:
        async with translated():
            replaceable = self._link.replaceable()
            try:
                return await self._send(statement, rows)
            except DBAPIError as error:
                # The pool hands out connections without a ping (a round trip per checkout), so the first
                # one after a store restart is dead. Nothing of this unit ran on it: run again, once, on a
                # new one (SQLAlchemy has already marked the pool's older connections stale).
                if not (error.connection_invalidated and replaceable):
                    raise
            await self._link.replace_connection()
            return await self._send(statement, rows)

    async def _send(self, statement: Executable, rows: Sequence[dict[str, Any]] | None) -> Any:
        if rows is None:
            return await self._link.connection.execute(statement)
        return await self._link.connection.execute(statement, list(rows))

    async def _bulk_insert(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= BULK_CHUNK:
                await self._execute(insert(table), chunk)
                chunk = []
        if chunk:
            await self._execute(insert(table), chunk)

    async def _insert(self, table: Table, item: object, **extra: Any) -> None:
        await self._execute(insert(table).values(row_values(table, item, **extra)))

    async def _update(self, table: Table, key: str, item: object, noun: str) -> None:
        """Every column of `item`'s row but its key and creation time; a missing row is NotFound."""
        values = row_values(table, item)
        ident = values.pop(key)
        values.pop("created_at", None)
        result = await self._execute(update(table).where(table.c[key] == ident).values(values))
        if result.rowcount == 0:
            raise NotFound(f"{noun} {ident} does not exist")

    async def _delete(self, *tables: Table, key: str, ident: UUID, noun: str) -> None:
        """Deletes the rows keyed `ident` from each table in order (children first: SQLite may not cascade);
        NotFound when the last table had none (a concurrent delete came first)."""
        deleted = 0
        for table in tables:
            deleted = (await self._execute(delete(table).where(table.c[key] == ident))).rowcount
        if not deleted:
            raise NotFound(f"{noun} {ident} does not exist")

    async def _first(self, cls: type[E], statement: Executable) -> E | None:
        rows = await self._rows(statement)
        return entity(cls, rows[0]._mapping) if rows else None

    async def _rows(self, statement: Executable) -> Sequence[Row[Any]]:
        result = await self._execute(statement)
        rows: Sequence[Row[Any]] = result.all()
        return rows

    async def _scalar(self, statement: Executable) -> Any:
        result = await self._execute(statement)
        return result.scalar_one()

    async def _newest_first(
        self,
        table: Table,
        key: str,
        conditions: Sequence[ColumnElement[bool]],
        page: PageRequest,
        to_item: Callable[[Row[Any]], T],
        columns: Sequence[Any] = (),
    ) -> Page[T]:
        """A page of `table` ordered by (created_at DESC, key DESC), by offset or after a cursor."""
        created, ident = table.c.created_at, table.c[key]
        total = int(await self._scalar(select(func.count()).select_from(table).where(*conditions)))
        statement = select(table, *columns).where(*conditions)
        if page.after is not None:
            after_id = _cursor_uuid(page.after)
            statement = statement.where(
                or_(created < page.after.created_at, and_(created == page.after.created_at, ident < after_id))
            )
        statement = statement.order_by(created.desc(), ident.desc()).limit(page.limit + 1)
        if page.offset:
            statement = statement.offset(page.offset)
        rows = await self._rows(statement)
        more = len(rows) > page.limit
        kept = rows[: page.limit]
        next_cursor = None
        if more and kept:
            last = kept[-1]._mapping
            next_cursor = Cursor(last["created_at"], str(last[key])).encode()
        return Page([to_item(row) for row in kept], total, page.limit, page.offset, next_cursor)

    async def _measurement_taken(self, measurement: str) -> bool:
        statement = select(
            or_(
                exists().where(t.runs.c.prediction_measurement == measurement),
                exists().where(t.simulations.c.trades_measurement == measurement),
                exists().where(
                    or_(
                        t.datasets.c.ohlcv_measurement == measurement,
                        t.datasets.c.indicator_measurement == measurement,
                    )
                ),
            )
        )
        return bool(await self._scalar(statement))


class SqlEntities(SqlRepository, Generic[E]):
    """Adds, saves and gets one table's entities by their key column; a subclass names the four."""

    kind: type[E]
    table: Table
    key: str
    noun: str

    async def add(self, item: E) -> None:
        await self._insert(self.table, item)

    async def save(self, item: E) -> None:
        await self._update(self.table, self.key, item, self.noun)

    async def get(self, ident: UUID) -> E | None:
        return await self._first(self.kind, select(self.table).where(self.table.c[self.key] == ident))

    def _item(self, row: Row[Any]) -> E:
        return entity(self.kind, row._mapping)


def _cursor_uuid(cursor: Cursor) -> UUID:
    try:
        return UUID(cursor.key)
    except ValueError as exc:
        raise InvalidInput("after is not a cursor for this list", {"field": "after"}) from exc


def equal_where_given(*pairs: tuple[Any, object]) -> list[ColumnElement[bool]]:
    """`column = value` for each (column, value) pair whose value is given: a filter left out matches all."""
    return [column == value for column, value in pairs if value is not None]


def contains(column: Any, needle: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in the needle are literal."""
    condition: ColumnElement[bool] = func.lower(column).contains(needle.lower(), autoescape=True)
    return condition
