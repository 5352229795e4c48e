"""The metadata repositories over in-memory tables; behaviour follows the SQL adapters (ordering, paging,
conflicts), and the contract tests hold both to it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from adapters.memory.tables import Table, Tables, contains, newest_first
from adapters.trade_paging import trade_cursor, trade_position
from application.jobs import uploads_of
from application.ports import DatasetFilter, DatasetListing, IdempotencyRecord, JobFilter, RunFilter, SimulationFilter
from domain.datasets import Dataset
from domain.errors import Conflict, NotFound
from domain.jobs import Job, JobStatus
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun
from domain.simulations import Simulation, Trade
from domain.tokens import ApiToken

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# Spelled once here: inside a repository class `list` names the method, not the builtin.
TradeList = list[Trade]
JobList = list[Job]


def _require(table: Table[UUID, V], key: UUID, noun: str) -> None:
    """As the SQL store answers a delete that finds no row."""
    if table.get(key) is None:
        raise NotFound(f"{noun} {key} does not exist")


class _Entities(Generic[K, V]):
    """Adds, saves and gets the entities of one table, each under its key."""

    def __init__(self, tables: Tables, table: Table[K, V], key: Callable[[V], K]) -> None:
        self._t = tables
        self._table = table
        self._key = key

    async def add(self, item: V) -> None:
        self._table.insert(self._key(item), item)

    async def save(self, item: V) -> None:
        self._table.update(self._key(item), item)

    async def get(self, key: K) -> V | None:
        found: V | None = self._table.get(key)
        return found


class InMemoryDatasetRepository(_Entities[UUID, Dataset]):
    def __init__(self, tables: Tables) -> None:
        super().__init__(tables, tables.datasets, lambda d: d.dataset_id)

    async def lock(self, dataset_id: UUID) -> None:
        """One event loop, no awaits between read and write: nothing to lock."""

    async def get_by_slug(self, slug: str) -> Dataset | None:
        return self._t.datasets.find(lambda d: d.dataset_slug == slug)

    async def list(self, filters: DatasetFilter, page: PageRequest) -> Page[DatasetListing]:
        def matches(d: Dataset) -> bool:
            return (
                (filters.symbol is None or d.symbol == filters.symbol)
                and (filters.granularity is None or d.granularity == filters.granularity)
                and (
                    not filters.search
                    or contains(d.dataset_slug, filters.search)
                    or contains(d.symbol, filters.search)
                )
            )

        def present(d: Dataset) -> DatasetListing:
            runs, sims = self._counts(d.dataset_id)
            return DatasetListing(self._t.datasets.copy_of(d), runs, sims)

        chosen = [d for d in self._t.datasets.rows().values() if matches(d)]
        return newest_first(chosen, lambda d: d.created_at, lambda d: d.dataset_id, page, present)

    async def related_counts(self, dataset_id: UUID) -> tuple[int, int]:
        return self._counts(dataset_id)

    async def delete(self, dataset_id: UUID) -> None:
        if any(self._counts(dataset_id)):
            raise Conflict(f"dataset {dataset_id} still has runs or simulations", {"reason": "foreign key"})
        _require(self._t.datasets, dataset_id, "dataset")
        self._t.datasets.delete(dataset_id)

    def _counts(self, dataset_id: UUID) -> tuple[int, int]:
        runs = sum(1 for run in self._t.runs.rows().values() if run.dataset_id == dataset_id)
        sims = sum(1 for sim in self._t.simulations.rows().values() if sim.dataset_id == dataset_id)
        return runs, sims


def _as_stored(run: WalkforwardRun) -> WalkforwardRun:
    """The run as the SQL store gives it back: folds by number, a declared count only without folds."""
    folds = sorted(run.folds, key=lambda fold: fold.fold_number)
    return replace(run, folds=folds, declared_fold_count=None if folds else (run.fold_count or None))


class InMemoryRunRepository(_Entities[UUID, WalkforwardRun]):
    def __init__(self, tables: Tables) -> None:
        super().__init__(tables, tables.runs, lambda r: r.run_id)

    async def lock(self, run_id: UUID) -> None:
        """One event loop, no awaits between read and write: nothing to lock."""

    async def add(self, run: WalkforwardRun) -> None:
        if run.dataset_id not in self._t.datasets.rows():
            raise Conflict(f"dataset {run.dataset_id} does not exist", {"reason": "unknown dataset"})
        self._t.runs.insert(run.run_id, _as_stored(run))

    async def save(self, run: WalkforwardRun) -> None:
        stored = self._t.runs.get(run.run_id)
        # As in SQL: the run's own fields; its folds change only through replace_folds.
        folds = stored.folds if stored is not None else run.folds
        self._t.runs.update(run.run_id, _as_stored(replace(run, folds=folds)))

    async def delete(self, run_id: UUID) -> None:
        if any(sim.run_id == run_id for sim in self._t.simulations.rows().values()):
            raise Conflict(f"run {run_id} still has simulations", {"reason": "foreign key"})
        _require(self._t.runs, run_id, "run")
        self._t.runs.delete(run_id)

    async def prediction_measurement(self, run_id: UUID) -> str | None:
        stored = self._t.runs.get(run_id)
        return None if stored is None else str(stored.prediction_measurement)

    async def replace_folds(self, run: WalkforwardRun) -> None:
        stored = self._t.runs.get(run.run_id)
        if stored is None:
            raise NotFound(f"run {run.run_id} does not exist")
        self._t.runs.update(run.run_id, _as_stored(replace(stored, folds=list(run.folds))))

    async def list(self, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
        def matches(run: WalkforwardRun) -> bool:
            return (
                (filters.dataset_id is None or run.dataset_id == filters.dataset_id)
                and (filters.dataset_slug is None or run.dataset_slug == filters.dataset_slug)
                and (filters.status is None or run.status == filters.status)
                and (filters.measurement is None or run.prediction_measurement == filters.measurement)
                and (
                    not filters.search
                    or contains(run.dataset_slug, filters.search)
                    or contains(run.prediction_measurement, filters.search)
                    or contains(run.target_column, filters.search)
                )
            )

        def present(run: WalkforwardRun) -> WalkforwardRun:
            # Lists carry the fold count, not the folds, as the SQL store does.
            listed = self._t.runs.copy_of(run)
            return replace(listed, folds=[], declared_fold_count=run.fold_count or None)

        chosen = [run for run in self._t.runs.rows().values() if matches(run)]
        return newest_first(chosen, lambda r: r.created_at, lambda r: r.run_id, page, present)

    async def measurement_taken(self, measurement: str) -> bool:
        return self._t.measurement_taken(measurement)


class InMemorySimulationRepository:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def lock(self, simulation_id: UUID) -> None:
        """One event loop, no awaits between read and write: nothing to lock."""

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

    async def replace_trades(self, simulation: Simulation, trades: Sequence[Trade]) -> None:
        stored = replace(simulation, trade_buckets=sorted(simulation.trade_buckets, key=lambda b: b.bucket))
        self._t.simulations.update(simulation.simulation_id, stored)
        ordered = tuple(sorted(trades, key=lambda t: (t.bar_timestamp, t.trade_id)))
        if self._t.trades.get(simulation.simulation_id) is None:
            self._t.trades.insert(simulation.simulation_id, ordered)
        else:
            self._t.trades.update(simulation.simulation_id, ordered)

    async def get(self, simulation_id: UUID) -> Simulation | None:
        return self._t.simulations.get(simulation_id)

    async def delete(self, simulation_id: UUID) -> None:
        _require(self._t.simulations, simulation_id, "simulation")
        self._t.trades.delete(simulation_id)
        self._t.simulations.delete(simulation_id)

    async def list(self, filters: SimulationFilter, page: PageRequest) -> Page[Simulation]:
        slug_ids = {d.dataset_id for d in self._t.datasets.rows().values() if d.dataset_slug == filters.dataset_slug}

        def matches(sim: Simulation) -> bool:
            return (
                (filters.run_id is None or sim.run_id == filters.run_id)
                and (filters.dataset_id is None or sim.dataset_id == filters.dataset_id)
                and (filters.status is None or sim.status == filters.status)
                and (filters.dataset_slug is None or sim.dataset_id in slug_ids)
            )

        def present(sim: Simulation) -> Simulation:
            return replace(self._t.simulations.copy_of(sim), trade_buckets=[])

        chosen = [sim for sim in self._t.simulations.rows().values() if matches(sim)]
        return newest_first(chosen, lambda s: s.created_at, lambda s: s.simulation_id, page, present)

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


class InMemoryJobRepository(_Entities[UUID, Job]):
    def __init__(self, tables: Tables) -> None:
        super().__init__(tables, tables.jobs, lambda j: j.job_id)

    async def list(self, filters: JobFilter, page: PageRequest) -> Page[Job]:
        chosen = [
            job
            for job in self._t.jobs.rows().values()
            if (filters.status is None or job.status == filters.status)
            and (filters.type is None or job.type == filters.type)
        ]
        return newest_first(chosen, lambda j: j.created_at, lambda j: j.job_id, page, self._t.jobs.copy_of)

    async def delete(self, job_id: UUID) -> None:
        _require(self._t.jobs, job_id, "job")
        self._t.jobs.delete(job_id)

    async def finished_before(self, cutoff: datetime, limit: int) -> JobList:
        done = [
            job
            for job in self._t.jobs.rows().values()
            if job.status.finished and job.completed_at is not None and job.completed_at < cutoff
        ]
        done.sort(key=lambda job: (job.completed_at or cutoff, job.job_id))
        return [self._t.jobs.copy_of(job) for job in done[:limit]]

    async def count_by_status(self) -> dict[JobStatus, int]:
        counts = dict.fromkeys(JobStatus, 0)
        for job in self._t.jobs.rows().values():
            counts[job.status] += 1
        return counts

    async def uploads_in_use(self, paths: Sequence[str]) -> set[str]:
        wanted = set(paths)
        live = [job for job in self._t.jobs.rows().values() if job.status is not JobStatus.COMPLETED]
        return {path for job in live for path in uploads_of(job) if path in wanted}


class InMemoryIdempotencyRecords:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def get(self, key: str, scope: str) -> IdempotencyRecord | None:
        record = self._t.idempotency.get((key, scope))
        return None if record is None else replace(record, body=copy.deepcopy(record.body))

    async def add(self, record: IdempotencyRecord) -> None:
        self._t.idempotency.insert((record.key, record.scope), replace(record, body=copy.deepcopy(record.body)))


class InMemoryTokenRepository(_Entities[UUID, ApiToken]):
    def __init__(self, tables: Tables) -> None:
        super().__init__(tables, tables.tokens, lambda t: t.token_id)

    async def get_by_hash(self, token_hash: str) -> ApiToken | None:
        return self._t.tokens.find(lambda token: token.token_hash == token_hash)

    async def list(self, page: PageRequest) -> Page[ApiToken]:
        every = self._t.tokens.rows().values()
        return newest_first(every, lambda t: t.created_at, lambda t: t.token_id, page, self._t.tokens.copy_of)
