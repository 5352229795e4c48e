"""Dataset use cases: register a triplet, upload its frames, read it back, see what hangs off it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.commands import BackfillDataset, UploadDatasetFrames, UpsertDataset
from application.idempotency import earlier_answer, remember_answer
from application.ports import (
    Clock,
    DatasetFilter,
    DatasetListing,
    EventPublisher,
    FrameUpload,
    IdGenerator,
    MeasurementInfo,
    RangeQuery,
    RunFilter,
    SampleBy,
    SeriesCatalog,
    SeriesReader,
    SeriesWriter,
    SimulationFilter,
    UnitOfWork,
    UnitOfWorkFactory,
    UploadReader,
    WriteReport,
)
from application.streams import OpenedStream, open_stream
from application.timeseries import RangeRows
from domain.datasets import Dataset, DatasetChanges
from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import EventType
from domain.frames import FrameKind, WriteMode
from domain.paging import MAX_LIMIT, Page, PageRequest
from domain.runs import WalkforwardRun
from domain.simulations import Simulation
from domain.values import MeasurementName, Slug, validate_granularity

DATASET_FRAME_KINDS = (FrameKind.OHLCV, FrameKind.INDICATORS)


@dataclass(frozen=True, slots=True)
class DatasetSaved:
    dataset: Dataset
    created: bool
    written: dict[FrameKind, int]


@dataclass(frozen=True, slots=True)
class DatasetDetail:
    listing: DatasetListing
    questdb_state: dict[str, dict[str, Any]]


async def find_dataset(uow: UnitOfWork, ref: str) -> Dataset:
    """A dataset by its UUID or its slug; anything else is simply not found."""
    dataset: Dataset | None = None
    try:
        dataset = await uow.datasets.get(UUID(ref))
    except ValueError:
        if len(ref) <= 64:
            dataset = await uow.datasets.get_by_slug(ref)
    if dataset is None:
        raise NotFound(f"dataset {ref[:80]!r} not found", {"dataset": ref[:80]})
    return dataset


async def upsert_dataset(
    command: UpsertDataset,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    ids: IdGenerator,
    events: EventPublisher,
) -> DatasetSaved:
    """Create or update the triplet by slug; with frames, write them and record the store's counts."""
    slug = Slug(command.dataset_slug)
    if command.changes.granularity is not None:
        validate_granularity(command.changes.granularity)
    async with uow() as tx:
        replay = await earlier_answer(tx, command.idempotency)
        if replay is not None:
            return DatasetSaved(await find_dataset(tx, str(replay.body["dataset_id"])), False, {})
        dataset = await tx.datasets.get_by_slug(slug)
    now = clock.now()
    created = dataset is None
    if dataset is None:
        dataset = Dataset.register(ids.new_id(), slug, command.changes, now)
    else:
        dataset.revise(command.changes, now)
    streams = await _open_frames(uploads, command.frames)
    written, fresh = await _write_frames(writer, catalog, clock, dataset, streams, command.mode)
    try:
        async with uow() as tx:
            if created:
                await tx.datasets.add(dataset)
            else:
                await tx.datasets.save(dataset)
            await remember_answer(tx, command.idempotency, created, {"dataset_id": str(dataset.dataset_id)}, now)
            await tx.commit()
    except BaseException:
        await _drop_all(writer, fresh)
        raise
    await events.publish(EventType.DATASET_UPDATED, _event(dataset))
    return DatasetSaved(dataset, created, written)


async def upload_dataset_frames(
    command: UploadDatasetFrames,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    events: EventPublisher,
) -> DatasetSaved:
    """Upload OHLCV and/or indicator frames for a dataset that exists."""
    if not command.frames:
        raise InvalidInput("send an ohlcv and/or an indicators frame", {"missing_parts": ["ohlcv", "indicators"]})
    async with uow() as tx:
        dataset = await find_dataset(tx, command.dataset_ref)
        if await earlier_answer(tx, command.idempotency) is not None:
            return DatasetSaved(dataset, False, {})
    streams = await _open_frames(uploads, command.frames)
    written, fresh = await _write_frames(writer, catalog, clock, dataset, streams, command.mode)
    try:
        async with uow() as tx:
            await tx.datasets.save(dataset)
            answer = {"dataset_id": str(dataset.dataset_id)}
            await remember_answer(tx, command.idempotency, False, answer, clock.now())
            await tx.commit()
    except BaseException:
        await _drop_all(writer, fresh)
        raise
    await events.publish(EventType.DATASET_UPDATED, _event(dataset))
    return DatasetSaved(dataset, False, written)


async def get_dataset(ref: str, *, uow: UnitOfWorkFactory) -> Dataset:
    async with uow() as tx:
        return await find_dataset(tx, ref)


async def backfill_dataset(
    command: BackfillDataset,
    *,
    uow: UnitOfWorkFactory,
    catalog: SeriesCatalog,
    clock: Clock,
    ids: IdGenerator,
    events: EventPublisher,
) -> DatasetSaved:
    """Register a dataset over measurements already in the store; counts and bounds come from it."""
    slug = Slug(command.dataset_slug)
    ohlcv = MeasurementName(command.ohlcv_measurement, "ohlcv_measurement")
    indicators = MeasurementName(command.indicator_measurement, "indicator_measurement")
    infos: dict[FrameKind, MeasurementInfo] = {}
    for kind, name in ((FrameKind.OHLCV, ohlcv), (FrameKind.INDICATORS, indicators)):
        info = await catalog.describe(name)
        if info is None:
            raise NotFound(f"measurement {name} does not exist", {"measurement": str(name)})
        infos[kind] = info
    changes = DatasetChanges(
        symbol=command.symbol,
        granularity=command.granularity,
        ohlcv_measurement=ohlcv,
        indicator_measurement=indicators,
        source="backfill",
    )
    now = clock.now()
    async with uow() as tx:
        dataset = await tx.datasets.get_by_slug(slug)
        created = dataset is None
        if dataset is None:
            dataset = Dataset.register(ids.new_id(), slug, changes, now)
        else:
            dataset.revise(changes, now)
        for kind, info in infos.items():
            dataset.record_frame(kind, info.stats, now)
        if created:
            await tx.datasets.add(dataset)
        else:
            await tx.datasets.save(dataset)
        await tx.commit()
    await events.publish(EventType.DATASET_UPDATED, _event(dataset))
    return DatasetSaved(dataset, created, {})


async def list_datasets(filters: DatasetFilter, page: PageRequest, *, uow: UnitOfWorkFactory) -> Page[DatasetListing]:
    async with uow() as tx:
        return await tx.datasets.list(filters, page)


async def dataset_detail(ref: str, *, uow: UnitOfWorkFactory, catalog: SeriesCatalog) -> DatasetDetail:
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        runs, simulations = await tx.datasets.related_counts(dataset.dataset_id)
    state = {
        "ohlcv": await _measurement_state(catalog, dataset, FrameKind.OHLCV),
        "indicator": await _measurement_state(catalog, dataset, FrameKind.INDICATORS),
    }
    return DatasetDetail(DatasetListing(dataset, runs, simulations), state)


@dataclass(frozen=True, slots=True)
class HierarchyNode:
    run: WalkforwardRun
    simulations: list[Simulation]


async def dataset_hierarchy(ref: str, *, uow: UnitOfWorkFactory) -> tuple[Dataset, list[HierarchyNode]]:
    """Dataset -> runs -> simulations, newest first at each level."""
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
        runs = await _all_pages(lambda page: tx.runs.list(RunFilter(dataset_id=dataset.dataset_id), page))
        nodes = []
        for run in runs:
            sims = await _all_pages(lambda page, r=run: tx.simulations.list(SimulationFilter(run_id=r.run_id), page))
            nodes.append(HierarchyNode(run, sims))
    return dataset, nodes


SAMPLE_AGGREGATES = {
    FrameKind.OHLCV: ({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}, "last"),
    FrameKind.INDICATORS: ({}, "last"),
}


@dataclass(frozen=True, slots=True)
class FrameRead:
    """What the client asked of a dataset's frame."""

    from_ns: int | None = None
    to_ns: int | None = None
    columns: list[str] | None = None
    limit: int | None = None
    sample_by: str | None = None
    timeout: float = 60.0


async def read_dataset_frame(
    ref: str, kind: FrameKind, read: FrameRead, *, uow: UnitOfWorkFactory, reader: SeriesReader
) -> RangeRows:
    """The rows behind `GET /api/datasets/{id}/ohlcv` and `/indicators`."""
    async with uow() as tx:
        dataset = await find_dataset(tx, ref)
    sample = None
    if read.sample_by is not None:
        aggregates, default = SAMPLE_AGGREGATES[kind]
        sample = SampleBy(validate_granularity(read.sample_by), aggregates, default)
    if read.from_ns is not None and read.to_ns is not None and read.from_ns > read.to_ns:
        raise InvalidInput("from must not be after to", {"field": "from"})
    query = RangeQuery(
        measurement=dataset.measurement_for(kind),
        from_ns=read.from_ns,
        to_ns=read.to_ns,
        columns=read.columns,
        limit=read.limit,
        sample_by=sample,
        timeout=read.timeout,
    )
    return RangeRows(query, reader)


# ---------------------------------------------------------------- helpers


async def _open_frames(
    uploads: UploadReader, frames: dict[FrameKind, FrameUpload]
) -> dict[FrameKind, OpenedStream]:
    """Open every frame before writing any, so a bad second file leaves the first unwritten."""
    streams: dict[FrameKind, OpenedStream] = {}
    for kind, upload in frames.items():
        if kind not in DATASET_FRAME_KINDS:
            raise InvalidInput(f"a dataset takes ohlcv and indicators frames, not {kind}")
        try:
            streams[kind] = await open_stream(uploads.read(upload, kind))
        except BaseException:
            for opened in streams.values():
                await opened.aclose()
            raise
    return streams


async def _write_frames(
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    dataset: Dataset,
    streams: dict[FrameKind, OpenedStream],
    mode: WriteMode,
) -> tuple[dict[FrameKind, int], list[MeasurementName]]:
    """Write the frames, then read counts and bounds back from the store; undo new tables on failure."""
    written: dict[FrameKind, int] = {}
    fresh: list[MeasurementName] = []
    try:
        for kind, stream in streams.items():
            measurement = dataset.measurement_for(kind)
            if await catalog.describe(measurement) is None:
                fresh.append(measurement)
            report: WriteReport = await writer.write(
                measurement, aiter(stream), kind=kind, mode=mode, granularity=dataset.granularity
            )
            written[kind] = report.rows_written
            info = await catalog.describe(measurement)
            if info is None:
                raise Conflict(f"measurement {measurement} vanished while it was written")
            dataset.record_frame(kind, info.stats, clock.now())
    except BaseException:
        for stream in streams.values():
            await stream.aclose()
        await _drop_all(writer, fresh)
        raise
    return written, fresh


async def _drop_all(writer: SeriesWriter, measurements: list[MeasurementName]) -> None:
    for measurement in measurements:
        with contextlib.suppress(Exception):
            await writer.drop(measurement)


async def _measurement_state(catalog: SeriesCatalog, dataset: Dataset, kind: FrameKind) -> dict[str, Any]:
    info = await catalog.describe(dataset.measurement_for(kind))
    return {
        "exists": info is not None,
        "row_count": None if info is None else info.row_count,
        "first_ts": None if info is None or info.first_ns is None else info.first_ns // 10**9,
        "last_ts": None if info is None or info.last_ns is None else info.last_ns // 10**9,
        "designated_timestamp": None if info is None else info.designated_timestamp,
        "partition_by": None if info is None else info.partition_by,
        "in_sync": dataset.in_sync_with(kind, None if info is None else info.stats),
    }


async def _all_pages(fetch: Any) -> list[Any]:
    items: list[Any] = []
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        result = await fetch(page)
        items.extend(result.items)
        if result.next_cursor is None:
            return items
        page = PageRequest.of(limit=MAX_LIMIT, after=result.next_cursor)


def _event(dataset: Dataset) -> dict[str, Any]:
    return {"dataset_id": str(dataset.dataset_id), "dataset_slug": str(dataset.dataset_slug)}
