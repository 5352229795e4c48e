"""Records whose rows live in the time-series store — a run's predictions, a simulation's trades.

The rows are written first and the record committed after; if either fails, neither stays: a measurement
this save created is dropped again. (Rows appended to a measurement that already existed cannot be taken
back, but its dedup keys make the retry that follows write them exactly once.)"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import pyarrow as pa

from application.ports import SeriesCatalog, SeriesWriter, UnitOfWork
from domain.errors import Conflict
from domain.frames import FrameKind, WriteMode
from domain.values import MeasurementName

# Measurements this process is writing for a record not committed yet, which the metadata store cannot see:
# without them two saves in the same second both took `<slug>_wf_<second>`, wrote into one table, and the
# one that failed dropped the other's rows.
_LANDING: set[str] = set()

async def choose_measurement(
    uow: UnitOfWork,
    requested: str | None,
    default: Callable[[datetime], MeasurementName],
    now: datetime,
    field_name: str,
) -> MeasurementName:
    """The client's measurement, or a fresh default; two records never share one."""
    if requested is not None:
        measurement = MeasurementName(requested, field_name)
        if await _taken(uow, measurement):
            raise Conflict(f"{field_name} {measurement} already belongs to another record", {"field": field_name})
        return measurement
    base = default(now)
    candidate, suffix = base, 1
    while await _taken(uow, candidate) or candidate in _LANDING:
        suffix += 1
        candidate = MeasurementName(f"{base}_{suffix}")
    return candidate


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
    """Write `rows` (if any) and yield how many were written; the block records what they belong to.

    Leaving the block with an error drops the measurement again when this write created it."""
    if rows is None:
        yield 0
        return
    if measurement in _LANDING:
        raise Conflict(
            f"measurement {measurement} is being written by another save; retry",
            {"measurement": str(measurement)},
        )
    _LANDING.add(measurement)
    try:
        fresh = await catalog.describe(measurement) is None
        try:
            report = await writer.write(measurement, rows, kind=kind, mode=WriteMode.APPEND)
            yield report.rows_written
        except BaseException:
            if fresh:
                await drop_quietly(writer, measurement)
            raise
    finally:
        _LANDING.discard(measurement)


async def drop_quietly(writer: SeriesWriter, measurement: MeasurementName) -> None:
    with contextlib.suppress(Exception):  # the failure that brought us here is the one worth reporting
        await writer.drop(measurement)
