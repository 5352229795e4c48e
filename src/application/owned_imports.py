"""Imports (`/api/questdb/import*`) into a measurement that a record owns — the desktop saves datasets and
trades this way. Such an import is accepted only when its kind is the one the owner keeps there and its
columns are ones the measurement has; then it goes through the owner: the record's counts and bounds, and
its event, follow. Anything else is a 409 naming the owner, and the measurement is left untouched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from application.dataset_frames import save_with_version
from application.landing import Owner
from application.ports import NameState, UnitOfWorkFactory
from application.series_ports import RangeQuery, RowFingerprints, RowsFingerprint, SeriesCatalog, SeriesReader
from application.streams import collect
from application.trade_tables import number_trades, trades_from_table
from domain.datasets import Dataset
from domain.errors import Conflict, InvalidInput, Refused
from domain.events import EventType
from domain.frames import FrameKind
from domain.lifecycle import require_open
from domain.runs import WalkforwardRun
from domain.simulations import Simulation, aggregate_buckets
from domain.values import MeasurementName
from domain.versions import FrameChange

RECORD_KINDS = {"run": FrameKind.PREDICTIONS, "simulation": FrameKind.TRADES}


@dataclass(frozen=True, slots=True)
class OwnedMeasurement:
    """A measurement some record holds, with that record as it was when the import started."""

    measurement: MeasurementName
    owner: Owner
    kind: FrameKind  # what the owner keeps in it
    record: Dataset | WalkforwardRun | Simulation

    def refuse(self, reason: str, **details: Any) -> Conflict:
        return refused(self.measurement, self.owner, reason, Refused, **details)

    def raise_for_missing_columns(self, error: InvalidInput) -> None:
        """A frame lacking its kind's columns is not the owner's frame: a 409 rather than the 400 it would be
        in a measurement nobody owns."""
        missing = error.details.get("missing_columns") if isinstance(error.details, dict) else None
        if missing:
            reason = f"it lacks the {self.kind.value} columns {', '.join(map(str, missing))}"
            raise self.refuse(reason, missing_columns=missing) from error


def refused(
    measurement: MeasurementName, owner: Owner, reason: str, error: type[Conflict] = Conflict, **details: Any
) -> Conflict:
    """The 409 of an import into an owned measurement: it names the owner."""
    return error(
        f"measurement {measurement} belongs to {owner.kind} {owner.id}: {reason}",
        {"measurement": str(measurement), "owner": {"kind": owner.kind, "id": str(owner.id)}} | details,
    )


async def owner_of(uow: UnitOfWorkFactory, measurement: MeasurementName) -> OwnedMeasurement | None:
    """The record holding `measurement`, or None when nobody does; a 409 while a save is still landing rows
    into it or its record is gone (a drop in progress)."""
    async with uow() as tx:
        holder = await tx.measurement_names.holder(measurement)
        if holder is None:
            return None
        owner = Owner(holder.owner_kind, holder.owner_id)
        record: Dataset | WalkforwardRun | Simulation | None
        if owner.kind == "dataset":
            record = await tx.datasets.get(owner.id)
        elif owner.kind == "run":
            record = await tx.runs.get(owner.id)
        else:
            record = await tx.simulations.get(owner.id)
    if holder.state is NameState.LANDING or record is None:
        raise refused(measurement, owner, "a save is still writing it, or its record is being removed; retry")
    if isinstance(record, Dataset):
        frames = (FrameKind.OHLCV, FrameKind.INDICATORS)
        kinds = [kind for kind in frames if record.measurement_for(kind) == measurement]
        if not kinds:  # renamed away while its name is still held
            raise refused(measurement, owner, "it is no longer one of the dataset's frames")
        return OwnedMeasurement(measurement, owner, kinds[0], record)
    return OwnedMeasurement(measurement, owner, RECORD_KINDS[owner.kind], record)


def import_kind(owned: OwnedMeasurement | None, asked: FrameKind | None) -> FrameKind:
    """The kind the frame is read as: the one asked for, else the owner's (a desktop may leave it out)."""
    if owned is None:
        return asked or FrameKind.GENERIC
    if asked is not None and asked is not owned.kind:
        raise owned.refuse(f"it takes kind={owned.kind.value}, not {asked.value}", kind=owned.kind.value)
    if isinstance(owned.record, WalkforwardRun):
        require_open(owned.record, "predictions")
    return owned.kind


async def check_columns(owned: OwnedMeasurement | None, schema: pa.Schema, catalog: SeriesCatalog) -> None:
    """Every column of the frame must be one the owner's measurement already has (a measurement not yet
    created takes what its kind allows)."""
    if owned is None:
        return
    info = await catalog.describe(owned.measurement)
    if info is None:
        return
    known = {column.name for column in info.columns}
    foreign = [name for name in schema.names if name not in known]
    if foreign:
        raise owned.refuse(f"it has no column {', '.join(foreign[:20])}", unknown_columns=foreign[:100])


async def rows_before(owned: OwnedMeasurement | None, fingerprints: RowFingerprints) -> RowsFingerprint | None:
    """A dataset's rows before the import, to tell which bars it changed (its next version); None for other owners."""
    if owned is None or not isinstance(owned.record, Dataset):
        return None
    return await fingerprints.fingerprint(owned.measurement)


@dataclass(frozen=True, slots=True)
class OwnerPorts:
    """The ports an import takes through its owner."""

    uow: UnitOfWorkFactory
    catalog: SeriesCatalog
    fingerprints: RowFingerprints
    reader: SeriesReader


async def through_owner(
    owned: OwnedMeasurement, before: RowsFingerprint | None, now: datetime, ports: OwnerPorts
) -> None:
    """After the rows landed: the record takes the store's count and bounds, and its event goes out; a dataset
    records a new version, exactly as an upload does (none when the rows are the ones it held)."""
    info = await ports.catalog.describe(owned.measurement)
    record = owned.record
    change = None
    if isinstance(record, Dataset) and before is not None:
        after = await ports.fingerprints.fingerprint(owned.measurement)
        change = FrameChange(owned.kind, after.checksum, after.first_difference(before))
    async with ports.uow() as tx:
        if isinstance(record, Dataset):
            dataset = await tx.datasets.get(record.dataset_id)
            if dataset is None or info is None:
                return
            dataset.record_frame(owned.kind, info.stats, now)
            await save_with_version(tx, dataset, [] if change is None else [change], now, new=False)
        elif isinstance(record, Simulation):
            simulation = await tx.simulations.get(record.simulation_id)
            if simulation is None or info is None:
                return
            # Its trades, buckets and equity follow the measurement: read back whole, as a save would store them.
            table = await collect(ports.reader.read(RangeQuery(measurement=owned.measurement)))
            trades = [] if table is None else trades_from_table(number_trades(table))
            simulation.trade_count = len(trades)
            simulation.trade_buckets = aggregate_buckets(trades)
            await tx.simulations.replace_trades(simulation, trades)
            await tx.events.add(
                EventType.SIMULATION_UPDATED,
                {"simulation_id": str(simulation.simulation_id), "dataset_id": str(simulation.dataset_id)},
            )
        else:
            await tx.events.add(
                EventType.RUN_UPDATED,
                {"run_id": str(record.run_id), "dataset_id": str(record.dataset_id), "status": record.status.value},
            )
        await tx.commit()
