"""Walk-forward run use cases: save a run with its folds and predictions, list it, read it back."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from application.answers import PlainAnswer
from application.commands import AppendPredictions, SaveRun, described
from application.datasets import find_dataset, unknown_dataset
from application.idempotency import earlier_answer, remember_answer
from application.landing import Owner, WantedName, commit_saved, landed_rows, reserved_measurement
from application.ports import Clock, IdGenerator, RunFilter, UnitOfWork, UnitOfWorkFactory
from application.records import RecordKind, stale_marked
from application.run_checks import checked_predictions, fill_fold_times
from application.series_ports import RangeQuery, SeriesCatalog, SeriesReader, SeriesWriter, UploadReader
from application.streams import open_stream
from application.timeseries import RangeRows
from domain.errors import Conflict, NotFound
from domain.events import EventType
from domain.fold_checks import PredictionCheck, check_folds
from domain.frames import FrameKind, prediction_column_order
from domain.lifecycle import require_open
from domain.paging import Page, PageRequest
from domain.runs import WalkforwardRun, default_prediction_measurement
from domain.values import MeasurementName, Slug


@dataclass(frozen=True, slots=True)
class RunSaved(PlainAnswer):
    run_id: str
    prediction_measurement: str
    questdb_rows_written: int
    checks: dict[str, Any] | None = None  # the run's walk-forward checks once these rows are in


async def save_run(
    command: SaveRun,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    reader: SeriesReader,
    clock: Clock,
    ids: IdGenerator,
) -> RunSaved:
    """Predictions land in the store and the run in the metadata store together, or neither does.

    The walk-forward checks run on the way: a fold training on its own test window, or a prediction for a
    fold the run does not declare, is a 400 and saves nothing; predictions outside their fold's test window
    are stored and counted in the run's `checks`."""
    check_folds(command.details.folds, command.details.walk_config)
    async with uow() as tx:
        replay = await earlier_answer(tx, command.idempotency)
        if replay is not None:
            return RunSaved(**replay.body)
        dataset = await _dataset_for_run(tx, command.dataset_ref)
        if command.run_id is not None and await tx.runs.get(command.run_id) is not None:
            raise Conflict(f"run {command.run_id} already exists", {"run_id": str(command.run_id)})
    await fill_fold_times(command.details.folds, dataset.ohlcv_measurement if dataset.ohlcv_rows else None, reader)
    now = clock.now()
    owner = Owner("run", command.run_id or ids.new_id())
    default = partial(default_prediction_measurement, Slug(dataset.dataset_slug))
    wanted = WantedName("prediction_measurement", command.prediction_measurement, default)
    async with reserved_measurement(uow, wanted, owner, now) as measurement:
        run = WalkforwardRun(
            **described(command.details),
            run_id=owner.id,
            dataset_id=dataset.dataset_id,
            dataset_slug=Slug(dataset.dataset_slug),
            prediction_measurement=measurement,
            created_at=now,
            dataset_version=dataset.version,
        )
        predictions = None
        check = PredictionCheck(run.folds)
        if command.predictions is not None:
            opened = await open_stream(uploads.read(command.predictions, FrameKind.PREDICTIONS))
            # Predictions are optional: a header with no rows saves the run with none (contract: 201, 0 rows).
            predictions = None if opened.schema is None else checked_predictions(aiter(opened), check)
        async with landed_rows(writer, catalog, measurement, predictions, FrameKind.PREDICTIONS) as rows:
            run.checks = check.report()
            saved = RunSaved(str(run.run_id), str(measurement), rows, run.checks)
            async with uow() as tx:
                await tx.runs.add(run)
                created = {
                    "run_id": saved.run_id,
                    "dataset_id": str(run.dataset_id),
                    "prediction_measurement": saved.prediction_measurement,
                }
                event = (EventType.RUN_CREATED, created)
                await commit_saved(tx, saved, command.idempotency, event, measurement=measurement, owner=owner, now=now)
    return saved


async def append_predictions(
    command: AppendPredictions,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
) -> RunSaved:
    """Prediction rows added to the measurement of a run still PENDING or RUNNING: the whole upload is
    checked before the first row is written, so a bad row leaves the measurement as it was."""
    async with uow() as tx:
        replay = await earlier_answer(tx, command.idempotency)
        if replay is not None:
            return RunSaved(**replay.body)
        run = await find_run(tx, command.run_ref)
    require_open(run, "predictions")
    opened = await open_stream(uploads.read(command.predictions, FrameKind.PREDICTIONS))
    check = PredictionCheck(run.folds)
    rows = None if opened.schema is None else checked_predictions(aiter(opened), check)
    measurement = run.prediction_measurement
    async with landed_rows(writer, catalog, measurement, rows, FrameKind.PREDICTIONS) as written, uow() as tx:
        stored = await find_run(tx, str(run.run_id))  # the checks as they are now, not as first read
        if written:
            stored.checks = check.report(stored.checks)
            await tx.runs.save(stored)
        appended = RunSaved(str(run.run_id), str(measurement), written, stored.checks)
        await remember_answer(tx, command.idempotency, True, appended.as_dict(), clock.now())
        await tx.events.add(
            EventType.RUN_UPDATED,
            {"run_id": appended.run_id, "dataset_id": str(run.dataset_id), "status": run.status.value},
        )
        await tx.commit()
    return appended


async def list_runs(filters: RunFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[WalkforwardRun]:
    async with uow.reading() as tx:
        if filters.dataset_id is None and filters.dataset_slug is not None and len(filters.dataset_slug) > 64:
            return Page([], 0, page.limit, page.offset, None)
        return await stale_marked(tx, await tx.runs.list(filters, page))


async def runs_of_dataset(
    ref: str, filters: RunFilter, page: PageRequest, *, uow: UnitOfWorkFactory
) -> Page[WalkforwardRun]:
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        of_dataset = RunFilter(dataset.dataset_id, None, filters.status, filters.measurement, filters.search)
        return await stale_marked(tx, await tx.runs.list(of_dataset, page))


RUNS: Final[RecordKind[WalkforwardRun]] = RecordKind("run", lambda tx: tx.runs)
find_run = RUNS.find


async def get_run(run_ref: str, *, uow: UnitOfWorkFactory) -> WalkforwardRun:
    return await RUNS.get(run_ref, uow)


@dataclass(frozen=True, slots=True)
class PredictionsRead:
    fold_number: int | None = None
    from_ns: int | None = None
    to_ns: int | None = None
    limit: int | None = None
    timeout: float = 60.0


async def read_predictions(
    run_ref: str, read: PredictionsRead, *, uow: UnitOfWorkFactory, reader: SeriesReader
) -> RangeRows:
    """Prediction rows in the desktop's column order: timestamp, bar_index, fold_number, prediction,
    target, then the threshold columns as uploaded.

    Before the first row, as few round trips as can be (each one waits its turn for a core on a busy machine):
    one read of the run's measurement, without BEGIN and ROLLBACK, and the column order handed to the store,
    which looks the names up as it plans the read anyway."""
    run_id = RUNS.id_of(run_ref)
    async with uow.reading() as tx:
        measurement = await tx.runs.prediction_measurement(run_id)
    if measurement is None:
        raise RUNS.not_found(run_ref)
    equals: dict[str, int | str] = {} if read.fold_number is None else {"fold_number": read.fold_number}
    query = RangeQuery(
        measurement=MeasurementName(measurement),
        from_ns=read.from_ns,
        to_ns=read.to_ns,
        limit=read.limit,
        equals=equals,
        timeout=read.timeout,
        column_order=prediction_column_order,
    )
    missing = NotFound(f"run {run_id} has no predictions stored", {"prediction_measurement": measurement})
    return RangeRows(query, reader, missing)


# ---------------------------------------------------------------- shared with simulations


async def _dataset_for_run(uow: UnitOfWork, ref: str) -> Any:
    try:
        return await find_dataset(uow, ref)
    except NotFound as exc:
        raise Conflict(unknown_dataset(ref), {"dataset_id": ref[:80], "reason": "unknown dataset"}) from exc
