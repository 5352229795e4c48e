"""A dataset's frames on their way into the store: opened all before any is written, counted after."""

from __future__ import annotations

import contextlib

from application.dataset_names import DATASET_FRAME_KINDS
from application.ports import Clock
from application.series_ports import FrameUpload, SeriesCatalog, SeriesWriter, UploadReader, WriteReport
from application.streams import OpenedStream, open_stream
from domain.datasets import Dataset
from domain.errors import Conflict, InvalidInput
from domain.frames import FrameKind, WriteMode
from domain.values import MeasurementName


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


async def write_frames(
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
        await drop_all(writer, fresh)
        raise
    return written, fresh


async def drop_all(writer: SeriesWriter, measurements: list[MeasurementName]) -> None:
    for measurement in measurements:
        with contextlib.suppress(Exception):
            await writer.drop(measurement)
