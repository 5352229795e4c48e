"""Update a run or a simulation: status moves, name, tags, notes and metrics, once per idempotency key.

The answer is the full detail; `present` renders it, so the first answer can be stored with the write and
replayed verbatim for a retried key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.idempotency import IdempotencyKey, earlier_answer, remember_answer
from application.ports import Clock, EventPublisher, UnitOfWorkFactory
from application.runs import find_run
from application.simulations import find_simulation
from domain.events import EventType
from domain.lifecycle import Update, apply_update, merge_folds
from domain.runs import Fold, WalkforwardRun
from domain.simulations import Simulation

Present = Callable[[Any], dict[str, Any]]


async def update_run(
    ref: str,
    update: Update,
    key: IdempotencyKey | None,
    present: Present,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    events: EventPublisher,
) -> dict[str, Any]:
    async with uow() as tx:
        replay = await earlier_answer(tx, key)
        if replay is not None:
            return replay.body
        run: WalkforwardRun = await find_run(tx, ref)
        now = clock.now()
        changed = apply_update("run", run, update, now)
        if changed:
            await tx.runs.save(run)
        body = present(run)
        await remember_answer(tx, key, False, body, now)
        await tx.commit()
    if changed:
        await events.publish(EventType.RUN_UPDATED, {"run_id": str(run.run_id), "status": run.status.value})
    return body


async def add_folds(ref: str, folds: list[Fold], *, uow: UnitOfWorkFactory, events: EventPublisher) -> WalkforwardRun:
    """Folds added to (or replacing, by number) those of a run still PENDING or RUNNING."""
    async with uow() as tx:
        run = await find_run(tx, ref)
        merge_folds(run, folds)
        run.declared_fold_count = None  # the folds are at hand now: their number is the count
        await tx.runs.save(run)
        await tx.runs.replace_folds(run)
        await tx.commit()
    await events.publish(EventType.RUN_UPDATED, {"run_id": str(run.run_id), "status": run.status.value})
    return run


async def update_simulation(
    ref: str,
    update: Update,
    key: IdempotencyKey | None,
    present: Present,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    events: EventPublisher,
) -> dict[str, Any]:
    async with uow() as tx:
        replay = await earlier_answer(tx, key)
        if replay is not None:
            return replay.body
        simulation: Simulation = await find_simulation(tx, ref)
        now = clock.now()
        changed = apply_update("simulation", simulation, update, now)
        if changed:
            await tx.simulations.save(simulation)
        body = present(simulation)
        await remember_answer(tx, key, False, body, now)
        await tx.commit()
    if changed:
        data = {"simulation_id": str(simulation.simulation_id), "status": simulation.status.value}
        await events.publish(EventType.SIMULATION_UPDATED, data)
    return body
