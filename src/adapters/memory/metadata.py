"""Dict-backed metadata store: the fakes unit tests run use cases against.

`InMemoryMetadata` is the committed state every unit of work shares. A unit stages its writes and only
`commit()` makes them visible to the others; leaving without it drops them. Entities are mutable, so
the store keeps and hands out copies: changing a returned object never changes what is stored.
Behaviour follows the SQL adapters (ordering, paging, conflicts), and the contract tests hold both to it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from uuid import UUID

from adapters.memory.search import InMemoryRunSearch, InMemorySimulationSearch
from adapters.trade_paging import trade_cursor, trade_position
from application.ports import (
    DatasetFilter,
    DatasetListing,
    DatasetRepository,
    IdempotencyRecord,
    IdempotencyRecords,
    JobFilter,
    JobRepository,
    RunFilter,
    RunRepository,
    RunSearch,
    SimulationFilter,
    SimulationRepository,
    SimulationSearch,
    TokenRepository,
    UnitOfWork,
)
from domain.datasets import Dataset
from domain.errors import Conflict, InvalidInput, NotFound
from domain.jobs import Job, JobStatus
from domain.paging import Cursor, Page, PageRequest
from domain.runs import WalkforwardRun
from domain.simulations import Simulation, Trade
from domain.tokens import ApiToken

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")
# Spelled once here: inside a repository class `list` names the method, not the builtin.
TradeList = list[Trade]


def _deep(value: V) -> V:
    return copy.deepcopy(value)


def _same(value: V) -> V:
    return value


class _Table(Generic[K, V]):
    """One table as one unit of work sees it: the shared committed rows overlaid with its own."""

    def __init__(
        self,
        name: str,
        committed: dict[K, V],
        unique: dict[str, Callable[[V], Hashable]] | None = None,
        copier: Callable[[V], V] = _deep,
    ) -> None:
        self._name = name
        self._committed = committed
        self._unique = unique or {}
        self._copy = copier
        self._staged: dict[K, V] = {}
        self._inserted: set[K] = set()

    def rows(self) -> dict[K, V]:
        """The visible rows, uncopied: callers only read them."""
        return {**self._committed, **self._staged}

    def get(self, key: K) -> V | None:
        value = self._staged[key] if key in self._staged else self._committed.get(key)
        return None if value is None else self._copy(value)

    def find(self, predicate: Callable[[V], bool]) -> V | None:
        for value in self.rows().values():
            if predicate(value):
                return self._copy(value)
        return None

    def copy_of(self, value: V) -> V:
        return self._copy(value)

    def insert(self, key: K, value: V) -> None:
        if key in self._staged or key in self._committed:
            raise Conflict(f"{self._name} {key} already exists", {"reason": "duplicate key"})
        self._check_unique(key, value, self.rows())
        self._staged[key] = self._copy(value)
        self._inserted.add(key)

    def update(self, key: K, value: V) -> None:
        if key not in self._staged and key not in self._committed:
            raise NotFound(f"{self._name} {key} does not exist")
        self._check_unique(key, value, self.rows())
        self._staged[key] = self._copy(value)

    def check_commit(self) -> None:
        """What the database would refuse at commit: rows another unit committed meanwhile."""
        for key in self._inserted:
            if key in self._committed:
                raise Conflict(f"{self._name} {key} already exists", {"reason": "duplicate key"})
        for key, value in self._staged.items():
            self._check_unique(key, value, self._committed)

    def apply(self) -> None:
        self._committed.update(self._staged)
        self.discard()

    def discard(self) -> None:
        self._staged.clear()
        self._inserted.clear()

    def _check_unique(self, key: K, value: V, against: dict[K, V]) -> None:
        for column, extract in self._unique.items():
            wanted = extract(value)
            if wanted is None:
                continue
            for other_key, other in against.items():
                if other_key != key and extract(other) == wanted:
                    raise Conflict(f"{self._name} {column} {wanted!r} is taken", {"reason": f"duplicate {column}"})


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
    unavailable: Exception | None = None

    def clear(self) -> None:
        for store in (
            self.datasets,
            self.runs,
            self.simulations,
            self.trades,
            self.jobs,
            self.idempotency,
            self.tokens,
        ):
            store.clear()


# ---------------------------------------------------------------- paging


def _uuid_key(cursor: Cursor) -> UUID:
    try:
        return UUID(cursor.key)
    except ValueError as exc:
        raise InvalidInput("after is not a cursor for this list", {"field": "after"}) from exc


def _newest_first(
    items: Iterable[V],
    created: Callable[[V], datetime],
    ident: Callable[[V], UUID],
    page: PageRequest,
    present: Callable[[V], T],
) -> Page[T]:
    ordered = sorted(items, key=lambda item: (created(item), ident(item)), reverse=True)
    total = len(ordered)
    if page.after is not None:
        mark = (page.after.created_at, _uuid_key(page.after))
        ordered = [item for item in ordered if (created(item), ident(item)) < mark]
    window = ordered[page.offset : page.offset + page.limit + 1]
    kept = window[: page.limit]
    more = len(window) > page.limit
    next_cursor = Cursor(created(kept[-1]), str(ident(kept[-1]))).encode() if more and kept else None
    return Page([present(item) for item in kept], total, page.limit, page.offset, next_cursor)


def _contains(haystack: str | None, needle: str) -> bool:
    return haystack is not None and needle.lower() in haystack.lower()


# ---------------------------------------------------------------- repositories


class _Tables:
    """The overlaid tables of one unit of work."""

    def __init__(self, state: InMemoryMetadata) -> None:
        self.datasets = _Table("dataset", state.datasets, {"dataset_slug": lambda d: str(d.dataset_slug)})
        self.runs = _Table("run", state.runs)
        self.simulations = _Table("simulation", state.simulations)
        self.trades: _Table[UUID, tuple[Trade, ...]] = _Table("trades", state.trades, copier=_same)
        self.jobs = _Table("job", state.jobs)
        self.idempotency = _Table("idempotency record", state.idempotency, copier=_same)
        self.tokens = _Table("token", state.tokens, {"token_hash": lambda token: token.token_hash})

    def all(self) -> tuple[_Table[Any, Any], ...]:
        return (
            self.datasets,
            self.runs,
            self.simulations,
            self.trades,
            self.jobs,
            self.idempotency,
            self.tokens,
        )

    def measurement_taken(self, measurement: str) -> bool:
        return (
            any(run.prediction_measurement == measurement for run in self.runs.rows().values())
            or any(sim.trades_measurement == measurement for sim in self.simulations.rows().values())
            or any(measurement in (d.ohlcv_measurement, d.indicator_measurement) for d in self.datasets.rows().values())
        )


class InMemoryDatasetRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, dataset: Dataset) -> None:
        self._t.datasets.insert(dataset.dataset_id, dataset)

    async def save(self, dataset: Dataset) -> None:
        self._t.datasets.update(dataset.dataset_id, dataset)

    async def get(self, dataset_id: UUID) -> Dataset | None:
        return self._t.datasets.get(dataset_id)

    async def get_by_slug(self, slug: str) -> Dataset | None:
        return self._t.datasets.find(lambda d: d.dataset_slug == slug)

    async def list(self, filters: DatasetFilter, page: PageRequest) -> Page[DatasetListing]:
        def matches(d: Dataset) -> bool:
            return (
                (filters.symbol is None or d.symbol == filters.symbol)
                and (filters.granularity is None or d.granularity == filters.granularity)
                and (
                    not filters.search
                    or _contains(d.dataset_slug, filters.search)
                    or _contains(d.symbol, filters.search)
                )
            )

        def present(d: Dataset) -> DatasetListing:
            runs, sims = self._counts(d.dataset_id)
            return DatasetListing(self._t.datasets.copy_of(d), runs, sims)

        chosen = [d for d in self._t.datasets.rows().values() if matches(d)]
        return _newest_first(chosen, lambda d: d.created_at, lambda d: d.dataset_id, page, present)

    async def related_counts(self, dataset_id: UUID) -> tuple[int, int]:
        return self._counts(dataset_id)

    def _counts(self, dataset_id: UUID) -> tuple[int, int]:
        runs = sum(1 for run in self._t.runs.rows().values() if run.dataset_id == dataset_id)
        sims = sum(1 for sim in self._t.simulations.rows().values() if sim.dataset_id == dataset_id)
        return runs, sims


def _as_stored(run: WalkforwardRun) -> WalkforwardRun:
    """The run as the SQL store gives it back: folds by number, a declared count only without folds."""
    folds = sorted(run.folds, key=lambda fold: fold.fold_number)
    return replace(run, folds=folds, declared_fold_count=None if folds else (run.fold_count or None))


class InMemoryRunRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, run: WalkforwardRun) -> None:
        if run.dataset_id not in self._t.datasets.rows():
            raise Conflict(f"dataset {run.dataset_id} does not exist", {"reason": "unknown dataset"})
        self._t.runs.insert(run.run_id, _as_stored(run))

    async def save(self, run: WalkforwardRun) -> None:
        self._t.runs.update(run.run_id, _as_stored(run))

    async def get(self, run_id: UUID) -> WalkforwardRun | None:
        return self._t.runs.get(run_id)

    async def list(self, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
        def matches(run: WalkforwardRun) -> bool:
            return (
                (filters.dataset_id is None or run.dataset_id == filters.dataset_id)
                and (filters.dataset_slug is None or run.dataset_slug == filters.dataset_slug)
                and (filters.status is None or run.status == filters.status)
                and (filters.measurement is None or run.prediction_measurement == filters.measurement)
                and (
                    not filters.search
                    or _contains(run.dataset_slug, filters.search)
                    or _contains(run.prediction_measurement, filters.search)
                    or _contains(run.target_column, filters.search)
                )
            )

        def present(run: WalkforwardRun) -> WalkforwardRun:
            # Lists carry the fold count, not the folds, as the SQL store does.
            listed = self._t.runs.copy_of(run)
            return replace(listed, folds=[], declared_fold_count=run.fold_count or None)

        chosen = [run for run in self._t.runs.rows().values() if matches(run)]
        return _newest_first(chosen, lambda r: r.created_at, lambda r: r.run_id, page, present)

    async def measurement_taken(self, measurement: str) -> bool:
        return self._t.measurement_taken(measurement)


class InMemorySimulationRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        if simulation.run_id not in self._t.runs.rows():
            raise Conflict(f"run {simulation.run_id} does not exist", {"reason": "unknown run"})
        if simulation.dataset_id not in self._t.datasets.rows():
            raise Conflict(f"dataset {simulation.dataset_id} does not exist", {"reason": "unknown dataset"})
        buckets = [bucket.bucket for bucket in simulation.trade_buckets]
        if len(buckets) != len(set(buckets)):
            raise Conflict("bucket names must be unique within a simulation", {"reason": "duplicate bucket"})
        ids = [trade.trade_id for trade in trades]
        if len(ids) != len(set(ids)):
            raise Conflict("trade_id must be unique within a simulation", {"reason": "duplicate trade_id"})
        stored = replace(simulation, trade_buckets=sorted(simulation.trade_buckets, key=lambda b: b.bucket))
        self._t.simulations.insert(simulation.simulation_id, stored)
        self._t.trades.insert(
            simulation.simulation_id, tuple(sorted(trades, key=lambda t: (t.bar_timestamp, t.trade_id)))
        )

    async def save(self, simulation: Simulation) -> None:
        self._t.simulations.update(simulation.simulation_id, simulation)

    async def get(self, simulation_id: UUID) -> Simulation | None:
        return self._t.simulations.get(simulation_id)

    async def list(self, filters: SimulationFilter, page: PageRequest) -> Page[Simulation]:
        def matches(sim: Simulation) -> bool:
            return (
                (filters.run_id is None or sim.run_id == filters.run_id)
                and (filters.dataset_id is None or sim.dataset_id == filters.dataset_id)
                and (filters.status is None or sim.status == filters.status)
            )

        def present(sim: Simulation) -> Simulation:
            return replace(self._t.simulations.copy_of(sim), trade_buckets=[])

        chosen = [sim for sim in self._t.simulations.rows().values() if matches(sim)]
        return _newest_first(chosen, lambda s: s.created_at, lambda s: s.simulation_id, page, present)

    async def trades(self, simulation_id: UUID, page: PageRequest) -> Page[Trade]:
        every = self._t.trades.get(simulation_id) or ()
        start = 0
        if page.after is not None:
            mark = trade_position(page.after)
            start = next(
                (i for i, trade in enumerate(every) if (trade.bar_timestamp, trade.trade_id) > mark),
                len(every),
            )
        window = every[start + page.offset : start + page.offset + page.limit + 1]
        items = list(window[: page.limit])
        more = len(window) > page.limit
        next_cursor = trade_cursor(items[-1]).encode() if more and items else None
        return Page(items, len(every), page.limit, page.offset, next_cursor)

    async def all_trades(self, simulation_id: UUID) -> TradeList:
        return list(self._t.trades.get(simulation_id) or ())

    async def measurement_taken(self, measurement: str) -> bool:
        return self._t.measurement_taken(measurement)


class InMemoryJobRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, job: Job) -> None:
        self._t.jobs.insert(job.job_id, job)

    async def save(self, job: Job) -> None:
        self._t.jobs.update(job.job_id, job)

    async def get(self, job_id: UUID) -> Job | None:
        return self._t.jobs.get(job_id)

    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]:
        chosen = [
            job
            for job in self._t.jobs.rows().values()
            if (filters.status is None or job.status == filters.status)
            and (filters.type is None or job.type == filters.type)
        ]
        return _newest_first(chosen, lambda j: j.created_at, lambda j: j.job_id, page, self._t.jobs.copy_of)

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        for job in self._t.jobs.rows().values():
            counts[job.status] += 1
        return counts


class InMemoryIdempotencyRecords:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def get(self, key: str, scope: str) -> IdempotencyRecord | None:
        record = self._t.idempotency.get((key, scope))
        return None if record is None else replace(record, body=copy.deepcopy(record.body))

    async def add(self, record: IdempotencyRecord) -> None:
        self._t.idempotency.insert((record.key, record.scope), replace(record, body=copy.deepcopy(record.body)))


class InMemoryTokenRepository:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, token: ApiToken) -> None:
        self._t.tokens.insert(token.token_id, token)

    async def save(self, token: ApiToken) -> None:
        self._t.tokens.update(token.token_id, token)

    async def get(self, token_id: UUID) -> ApiToken | None:
        return self._t.tokens.get(token_id)

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        return self._t.tokens.find(lambda token: token.token_hash == token_hash)

    async def list(self, page: PageRequest) -> Page[ApiToken]:
        every = self._t.tokens.rows().values()
        return _newest_first(every, lambda t: t.created_at, lambda t: t.token_id, page, self._t.tokens.copy_of)


# ---------------------------------------------------------------- unit of work


class InMemoryUnitOfWork:
    """A unit of work over `InMemoryMetadata`; a fresh private state when none is given."""

    def __init__(self, state: InMemoryMetadata | None = None) -> None:
        self.state = state if state is not None else InMemoryMetadata()
        self._tables = _Tables(self.state)
        # Typed as the ports: the UnitOfWork protocol declares them as (invariant) attributes.
        self.datasets: DatasetRepository = InMemoryDatasetRepository(self._tables)
        self.runs: RunRepository = InMemoryRunRepository(self._tables)
        self.simulations: SimulationRepository = InMemorySimulationRepository(self._tables)
        self.jobs: JobRepository = InMemoryJobRepository(self._tables)
        self.idempotency: IdempotencyRecords = InMemoryIdempotencyRecords(self._tables)
        self.tokens: TokenRepository = InMemoryTokenRepository(self._tables)
        self.run_search: RunSearch = InMemoryRunSearch(self._tables)
        self.simulation_search: SimulationSearch = InMemorySimulationSearch(self._tables)
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
        self.committed = True

    async def rollback(self) -> None:
        for table in self._tables.all():
            table.discard()


class InMemoryUnitOfWorkFactory:
    """The `UnitOfWorkFactory` over one shared state."""

    def __init__(self, state: InMemoryMetadata | None = None) -> None:
        self.state = state if state is not None else InMemoryMetadata()

    def __call__(self) -> UnitOfWork:
        return InMemoryUnitOfWork(self.state)
