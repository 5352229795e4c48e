"""Simulation use cases: save a replay with its trades and buckets, read trades and equity back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Final
from uuid import UUID

import pyarrow as pa

from application.answers import PlainAnswer
from application.commands import SaveSimulation, described
from application.idempotency import earlier_answer
from application.landing import Owner, WantedName, commit_saved, landed_rows, reserved_measurement
from application.ports import Clock, IdGenerator, SimulationFilter, UnitOfWorkFactory
from application.records import RecordKind, stale_marked
from application.runs import find_run
from application.series_ports import RangeQuery, SeriesCatalog, SeriesReader, SeriesWriter, UploadReader
from application.streams import collect, from_batches
from application.timeseries import RangeRows
from application.trade_tables import number_trades, trades_from_table, trades_to_batch
from domain.errors import Conflict, NotFound
from domain.events import EventType
from domain.frames import TIMESTAMP, TRADE_COLUMNS, FrameKind
from domain.paging import Page, PageRequest
from domain.simulations import (
    EquityPoint,
    Simulation,
    Trade,
    aggregate_buckets,
    default_trades_measurement,
    equity_curve,
)


@dataclass(frozen=True, slots=True)
class SimulationSaved(PlainAnswer):
    simulation_id: str
    trades_measurement: str
    questdb_rows_written: int


async def save_simulation(
    command: SaveSimulation,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    ids: IdGenerator,
) -> SimulationSaved:
    """Trades land in the store and the simulation (with trades and buckets) in metadata, or neither."""
    async with uow() as tx:
        replay = await earlier_answer(tx, command.idempotency)
        if replay is not None:
            return SimulationSaved(**replay.body)
        try:
            run = await find_run(tx, command.run_ref)
        except NotFound as exc:
            raise Conflict(f"run {command.run_ref[:80]!r} does not exist", {"run_id": command.run_ref[:80]}) from exc
        if command.simulation_id is not None and await tx.simulations.get(command.simulation_id) is not None:
            raise Conflict(f"simulation {command.simulation_id} already exists")
    now = clock.now()
    owner = Owner("simulation", command.simulation_id or ids.new_id())
    default = partial(default_trades_measurement, run.dataset_slug)
    wanted = WantedName("trades_measurement", command.trades_measurement, default)
    async with reserved_measurement(uow, wanted, owner, now) as measurement:
        table = None if command.trades is None else await collect(uploads.read(command.trades, FrameKind.TRADES))
        table = None if table is None else number_trades(table)
        trades = [] if table is None else trades_from_table(table)
        simulation = Simulation(
            **described(command.details),
            simulation_id=owner.id,
            run_id=run.run_id,
            dataset_id=run.dataset_id,
            trades_measurement=measurement,
            created_at=now,
            # Its trades replay the run's predictions: it stands on the data the run was saved against.
            dataset_version=run.dataset_version,
            trade_count=len(trades) if trades else (command.trade_count or 0),
            trade_buckets=list(command.trade_buckets)
            if command.trade_buckets is not None
            else aggregate_buckets(trades),
        )
        rows = from_batches(table.to_batches()) if table is not None and table.num_rows else None
        async with landed_rows(writer, catalog, measurement, rows, FrameKind.TRADES) as written:
            saved = SimulationSaved(str(simulation.simulation_id), str(measurement), written)
            async with uow() as tx:
                await tx.simulations.add(simulation, trades)
                created = {
                    "simulation_id": saved.simulation_id,
                    "run_id": str(run.run_id),
                    "dataset_id": str(run.dataset_id),
                    "trades_measurement": saved.trades_measurement,
                }
                event = (EventType.SIMULATION_CREATED, created)
                await commit_saved(tx, saved, command.idempotency, event, measurement=measurement, owner=owner, now=now)
    return saved


async def list_simulations(filters: SimulationFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[Simulation]:
    async with uow.reading() as tx:
        return await stale_marked(tx, await tx.simulations.list(filters, page))


SIMULATIONS: Final[RecordKind[Simulation]] = RecordKind("simulation", lambda tx: tx.simulations)
find_simulation = SIMULATIONS.find


async def get_simulation(ref: str, *, uow: UnitOfWorkFactory) -> Simulation:
    return await SIMULATIONS.get(ref, uow)


async def trades_page(ref: str, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[Trade]:
    async with uow() as tx:
        simulation = await find_simulation(tx, ref)
        return await tx.simulations.trades(simulation.simulation_id, page)


async def read_trades(
    ref: str, timeout: float, *, uow: UnitOfWorkFactory, catalog: SeriesCatalog, reader: SeriesReader
) -> RangeRows | None:
    """A simulation's trades in the store; None when it stored none there."""
    async with uow() as tx:
        simulation = await find_simulation(tx, ref)
    info = await catalog.describe(simulation.trades_measurement)
    if info is None:
        return None
    present = {column.name for column in info.columns}
    columns = [TIMESTAMP] + [c for c in TRADE_COLUMNS if c in present and c != "bar_timestamp"]
    return RangeRows(RangeQuery(measurement=simulation.trades_measurement, columns=columns, timeout=timeout), reader)


async def trades_as_batches(ref: str, *, uow: UnitOfWorkFactory) -> AsyncIterator[pa.RecordBatch]:
    """A simulation's trades from the metadata store, for one saved without a trades measurement."""
    async with uow() as tx:
        simulation = await find_simulation(tx, ref)
        trades = await tx.simulations.all_trades(simulation.simulation_id)
    yield trades_to_batch(trades)


@dataclass(frozen=True, slots=True)
class EquityCurve:
    simulation_id: UUID
    initial_capital: float
    points: list[EquityPoint]


async def simulation_equity(ref: str, *, uow: UnitOfWorkFactory) -> EquityCurve:
    async with uow() as tx:
        simulation = await find_simulation(tx, ref)
        trades = await tx.simulations.all_trades(simulation.simulation_id)
    capital = simulation.initial_capital
    return EquityCurve(simulation.simulation_id, capital, equity_curve(trades, capital))
