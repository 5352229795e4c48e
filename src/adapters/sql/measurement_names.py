"""`MeasurementNames` over `stage1_measurement_names`: the primary key makes a name one holder's."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Row, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.sql import tables as t
from adapters.sql.errors import translated
from application.ports import NAME_LEASE, NameReservation, NameState

_names = t.measurement_names


class Link(Protocol):
    """What this adapter needs from its unit of work: the open connection."""

    @property
    def connection(self) -> AsyncConnection: ...


def _reservation(row: Row[Any]) -> NameReservation:
    state = NameState(row.state)
    return NameReservation(row.name, row.owner_kind, row.owner_id, state, row.created_at, row.lease_until)


class SqlMeasurementNames:
    def __init__(self, link: Link, lease: timedelta = NAME_LEASE) -> None:
        self._link = link
        self.lease = lease

    def _insert(self) -> Any:
        dialect = postgresql if self._link.connection.dialect.name == "postgresql" else sqlite
        return dialect.insert(_names)

    async def _execute(self, statement: Any) -> Any:
        async with translated():
            return await self._link.connection.execute(statement)

    async def reserve(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        values = {
            "owner_kind": owner_kind, "owner_id": owner_id, "state": NameState.LANDING.value, "created_at": now,
            "lease_until": now + self.lease,
        }  # fmt: skip
        # On Postgres a concurrent uncommitted reservation of the name makes this wait for its outcome. A
        # LANDING reservation whose lease lapsed is taken over in the same statement, so two saves racing
        # for it cannot both win.
        statement = self._insert().values(name=name, **values)
        statement = statement.on_conflict_do_update(
            index_elements=[_names.c.name],
            set_=values,
            where=(_names.c.state == NameState.LANDING.value) & (_names.c.lease_until < now),
        )
        result = await self._execute(statement.returning(_names.c.name))
        return result.first() is not None

    async def renew(self, name: str, owner_id: UUID, now: datetime) -> bool:
        result = await self._execute(
            update(_names)
            .where(_names.c.name == name, _names.c.owner_id == owner_id, _names.c.state == NameState.LANDING.value)
            .values(lease_until=now + self.lease)
        )
        return bool(result.rowcount)

    async def release_stale(self, now: datetime) -> list[str]:
        stale = (_names.c.state == NameState.LANDING.value) & (_names.c.lease_until < now)
        result = await self._execute(delete(_names).where(stale).returning(_names.c.name))
        return [row.name for row in result.all()]

    async def settle(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        return await self._hold(name, owner_kind, owner_id, NameState.OWNED, now)

    async def release(self, name: str, owner_id: UUID) -> None:
        await self._execute(
            delete(_names).where(
                _names.c.name == name, _names.c.owner_id == owner_id, _names.c.state == NameState.LANDING.value
            )
        )

    async def doom(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        return await self._hold(name, owner_kind, owner_id, NameState.DROPPING, now)

    async def _hold(self, name: str, owner_kind: str, owner_id: UUID, state: NameState, now: datetime) -> bool:
        """The name in `state`: taken if free, moved if this owner holds it; False when another owner does."""
        statement = self._insert().values(
            name=name, owner_kind=owner_kind, owner_id=owner_id, state=state.value, created_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[_names.c.name], set_={"state": state.value}, where=_names.c.owner_id == owner_id
        )
        return bool((await self._execute(statement)).rowcount)

    async def forget(self, name: str) -> bool:
        dropping = NameState.DROPPING.value
        result = await self._execute(delete(_names).where(_names.c.name == name, _names.c.state == dropping))
        return bool(result.rowcount)

    async def every(self) -> list[NameReservation]:
        return [_reservation(row) for row in (await self._execute(select(_names).order_by(_names.c.name))).all()]

    async def holder(self, name: str) -> NameReservation | None:
        rows = (await self._execute(select(_names).where(_names.c.name == name))).all()
        return _reservation(rows[0]) if rows else None
