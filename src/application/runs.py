"""Walk-forward run use cases: save a run with its folds and predictions, list it, read it back."""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from application.commands import SaveRun
from application.context import Ports
from application.datasets import find_dataset
from application.idempotency import earlier_answer, remember_answer
from application.landing import choose_measurement, landed_rows
from application.ports import RangeQuery, RunFilter, UnitOfWork
from application.streams import open_stream
from domain.errors import Conflict, InvalidInput, NotFound
from domain.frames import FrameKind, prediction_column_order
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun, default_prediction_measurement
from domain.values import Slug


@dataclass(frozen=True, slots=True)
class RunSaved:
    run_id: str
    prediction_measurement: str
    questdb_rows_written: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def save_run(ports: Ports, command: SaveRun) -> RunSaved:
    """Predictions land in the store and the run in the metadata store together, or neither does."""
    async with ports.uow() as uow:
        replay = await earlier_answer(uow, command.idempotency)
        if replay is not None:
            return RunSaved(**replay.body)
        dataset = await _dataset_for_run(uow, command.dataset_ref)
        if command.run_id is not None and await uow.runs.get(command.run_id) is not None:
            raise Conflict(f"run {command.run_id} already exists", {"run_id": str(command.run_id)})
        now = ports.clock.now()
        measurement = await choose_measurement(
            uow,
            command.prediction_measurement,
            lambda n: default_prediction_measurement(dataset.dataset_slug, n),
            now,
            "prediction_measurement",
        )
    run = WalkforwardRun(
        run_id=command.run_id or ports.ids.new_id(),
        dataset_id=dataset.dataset_id,
        dataset_slug=Slug(dataset.dataset_slug),
        prediction_measurement=measurement,
        status=command.status,
        created_at=now,
        target_column=command.target_column,
        feature_columns=list(command.feature_columns),
        walk_config=dict(command.walk_config),
        hyperparameters=dict(command.hyperparameters),
        summary_metrics=dict(command.summary_metrics),
        folds=list(command.folds),
        clipboard_text=command.clipboard_text,
        started_at=command.started_at,
        completed_at=command.completed_at,
        declared_fold_count=command.fold_count,
    )
    predictions = None
    if command.predictions is not None:
        opened = await open_stream(ports.frames.read(command.predictions, FrameKind.PREDICTIONS))
        if opened.schema is None:
            raise InvalidInput("the predictions frame has no rows", {"field": "predictions"})
        predictions = aiter(opened)
    async with landed_rows(ports, measurement, predictions, FrameKind.PREDICTIONS) as rows:
        saved = RunSaved(str(run.run_id), str(measurement), rows)
        async with ports.uow() as uow:
            await uow.runs.add(run)
            await remember_answer(uow, command.idempotency, 201, saved.as_dict(), now)
            await uow.commit()
    await ports.events.publish(
        "run.created",
        {
            "run_id": saved.run_id,
            "dataset_id": str(run.dataset_id),
            "prediction_measurement": saved.prediction_measurement,
        },
    )
    return saved


async def list_runs(ports: Ports, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
    async with ports.uow() as uow:
        if filters.dataset_id is None and filters.dataset_slug is not None and len(filters.dataset_slug) > 64:
            return Page([], 0, page.limit, page.offset, None)
        return await uow.runs.list(filters, page)


async def runs_of_dataset(ports: Ports, ref: str, filters: RunFilter, page: PageRequest) -> Page[WalkforwardRun]:
    async with ports.uow() as uow:
        dataset = await find_dataset(uow, ref)
        return await uow.runs.list(
            RunFilter(dataset.dataset_id, None, filters.status, filters.measurement, filters.search), page
        )


async def get_run(ports: Ports, run_ref: str) -> WalkforwardRun:
    async with ports.uow() as uow:
        return await find_run(uow, run_ref)


async def find_run(uow: UnitOfWork, run_ref: str) -> WalkforwardRun:
    run = None
    with contextlib.suppress(ValueError):
        run = await uow.runs.get(UUID(run_ref))
    if run is None:
        raise NotFound(f"run {run_ref[:80]!r} not found", {"run_id": run_ref[:80]})
    return run


@dataclass(frozen=True, slots=True)
class PredictionsRead:
    fold_number: int | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    limit: int | None = None
    timeout: float = 60.0


async def predictions_query(ports: Ports, run_ref: str, read: PredictionsRead) -> RangeQuery:
    """Prediction rows in the desktop's column order: timestamp, bar_index, fold_number, prediction,
    target, then the threshold columns as uploaded."""
    async with ports.uow() as uow:
        run = await find_run(uow, run_ref)
    info = await ports.store.describe(run.prediction_measurement)
    if info is None:
        raise NotFound(
            f"run {run.run_id} has no predictions stored",
            {"prediction_measurement": str(run.prediction_measurement)},
        )
    equals: dict[str, int | str] = {} if read.fold_number is None else {"fold_number": read.fold_number}
    return RangeQuery(
        measurement=run.prediction_measurement,
        from_ns=read.from_ns,
        to_ns=read.to_ns,
        columns=prediction_column_order(column.name for column in info.columns),
        limit=read.limit,
        equals=equals,
        timeout=read.timeout,
    )


# ---------------------------------------------------------------- shared with simulations


async def _dataset_for_run(uow: UnitOfWork, ref: str) -> Any:
    try:
        return await find_dataset(uow, ref)
    except NotFound as exc:
        raise Conflict(f"dataset {ref[:80]!r} does not exist", {"dataset_id": ref[:80]}) from exc
