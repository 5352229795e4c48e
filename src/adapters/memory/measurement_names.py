"""`MeasurementNames` in memory, with the SQL adapter's rules: one holder per name, staged until commit."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from application.ports import NameReservation, NameState

if TYPE_CHECKING:
    from adapters.memory.tables import Table


class InMemoryMeasurementNames:
    def __init__(self, table: Table[str, NameReservation]) -> None:
        self._names = table

    async def reserve(self, name: str, owner_kind: str, owner_id: UUID, now: datetime) -> bool:
        if self._names.get(name) is not None:
            return False
        self._names.insert(name, NameReservation(name, owner_kind, owner_id, NameState.LANDING, now))
        return True

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
