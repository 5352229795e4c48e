"""Simulation use cases: save a replay with its trades and buckets, read trades and equity back."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any
from uuid import UUID

import pyarrow as pa
import pyarrow.compute as pc

from application.commands import SaveSimulation, described
from application.idempotency import earlier_answer, remember_answer
from application.landing import Owner, landed_rows, reserved_measurement, settle
from application.ports import Clock, EventPublisher, IdGenerator, SimulationFilter, UnitOfWork, UnitOfWorkFactory
from application.runs import find_run
from application.series_ports import RangeQuery, SeriesCatalog, SeriesReader, SeriesWriter, UploadReader
from application.staleness import mark_stale
from application.streams import collect, from_batches
from application.timeseries import RangeRows
from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import EventType
from domain.frames import TIMESTAMP, TRADE_COLUMNS, FrameKind
from domain.paging import Page, PageRequest
from domain.simulations import (
    EquityPoint,
    Side,
    Simulation,
    Trade,
    aggregate_buckets,
    default_trades_measurement,
    equity_curve,
)


@dataclass(frozen=True, slots=True)
class SimulationSaved:
    simulation_id: str
    trades_measurement: str
    questdb_rows_written: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def save_simulation(
    command: SaveSimulation,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    ids: IdGenerator,
    events: EventPublisher,
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
    async with reserved_measurement(
        uow, command.trades_measurement, default, now, "trades_measurement", owner
    ) as measurement:
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
                await settle(tx, measurement, owner, now)
                await remember_answer(tx, command.idempotency, True, saved.as_dict(), now)
                await tx.commit()
    await events.publish(
        EventType.SIMULATION_CREATED,
        {
            "simulation_id": saved.simulation_id,
            "run_id": str(run.run_id),
            "dataset_id": str(run.dataset_id),
            "trades_measurement": saved.trades_measurement,
        },
    )
    return saved


async def list_simulations(filters: SimulationFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[Simulation]:
    async with uow() as tx:
        found = await tx.simulations.list(filters, page)
        await mark_stale(tx, found.items)
        return found


async def get_simulation(ref: str, *, uow: UnitOfWorkFactory) -> Simulation:
    async with uow() as tx:
        return await find_simulation(tx, ref)


async def find_simulation(uow: UnitOfWork, ref: str) -> Simulation:
    simulation = None
    with contextlib.suppress(ValueError):
        simulation = await uow.simulations.get(UUID(ref))
    if simulation is None:
        raise NotFound(f"simulation {ref[:80]!r} not found", {"simulation_id": ref[:80]})
    await mark_stale(uow, [simulation])
    return simulation


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


# ---------------------------------------------------------------- trades as Arrow


def number_trades(table: pa.Table) -> pa.Table:
    """Trades in bar order; a frame without `trade_id` gets the sequence 1..N in that order."""
    ordered = table.sort_by([(TIMESTAMP, "ascending")])
    if "trade_id" in ordered.column_names:
        ids = ordered.column("trade_id")
        if ids.null_count:
            raise InvalidInput("trade_id must be set on every trade", {"field": "trade_id"})
        ids64 = pc.cast(ids, pa.int64(), safe=True)
        if pc.count_distinct(ids64).as_py() != ordered.num_rows:
            raise InvalidInput("trade_id must be unique within a simulation", {"field": "trade_id"})
        return ordered.set_column(ordered.column_names.index("trade_id"), "trade_id", ids64)
    return ordered.append_column("trade_id", pa.array(range(1, ordered.num_rows + 1), pa.int64()))


def trades_from_table(table: pa.Table) -> list[Trade]:
    columns = set(table.column_names)

    def nanos(name: str) -> list[int | None]:
        if name not in columns:
            return [None] * table.num_rows
        values = pc.cast(table.column(name), pa.timestamp("ns")).cast(pa.int64())
        return values.to_pylist()  # type: ignore[no-any-return]

    def floats(name: str) -> list[float | None]:
        if name not in columns:
            return [None] * table.num_rows
        return [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
            for v in table.column(name).to_pylist()
        ]

    def ints(name: str) -> list[int | None]:
        if name not in columns:
            return [None] * table.num_rows
        return [None if v is None else int(v) for v in table.column(name).to_pylist()]

    bar, entry, exit_ = nanos(TIMESTAMP), nanos("entry_timestamp"), nanos("exit_timestamp")
    ids, folds = ints("trade_id"), ints("fold_number")
    sides = [Side.parse(str(v)) for v in table.column("side").to_pylist()]
    fields = {name: floats(name) for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")}
    trades = []
    for i in range(table.num_rows):
        bar_ns = bar[i]
        trade_id = ids[i]
        if bar_ns is None or trade_id is None:
            raise InvalidInput("every trade needs a bar_timestamp", {"row": i + 1})
        trades.append(
            Trade(
                trade_id=trade_id,
                bar_timestamp=bar_ns,
                side=sides[i],
                entry_price=fields["entry_price"][i],
                exit_price=fields["exit_price"][i],
                quantity=fields["quantity"][i],
                pnl=fields["pnl"][i],
                return_pct=fields["return_pct"][i],
                fees=fields["fees"][i],
                fold_number=folds[i],
                entry_timestamp=entry[i],
                exit_timestamp=exit_[i],
            )
        )
    return trades


def trades_to_batch(trades: list[Trade]) -> pa.RecordBatch:
    """Trades as a batch whose columns are the contract's trade fields, times as timestamps."""

    def ts(values: list[int | None]) -> pa.Array:
        return pa.array(values, pa.int64()).cast(pa.timestamp("ns"))

    return pa.RecordBatch.from_arrays(
        [
            pa.array([t.trade_id for t in trades], pa.int64()),
            ts([t.bar_timestamp for t in trades]),
            ts([t.entry_timestamp for t in trades]),
            ts([t.exit_timestamp for t in trades]),
            pa.array([t.side.value for t in trades], pa.string()),
            *(
                pa.array([getattr(t, name) for t in trades], pa.float64())
                for name in ("entry_price", "exit_price", "quantity", "pnl", "return_pct", "fees")
            ),
            pa.array([t.fold_number for t in trades], pa.int64()),
        ],
        names=list(TRADE_COLUMNS),
    )
