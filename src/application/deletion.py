"""Delete a dataset, a run or a simulation with everything it owns, and drop the measurements they held.

Crash-safe by construction: the records go, their measurement names turn DROPPING and a `measurement_drop`
job is queued, all in one metadata transaction. The job (on the durable queue, retried until it succeeds)
drops each measurement and only then frees its name, so a crash anywhere leaves either the records, or a
job that finishes the drop; and a name nobody can take before its drop completes means a late drop never
hits new data (a dataset re-created meanwhile under the same slug gets `<slug>_ohlcv_2`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from application.commands import DropMeasurements
from application.dataset_queries import all_pages
from application.datasets import find_dataset
from application.idempotency import IdempotencyKey, earlier_answer, remember_answer
from application.ports import (
    Clock,
    IdGenerator,
    JobQueue,
    NameState,
    RunFilter,
    SimulationFilter,
    UnitOfWork,
    UnitOfWorkFactory,
)
from application.runs import find_run
from application.series_ports import SeriesCatalog, SeriesWriter
from application.simulations import find_simulation
from domain.datasets import Dataset
from domain.errors import Conflict, NotFound
from domain.events import EventType
from domain.frames import FrameKind
from domain.jobs import Job, JobType
from domain.runs import WalkforwardRun
from domain.simulations import Simulation
from domain.values import MeasurementName

# A drop is cheap and must eventually happen: it keeps retrying (with the queue's capped backoff) for hours.
DROP_ATTEMPTS = 50


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    cascade: bool = False
    dry_run: bool = False
    idempotency: IdempotencyKey | None = None


@dataclass(slots=True)
class _Doomed:
    """The records one delete removes, children first."""

    datasets: list[Dataset] = field(default_factory=list)
    runs: list[WalkforwardRun] = field(default_factory=list)
    simulations: list[Simulation] = field(default_factory=list)

    def owned_names(self) -> list[tuple[str, UUID, str]]:
        """(owner kind, owner id, measurement) of every measurement the doomed records hold."""
        names = [("simulation", s.simulation_id, str(s.trades_measurement)) for s in self.simulations]
        names += [("run", r.run_id, str(r.prediction_measurement)) for r in self.runs]
        for d in self.datasets:
            names += [("dataset", d.dataset_id, str(d.measurement_for(kind))) for kind in DATASET_KINDS]
        return names


DATASET_KINDS = (FrameKind.OHLCV, FrameKind.INDICATORS)


async def _dataset_tree(tx: UnitOfWork, ref: str) -> _Doomed:
    dataset = await find_dataset(tx, ref)
    runs = await all_pages(lambda page: tx.runs.list(RunFilter(dataset_id=dataset.dataset_id), page))
    sims = await all_pages(lambda page: tx.simulations.list(SimulationFilter(dataset_id=dataset.dataset_id), page))
    return _Doomed([dataset], runs, sims)


async def _run_tree(tx: UnitOfWork, ref: str) -> _Doomed:
    run = await find_run(tx, ref)
    sims = await all_pages(lambda page: tx.simulations.list(SimulationFilter(run_id=run.run_id), page))
    return _Doomed([], [run], sims)


async def _simulation_tree(tx: UnitOfWork, ref: str) -> _Doomed:
    return _Doomed([], [], [await find_simulation(tx, ref)])


# What a delete of each kind of record takes with it: a dataset its runs and simulations, a run its simulations.
TREES: dict[str, Callable[[UnitOfWork, str], Awaitable[_Doomed]]] = {
    "dataset": _dataset_tree,
    "run": _run_tree,
    "simulation": _simulation_tree,
}


async def delete_record(
    kind: str,
    ref: str,
    options: DeleteOptions,
    *,
    uow: UnitOfWorkFactory,
    catalog: SeriesCatalog,
    clock: Clock,
    ids: IdGenerator,
    queue: JobQueue,
) -> dict[str, Any]:
    """Deletes the `kind` ("dataset", "run" or "simulation") named `ref` with what it owns, or (dry run) nothing."""
    async with uow() as tx:
        replay = None if options.dry_run else await earlier_answer(tx, options.idempotency)
        if replay is not None:
            return replay.body
        doomed = await TREES[kind](tx, ref)
        dependants = {
            "runs": len(doomed.runs) if doomed.datasets else 0,
            "simulations": len(doomed.simulations) if doomed.datasets or doomed.runs else 0,
        }
        if any(dependants.values()) and not options.cascade:
            raise Conflict(
                f"it owns {dependants['runs']} runs and {dependants['simulations']} simulations; "
                "send cascade=true to delete them too",
                dependants,
            )
        existing = set(await catalog.names())
        if options.dry_run:
            names = sorted({name for _, _, name in doomed.owned_names() if name in existing})
            return _answer(doomed, names)
        to_drop = await _remove(tx, doomed, clock)
        body = _answer(doomed, sorted(name for name in to_drop if name in existing))
        now = clock.now()
        if to_drop:
            command = DropMeasurements(sorted(to_drop))
            await tx.jobs.add(
                Job.submit(
                    ids.new_id(),
                    JobType.MEASUREMENT_DROP,
                    {"command": msgspec.to_builtins(command)},
                    now,
                    max_attempts=DROP_ATTEMPTS,
                    message=f"dropping {len(to_drop)} measurements of deleted records",
                )
            )
        await remember_answer(tx, options.idempotency, False, body, now)
        for event_type, data in _events(doomed):
            await tx.events.add(event_type, data)
        await tx.commit()
    if to_drop:
        await queue.wake()
    return body


async def _remove(tx: UnitOfWork, doomed: _Doomed, clock: Clock) -> set[str]:
    """Deletes the records, children first, and dooms every name they held that no other record uses."""
    for simulation in doomed.simulations:
        await tx.simulations.delete(simulation.simulation_id)
    for run in doomed.runs:
        await tx.runs.delete(run.run_id)
    for dataset in doomed.datasets:
        await tx.datasets.delete(dataset.dataset_id)
    to_drop: set[str] = set()
    now = clock.now()
    for kind, owner_id, name in doomed.owned_names():
        # A name another (legacy) record still uses, or another owner holds, is not this delete's to drop.
        if await _taken(tx, name):
            continue
        if await tx.measurement_names.doom(name, kind, owner_id, now):
            to_drop.add(name)
    return to_drop


def _answer(doomed: _Doomed, measurements: list[str]) -> dict[str, Any]:
    return {
        "deleted": {
            "datasets": len(doomed.datasets),
            "runs": len(doomed.runs),
            "simulations": len(doomed.simulations),
            "measurements": measurements,
        }
    }


def _events(doomed: _Doomed) -> list[tuple[EventType, dict[str, Any]]]:
    found: list[tuple[EventType, dict[str, Any]]] = [
        (
            EventType.SIMULATION_DELETED,
            {"simulation_id": str(s.simulation_id), "run_id": str(s.run_id), "dataset_id": str(s.dataset_id)},
        )
        for s in doomed.simulations
    ]
    found += [(EventType.RUN_DELETED, {"run_id": str(r.run_id), "dataset_id": str(r.dataset_id)}) for r in doomed.runs]
    found += [
        (EventType.DATASET_DELETED, {"dataset_id": str(d.dataset_id), "dataset_slug": str(d.dataset_slug)})
        for d in doomed.datasets
    ]
    return found


async def drop_measurements(
    command: DropMeasurements, *, uow: UnitOfWorkFactory, writer: SeriesWriter
) -> dict[str, Any]:
    """The `measurement_drop` job: drop each DROPPING measurement, then free its name. Safe to run again: a
    name no longer DROPPING was dropped by an earlier attempt (and may belong to a new record by now)."""
    dropped: list[str] = []
    for name in command.measurements:
        async with uow() as tx:
            held = await tx.measurement_names.holder(name)
        if held is None or held.state is not NameState.DROPPING:
            continue
        await writer.drop(MeasurementName(name))
        async with uow() as tx:
            await tx.measurement_names.forget(name)
            await tx.commit()
        dropped.append(name)
    return {"dropped": dropped, "measurements": len(command.measurements)}


async def delete_measurement(
    name: str, *, uow: UnitOfWorkFactory, writer: SeriesWriter, catalog: SeriesCatalog, clock: Clock, ids: IdGenerator
) -> dict[str, Any]:
    """Drops a measurement no record owns (a user's own import, or one whose records are gone)."""
    measurement = MeasurementName(name, "name")
    async with uow() as tx:
        held = await tx.measurement_names.holder(measurement)
        if held is not None and held.state is not NameState.DROPPING:
            raise Conflict(
                f"measurement {measurement} belongs to {held.owner_kind} {held.owner_id}",
                {"owner_kind": held.owner_kind, "owner_id": str(held.owner_id)},
            )
        if held is None and await _taken(tx, measurement):
            raise Conflict(f"measurement {measurement} belongs to a record", {"measurement": str(measurement)})
        # Held while it is dropped, so no save can take the name and write into it meanwhile.
        if held is None and not await tx.measurement_names.doom(measurement, "measurement", ids.new_id(), clock.now()):
            raise Conflict(f"measurement {measurement} was just taken", {"measurement": str(measurement)})
        await tx.commit()
    try:
        if await catalog.describe(measurement) is None and held is None:
            raise NotFound(f"measurement {measurement} does not exist", {"measurement": str(measurement)})
        await writer.drop(measurement)
    finally:
        async with uow() as tx:
            await tx.measurement_names.forget(measurement)
            await tx.commit()
    return {"deleted": {"datasets": 0, "runs": 0, "simulations": 0, "measurements": [str(measurement)]}}


async def _taken(tx: UnitOfWork, name: str) -> bool:
    """Whether a record names the measurement (the store checks datasets, runs and simulations alike)."""
    return await tx.runs.measurement_taken(name)
