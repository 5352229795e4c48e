"""Update a run or a simulation: status moves, name, tags, notes and metrics, once per idempotency key.

The answer is the full detail; `present` renders it, so the first answer can be stored with the write and
replayed verbatim for a retried key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from application.idempotency import IdempotencyKey, earlier_answer, remember_answer
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.run_checks import fill_fold_times, recheck_predictions
from application.runs import find_run
from application.series_ports import SeriesCatalog, SeriesReader
from application.simulations import find_simulation
from domain.errors import NotFound
from domain.events import EventType
from domain.fold_checks import check_folds
from domain.lifecycle import Update, apply_update, merge_folds
from domain.runs import Fold, WalkforwardRun

Present = Callable[[Any], dict[str, Any]]

R = TypeVar("R")


async def add_folds(
    ref: str,
    folds: list[Fold],
    *,
    uow: UnitOfWorkFactory,
    catalog: SeriesCatalog,
    reader: SeriesReader,
) -> WalkforwardRun:
    """Folds added to (or replacing, by number) those of a run still PENDING or RUNNING, under the same
    walk-forward checks as a save; the run's `checks` are taken again against its new folds."""
    async with uow() as tx:
        run = await find_run(tx, ref)
        dataset = await tx.datasets.get(run.dataset_id)
    merge_folds(run, folds)
    check_folds(run.folds, run.walk_config)
    await fill_fold_times(folds, dataset.ohlcv_measurement if dataset and dataset.ohlcv_rows else None, reader)
    # Read outside the transaction below: the store may take a while, and the metadata rows need not wait.
    checks = await recheck_predictions(run.folds, run.prediction_measurement, catalog, reader)
    async with uow() as tx:
        run = await locked(tx, "run", await find_run(tx, ref))
        merge_folds(run, folds)
        run.checks = checks
        run.declared_fold_count = None  # the folds are at hand now: their number is the count
        await tx.runs.save(run)
        await tx.runs.replace_folds(run)
        await tx.events.add(
            EventType.RUN_UPDATED,
            {"run_id": str(run.run_id), "dataset_id": str(run.dataset_id), "status": run.status.value},
        )
        await tx.commit()
    return run


_EVENTS = {"run": EventType.RUN_UPDATED, "simulation": EventType.SIMULATION_UPDATED}


def _updater(kind: str, find: Callable[[UnitOfWork, str], Awaitable[Any]]) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def update_record(
        ref: str,
        update: Update,
        key: IdempotencyKey | None,
        present: Present,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
    ) -> dict[str, Any]:
        """One PATCH for both kinds: the record is saved only when the update changed it, and the first answer is
        remembered under the idempotency key."""
        async with uow() as tx:
            replay = await earlier_answer(tx, key)
            if replay is not None:
                return replay.body
            record = await locked(tx, kind, await find(tx, ref))
            now = clock.now()
            changed = apply_update(kind, record, update, now)
            if changed:
                await (tx.runs if kind == "run" else tx.simulations).save(record)
                await tx.events.add(
                    _EVENTS[kind],
                    {
                        f"{kind}_id": str(getattr(record, f"{kind}_id")),
                        "dataset_id": str(record.dataset_id),
                        "status": record.status.value,
                    },
                )
            body = present(record)
            await remember_answer(tx, key, False, body, now)
            await tx.commit()
        return body

    update_record.__name__ = update_record.__qualname__ = f"update_{kind}"
    return update_record


# One PATCH for both kinds; each is a use case of its own name (the routes ask for it by name).
update_run = _updater("run", find_run)
update_simulation = _updater("simulation", find_simulation)


async def locked(tx: UnitOfWork, kind: str, record: R) -> R:
    """The record read again under its lock: parallel updates of one record apply one after the other, and
    none is lost (two PATCHes of different tags, two posts of different folds)."""
    repository = tx.runs if kind == "run" else tx.simulations
    ident = getattr(record, f"{kind}_id")
    await repository.lock(ident)
    fresh = await repository.get(ident)
    if fresh is None:
        raise NotFound(f"{kind} {ident} not found", {f"{kind}_id": str(ident)})
    return cast(R, fresh)
