"""Dict-backed metadata store: the fakes unit tests run use cases against.

`InMemoryMetadata` is the committed state every unit of work shares. A unit stages its writes and only
`commit()` makes them visible to the others; leaving without it drops them. Entities are mutable, so
the store keeps and hands out copies: changing a returned object never changes what is stored.
Behaviour follows the SQL adapters (ordering, paging, conflicts), and the contract tests hold both to it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from adapters.jobs.events import MemoryEventFeed
from adapters.memory.measurement_names import InMemoryMeasurementNames
from adapters.memory.repositories import (
    InMemoryDatasetRepository,
    InMemoryIdempotencyRecords,
    InMemoryJobRepository,
    InMemoryRunRepository,
    InMemorySimulationRepository,
    InMemoryTokenRepository,
)
from adapters.memory.search import InMemoryRunSearch, InMemorySimulationSearch
from adapters.memory.tables import Tables
from adapters.memory.versions import InMemoryDatasetVersions
from application.ports import (
    IdempotencyRecord,
    NameReservation,
    UnitOfWork,
)
from domain.datasets import Dataset
from domain.jobs import Job
from domain.runs import WalkforwardRun
from domain.simulations import Simulation, Trade
from domain.tokens import ApiToken
from domain.versions import DatasetVersion


@dataclass
class InMemoryMetadata:
    """The committed state; share one between unit-of-work instances so they see each other's commits.

    Set `unavailable` to an exception to make every unit raise it on entry and commit (a store outage).
    """

    datasets: dict[UUID, Dataset] = field(default_factory=dict)
    runs: dict[UUID, WalkforwardRun] = field(default_factory=dict)
    simulations: dict[UUID, Simulation] = field(default_factory=dict)
    trades: dict[UUID, tuple[Trade, ...]] = field(default_factory=dict)
    jobs: dict[UUID, Job] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    tokens: dict[UUID, ApiToken] = field(default_factory=dict)
    measurement_names: dict[str, NameReservation] = field(default_factory=dict)
    versions: dict[tuple[UUID, int], DatasetVersion] = field(default_factory=dict)
    # Where committed units' events go (the process's feed: pass the one subscribers follow).
    feed: MemoryEventFeed = field(default_factory=MemoryEventFeed)
    unavailable: Exception | None = None

    def clear(self) -> None:
        for store in vars(self).values():
            if isinstance(store, dict):
                store.clear()


class InMemoryEventOutbox:
    """Events staged with the unit's writes: the feed gets them when the unit commits, never otherwise."""

    def __init__(self) -> None:
        self.staged: list[tuple[str, dict[str, Any]]] = []

    async def add(self, event_type: str, data: dict[str, Any]) -> None:
        self.staged.append((event_type, copy.deepcopy(data)))


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over `InMemoryMetadata`; a fresh private state when none is given."""

    def __init__(self, state: InMemoryMetadata | None = None) -> None:
        self.state = state if state is not None else InMemoryMetadata()
        self._tables = Tables(self.state)
        # Each attribute's type is the port's, declared once on the UnitOfWork protocol this class implements.
        self.datasets = InMemoryDatasetRepository(self._tables)
        self.runs = InMemoryRunRepository(self._tables)
        self.simulations = InMemorySimulationRepository(self._tables)
        self.jobs = InMemoryJobRepository(self._tables)
        self.idempotency = InMemoryIdempotencyRecords(self._tables)
        self.tokens = InMemoryTokenRepository(self._tables)
        self.run_search = InMemoryRunSearch(self._tables)
        self.simulation_search = InMemorySimulationSearch(self._tables)
        self.measurement_names = InMemoryMeasurementNames(self._tables.measurement_names)
        self.versions = InMemoryDatasetVersions(self._tables.versions)
        self._outbox = InMemoryEventOutbox()
        self.events = self._outbox
        self.committed = False

    async def __aenter__(self) -> Self:
        if self.state.unavailable is not None:
            raise self.state.unavailable
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        if self.state.unavailable is not None:
            raise self.state.unavailable
        tables = self._tables.all()
        # Check every table before touching any, so a refused commit changes nothing.
        for table in tables:
            table.check_commit()
        for table in tables:
            table.apply()
        staged, self._outbox.staged = self._outbox.staged, []
        for event_type, data in staged:
            self.state.feed.emit(event_type, data)
        self.committed = True

    async def rollback(self) -> None:
        for table in self._tables.all():
            table.discard()
        self._outbox.staged.clear()


class InMemoryUnitOfWorkFactory:
    """The `UnitOfWorkFactory` over one shared state."""

    def __init__(self, state: InMemoryMetadata | None = None) -> None:
        self.state = state if state is not None else InMemoryMetadata()

    def __call__(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.state)

    def reading(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.state)

    def connect_feed(self, feed: object) -> None:
        """Committed units' events go to `feed`, the one subscribers follow (when it is an in-memory one)."""
        if isinstance(feed, MemoryEventFeed):
            self.state.feed = feed
