"""What the store holds that no record accounts for (`GET /api/maintenance/orphans`, `stage1 gc`).

Only the reserved measurement names say what the service created and for whom, so only those can be
"unowned": a name whose record is gone (DROPPING after a delete, or OWNED by a record removed behind the
service's back). A measurement nobody reserved is "free": a user's own import, never dropped here. A name
still LANDING belongs to a save in progress and is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.answers import PlainAnswer
from application.ports import NameReservation, NameState, UnitOfWork, UnitOfWorkFactory
from application.series_ports import SeriesCatalog, SeriesWriter
from domain.values import MeasurementName


@dataclass(frozen=True, slots=True)
class Orphans(PlainAnswer):
    unowned_measurements: list[str]
    missing_measurements: list[dict[str, str]]
    free_measurements: list[str]


async def find_orphans(*, uow: UnitOfWorkFactory, catalog: SeriesCatalog) -> Orphans:
    existing = set(await catalog.names())
    unowned: list[str] = []
    missing: list[dict[str, str]] = []
    async with uow() as tx:
        reserved = {r.name: r for r in await tx.measurement_names.every()}
        for name, reservation in reserved.items():
            if reservation.state is NameState.LANDING:
                continue
            owner_rows = await _owner_rows(tx, reservation)
            if owner_rows is None or reservation.state is NameState.DROPPING:
                if name in existing and not await tx.runs.measurement_taken(name):
                    unowned.append(name)
            elif owner_rows and name not in existing:
                missing.append({"kind": reservation.owner_kind, "id": str(reservation.owner_id), "measurement": name})
        free = [name for name in sorted(existing - set(reserved)) if not await tx.runs.measurement_taken(name)]
    return Orphans(sorted(unowned), missing, free)


async def collect_garbage(
    *, uow: UnitOfWorkFactory, catalog: SeriesCatalog, writer: SeriesWriter
) -> tuple[Orphans, list[str]]:
    """Drops the unowned measurements (never a free one) and frees their names; answers what it found and
    what it dropped. Each name is DROPPING before its measurement goes, as after a delete."""
    found = await find_orphans(uow=uow, catalog=catalog)
    dropped: list[str] = []
    for name in found.unowned_measurements:
        async with uow() as tx:
            held = await tx.measurement_names.holder(name)
            if held is None or held.state is NameState.LANDING or await tx.runs.measurement_taken(name):
                continue  # changed since it was found
            await tx.measurement_names.doom(name, held.owner_kind, held.owner_id, held.created_at)
            await tx.commit()
        await writer.drop(MeasurementName(name))
        async with uow() as tx:
            await tx.measurement_names.forget(name)
            await tx.commit()
        dropped.append(name)
    return found, dropped


async def _owner_rows(tx: UnitOfWork, reservation: NameReservation) -> int | None:
    """None when the owner record is gone; else how many rows it says its measurement holds (-1: unknown)."""
    owner_id: UUID = reservation.owner_id
    if reservation.owner_kind == "dataset":
        dataset = await tx.datasets.get(owner_id)
        if dataset is None:
            return None
        both = (dataset.ohlcv_measurement, dataset.indicator_measurement)
        rows = (dataset.ohlcv_rows, dataset.indicator_rows)
        return next((count for name, count in zip(both, rows, strict=True) if name == reservation.name), 0)
    if reservation.owner_kind == "run":
        # A run's predictions are optional and it keeps no count of them: a missing table is no loss.
        return None if await tx.runs.get(owner_id) is None else 0
    if reservation.owner_kind == "simulation":
        simulation = await tx.simulations.get(owner_id)
        return None if simulation is None else simulation.trade_count
    return None  # a name held while `DELETE /api/questdb/measurement` drops it
