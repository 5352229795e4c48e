"""A dataset's frames on their way into the store: opened all before any is written, counted and
fingerprinted after, and the dataset's new version (if its rows changed) saved with it."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from application.dataset_names import DATASET_FRAME_KINDS
from application.idempotency import IdempotencyKey, remember_answer
from application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from application.series_ports import (
    FrameUpload,
    RowFingerprints,
    SeriesCatalog,
    SeriesWriter,
    UploadReader,
    WriteOptions,
    WriteReport,
)
from application.streams import OpenedStream, open_stream
from domain.datasets import Dataset, dataset_event
from domain.errors import Conflict, InvalidInput
from domain.events import EventType
from domain.frames import FrameKind, WriteMode
from domain.values import MeasurementName
from domain.versions import DatasetVersion, FrameChange, next_version


async def open_frames(uploads: UploadReader, frames: dict[FrameKind, FrameUpload]) -> dict[FrameKind, OpenedStream]:
    """Open every frame before writing any, so a bad second file leaves the first unwritten."""
    streams: dict[FrameKind, OpenedStream] = {}
    for kind, upload in frames.items():
        if kind not in DATASET_FRAME_KINDS:
            raise InvalidInput(f"a dataset takes ohlcv and indicators frames, not {kind}")
        try:
            streams[kind] = await open_stream(uploads.read(upload, kind))
            if streams[kind].schema is None:
                raise InvalidInput(f"the {kind.value} frame has no rows", {"field": kind.value})
        except BaseException:
            for opened in streams.values():
                await opened.aclose()
            raise
    return streams


@dataclass(frozen=True, slots=True)
class FrameWriter:
    """The ports writing a dataset's frames takes, bound as one role (`frames`) for every use case that writes them."""

    writer: SeriesWriter
    catalog: SeriesCatalog
    fingerprints: RowFingerprints
    clock: Clock


@dataclass(frozen=True, slots=True)
class FramesWritten:
    rows: dict[FrameKind, int]
    fresh: list[MeasurementName]
    changes: list[FrameChange]


async def write_frames(
    ports: FrameWriter, dataset: Dataset, streams: dict[FrameKind, OpenedStream], mode: WriteMode
) -> FramesWritten:
    """Write the frames, then read counts, bounds and fingerprints back from the store; undo new tables
    on failure."""
    written: dict[FrameKind, int] = {}
    fresh: list[MeasurementName] = []
    changes: list[FrameChange] = []
    try:
        for kind, stream in streams.items():
            measurement = dataset.measurement_for(kind)
            if await ports.catalog.describe(measurement) is None:
                fresh.append(measurement)
            before = await ports.fingerprints.fingerprint(measurement)
            report: WriteReport = await ports.writer.write(
                measurement, aiter(stream), WriteOptions(kind=kind, mode=mode, granularity=dataset.granularity)
            )
            written[kind] = report.rows_written
            info = await ports.catalog.describe(measurement)
            if info is None:
                raise Conflict(f"measurement {measurement} vanished while it was written")
            dataset.record_frame(kind, info.stats, ports.clock.now())
            after = await ports.fingerprints.fingerprint(measurement)
            changes.append(FrameChange(kind, after.checksum, after.first_difference(before)))
    except BaseException:
        for stream in streams.values():
            await stream.aclose()
        await drop_all(ports.writer, fresh)
        raise
    return FramesWritten(written, fresh, changes)


async def commit_written(
    uow: UnitOfWorkFactory,
    ports: FrameWriter,
    dataset: Dataset,
    done: FramesWritten,
    idempotency: IdempotencyKey | None,
    *,
    new: bool,
    record: Callable[[UnitOfWork], Awaitable[None]] | None = None,
) -> None:
    """Commit the dataset whose frames were written, with its new version, `record` and the answer, in one
    transaction; a failed commit drops the tables the write created. An existing dataset is locked and its
    counts and bounds read again from the store first, so the writer that commits last records every
    parallel writer's rows, not just the ones there when its own write ended."""
    try:
        async with uow() as tx:
            now = ports.clock.now()
            if not new:
                await tx.datasets.lock(dataset.dataset_id)
                for kind in done.rows:
                    info = await ports.catalog.describe(dataset.measurement_for(kind))
                    if info is not None:
                        dataset.record_frame(kind, info.stats, now)
            await save_with_version(tx, dataset, done.changes, now, new=new)
            if record is not None:
                await record(tx)
            await remember_answer(tx, idempotency, new, {"dataset_id": str(dataset.dataset_id)}, now)
            await tx.commit()
    except BaseException:
        await drop_all(ports.writer, done.fresh)
        raise


async def save_with_version(
    tx: UnitOfWork, dataset: Dataset, changes: list[FrameChange], now: datetime, *, new: bool
) -> DatasetVersion | None:
    """Add or save the dataset, with a new version row when `changes` changed its rows, and its
    `dataset.updated` event. An existing dataset is locked first, so parallel writers of one dataset number
    their versions one after the other."""
    if not new:
        await tx.datasets.lock(dataset.dataset_id)
    latest = None if new else await tx.versions.latest(dataset.dataset_id)
    version = next_version(dataset, latest, changes, now)
    if new:
        await tx.datasets.add(dataset)
    else:
        await tx.datasets.save(dataset)
    if version is not None:
        await tx.versions.add(version)
    await tx.events.add(EventType.DATASET_UPDATED, dataset_event(dataset))
    return version


async def drop_all(writer: SeriesWriter, measurements: list[MeasurementName]) -> None:
    for measurement in measurements:
        with contextlib.suppress(Exception):
            await writer.drop(measurement)
