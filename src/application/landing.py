"""Records whose rows live in the time-series store — a run's predictions, a simulation's trades.

The measurement name is reserved first, in the metadata store and in a transaction of its own, so no other
save in any process can write into it; then the rows are written (the reservation's lease renewed all the
while); then the record commits and settles the reservation. If anything fails, nothing stays: a
measurement this save created is dropped and its name released. A save whose process dies lets its lease
lapse: the next save of that name takes it over, and the sweep releases it. (Rows appended to a
measurement that already existed cannot be taken back, but its dedup keys make the retry that follows
write them exactly once.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pyarrow as pa

from application.answers import PlainAnswer
from application.idempotency import IdempotencyKey, remember_answer
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.series_ports import SeriesCatalog, SeriesWriter, WriteOptions
from domain.errors import Conflict
from domain.events import EventType
from domain.frames import FrameKind, WriteMode
from domain.values import MeasurementName


@dataclass(frozen=True, slots=True)
class Owner:
    """The record a measurement name is reserved for."""

    kind: str  # "dataset", "run" or "simulation"
    id: UUID


@dataclass(frozen=True, slots=True)
class WantedName:
    """The measurement a save asks for: the name the client sent as `field_name`, or else `default`'s."""

    field_name: str
    requested: str | None
    default: Callable[[datetime], MeasurementName]


async def try_reserve(uow: UnitOfWorkFactory, name: MeasurementName, owner: Owner, now: datetime) -> bool:
    """Reserve `name` for this save in a committed transaction of its own; False when a record or another
    save (even one for the same record id) holds it."""
    async with uow() as tx:
        if await tx.measurement_names.holder(name) is None and await _taken(tx, name):
            return False  # owned by a record written before names were reserved (or by a desktop directly)
        reserved = await tx.measurement_names.reserve(name, owner.kind, owner.id, now)
        await tx.commit()
    return reserved


async def reserve_measurement(
    uow: UnitOfWorkFactory, wanted: WantedName, owner: Owner, now: datetime
) -> MeasurementName:
    """The client's measurement, or the default (`_2`, `_3`, ... when taken), reserved for `owner`.

    An explicitly requested name that is taken is a conflict; a default one never is."""
    field_name = wanted.field_name
    if wanted.requested is not None:
        measurement = MeasurementName(wanted.requested, field_name)
        if not await try_reserve(uow, measurement, owner, now):
            raise Conflict(f"{field_name} {measurement} already belongs to another record", {"field": field_name})
        return measurement
    return await reserve_default(uow, wanted.default(now), owner, now)


async def reserve_default(
    uow: UnitOfWorkFactory, base: MeasurementName, owner: Owner, now: datetime
) -> MeasurementName:
    candidate, suffix = base, 1
    while not await try_reserve(uow, candidate, owner, now):
        suffix += 1
        candidate = MeasurementName(f"{base}_{suffix}")
    return candidate


async def release_quietly(uow: UnitOfWorkFactory, names: list[MeasurementName], owner: Owner) -> None:
    """Free names this save reserved and never settled; the failure that brought us here is the one worth
    reporting, so a failing release is swallowed (the name then stays reserved, which loses nothing)."""
    for name in names:
        with contextlib.suppress(Exception):
            async with uow() as tx:
                await tx.measurement_names.release(name, owner.id)
                await tx.commit()


async def release_stale_names(*, uow: UnitOfWorkFactory, clock: Clock) -> list[str]:
    """Frees the reservations of saves whose process died mid-save (their lease lapsed); a measurement such
    a save left behind is no record's, for the orphan finder to catch."""
    async with uow() as tx:
        released = await tx.measurement_names.release_stale(clock.now())
        await tx.commit()
    return released


async def settle(uow: UnitOfWork, name: MeasurementName, owner: Owner, now: datetime) -> None:
    """Inside the record's own transaction: the name becomes the committed record's."""
    if not await uow.measurement_names.settle(name, owner.kind, owner.id, now):
        raise Conflict(f"measurement {name} belongs to another record", {"measurement": str(name)})


async def commit_saved(
    tx: UnitOfWork,
    saved: PlainAnswer,
    key: IdempotencyKey | None,
    event: tuple[EventType, dict[str, Any]],
    *,
    measurement: MeasurementName,
    owner: Owner,
    now: datetime,
) -> None:
    """A new record's last steps, in the transaction that added it: its measurement name settled on it, its
    answer kept for a retry with the same key, its event announced, and all of it committed at once."""
    await settle(tx, measurement, owner, now)
    await remember_answer(tx, key, True, saved.as_dict(), now)
    await tx.events.add(*event)
    await tx.commit()


@asynccontextmanager
async def leases_kept(
    uow: UnitOfWorkFactory, names: list[MeasurementName], owner: Owner, now: datetime
) -> AsyncIterator[None]:
    """Renews the LANDING leases of `names` (a third of a lease apart) for as long as the block runs: only a
    save whose process died lets its reservation lapse. `names` may grow while the block runs."""
    period = uow().measurement_names.lease.total_seconds() / 3
    started = time.monotonic()

    async def renew_forever() -> None:
        while True:
            await asyncio.sleep(period)
            moment = now + timedelta(seconds=time.monotonic() - started)
            with contextlib.suppress(Exception):  # a missed renewal is retried: the lease lasts two more
                async with uow() as tx:
                    for name in list(names):
                        await tx.measurement_names.renew(name, owner.id, moment)
                    await tx.commit()

    renewing = asyncio.get_running_loop().create_task(renew_forever())
    try:
        yield
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing


@asynccontextmanager
async def reserved_measurement(
    uow: UnitOfWorkFactory, wanted: WantedName, owner: Owner, now: datetime
) -> AsyncIterator[MeasurementName]:
    """A name reserved for the block; leaving it with an error releases the name again."""
    measurement = await reserve_measurement(uow, wanted, owner, now)
    try:
        async with leases_kept(uow, [measurement], owner, now):
            yield measurement
    except BaseException:
        await release_quietly(uow, [measurement], owner)
        raise


async def _taken(uow: UnitOfWork, measurement: str) -> bool:
    return await uow.runs.measurement_taken(measurement) or await uow.simulations.measurement_taken(measurement)


@asynccontextmanager
async def landed_rows(
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    measurement: MeasurementName,
    rows: AsyncIterator[pa.RecordBatch] | None,
    kind: FrameKind,
) -> AsyncIterator[int]:
    """Write `rows` (if any) into a measurement this save has reserved, and yield how many were written;
    the block records what they belong to.

    Leaving the block with an error drops the measurement again when this write created it."""
    if rows is None:
        yield 0
        return
    fresh = await catalog.describe(measurement) is None
    try:
        report = await writer.write(measurement, rows, WriteOptions(kind=kind, mode=WriteMode.APPEND))
        yield report.rows_written
    except BaseException:
        if fresh:
            await drop_quietly(writer, measurement)
        raise


async def drop_quietly(writer: SeriesWriter, measurement: MeasurementName) -> None:
    with contextlib.suppress(Exception):  # the failure that brought us here is the one worth reporting
        await writer.drop(measurement)
