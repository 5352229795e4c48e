"""`MeasurementNames` in memory, with the SQL adapter's rules: one holder per name, staged until commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from application.ports import NAME_LEASE, NameReservation, NameState

if TYPE_CHECKING:
    from adapters.memory.tables import Table


class InMemoryMeasurementNames:
    def __init__(self, table: Table[str, NameReservation], lease: timedelta = NAME_LEASE) -> None:
        self._names = table
        self.lease = lease

    async def reserve(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        held = self._names.get(name)
        taken = NameReservation(name, owner_kind, owner_id, NameState.LANDING, now, now + self.lease)
        if held is None:
            self._names.insert(name, taken)
            return True
        if _lapsed(held, now):
            self._names.update(name, taken)
            return True
        return False

    async def renew(self, name: str, owner_id: UUID, now: datetime) -> bool:
        held = self._names.get(name)
        if held is None or held.owner_id != owner_id or held.state is not NameState.LANDING:
            return False
        self._names.update(name, replace(held, lease_until=now + self.lease))
        return True

    async def release_stale(self, now: datetime) -> list[str]:
        stale = [name for name, held in self._names.rows().items() if _lapsed(held, now)]
        for name in stale:
            self._names.delete(name)
        return stale

    async def settle(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        return self._hold(name, NameReservation(name, owner_kind, owner_id, NameState.OWNED, now))

    async def release(self, name: str, owner_id: UUID) -> None:
        held = self._names.get(name)
        if held is not None and held.owner_id == owner_id and held.state is NameState.LANDING:
            self._names.delete(name)

    async def doom(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        return self._hold(name, NameReservation(name, owner_kind, owner_id, NameState.DROPPING, now))

    def _hold(self, name: str, wanted: NameReservation) -> bool:
        """The name in `wanted`'s state: taken if free, moved if its owner holds it, else False."""
        held = self._names.get(name)
        if held is None:
            self._names.insert(name, wanted)
            return True
        if held.owner_id != wanted.owner_id:
            return False
        self._names.update(name, replace(held, state=wanted.state))
        return True

    async def forget(self, name: str) -> bool:
        held = self._names.get(name)
        if held is None or held.state is not NameState.DROPPING:
            return False
        self._names.delete(name)
        return True

    async def every(self) -> list[NameReservation]:
        return [self._names.rows()[name] for name in sorted(self._names.rows())]

    async def holder(self, name: str) -> NameReservation | None:
        return self._names.get(name)


def _lapsed(held: NameReservation, now: datetime) -> bool:
    return held.state is NameState.LANDING and held.lease_until is not None and held.lease_until < now
