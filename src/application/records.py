"""What the run-like records (walk-forward runs and simulations) share: one found by the id in a path or a
404, a page of them, each answered with its `stale` flags. One `RecordKind` per record type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from application.ports import UnitOfWork, UnitOfWorkFactory
from application.staleness import mark_stale
from domain.errors import NotFound
from domain.paging import Page
from domain.runs import WalkforwardRun
from domain.simulations import Simulation

R = TypeVar("R", WalkforwardRun, Simulation)
R_co = TypeVar("R_co", WalkforwardRun, Simulation, covariant=True)


class RecordsById(Protocol[R_co]):
    async def get(self, record_id: UUID, /) -> R_co | None: ...


@dataclass(frozen=True, slots=True)
class RecordKind(Generic[R]):
    noun: str  # `run`, `simulation`: in messages and as `<noun>_id` in error details
    repository: Callable[[UnitOfWork], RecordsById[R]]

    def id_of(self, ref: str) -> UUID:
        """`ref` as a record id; a ref that is no UUID names no record, so it is not found."""
        try:
            return UUID(ref)
        except ValueError:
            raise self.not_found(ref) from None

    async def find(self, tx: UnitOfWork, ref: str) -> R:
        """The record whose id is `ref`; a ref that is no UUID is not found either."""
        record = await self.repository(tx).get(self.id_of(ref))
        if record is None:
            raise self.not_found(ref)
        await mark_stale(tx, [record])
        return record

    def not_found(self, ref: str) -> NotFound:
        return NotFound(f"{self.noun} {ref[:80]!r} not found", {f"{self.noun}_id": ref[:80]})

    async def get(self, ref: str, uow: UnitOfWorkFactory) -> R:
        async with uow.reading() as tx:
            return await self.find(tx, ref)


async def stale_marked(tx: UnitOfWork, found: Page[R]) -> Page[R]:
    """A page of records as listed, each with its `stale` flags."""
    await mark_stale(tx, found.items)
    return found
