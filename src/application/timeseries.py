"""Time-series use cases: import a frame into a measurement, inspect measurements, read-only SQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import pyarrow as pa

from application.answers import PlainAnswer
from application.commands import ImportFrame
from application.idempotency import earlier_answer, remember_answer
from application.owned_imports import OwnerPorts, check_columns, import_kind, owner_of, rows_before, through_owner
from application.ports import Clock, UnitOfWorkFactory
from application.preview import FramePreview, no_rows, preview_upload
from application.series_ports import (
    CheckProgress,
    MeasurementInfo,
    QueryResult,
    RangeQuery,
    ReadOnlySql,
    RowFingerprints,
    SeriesCatalog,
    SeriesReader,
    SeriesWriter,
    UploadReader,
    UploadReadOptions,
    WriteOptions,
)
from application.streams import open_stream
from domain.errors import InvalidInput, NotFound
from domain.frames import FrameKind
from domain.read_only_sql import ensure_read_only
from domain.values import MeasurementName

# (rows so far, rows in the frame once counted, the phase: CHECKED while the whole upload is checked —
# the total is not known yet — then WRITTEN while it is written)
ProgressCallback = Callable[[int, int | None, str], Awaitable[None]]
CHECKED: Final = "checked"
WRITTEN: Final = "written"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ImportReport(PlainAnswer):
    measurement: str
    rows_written: int
    first_ts: int | None
    last_ts: int | None
    duration_ms: int
    rejected_rows: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RangeRows:
    """A range of one measurement, ready to read as Arrow batches or, natively in the store, as CSV.

    `missing`, when given, is raised in place of the store's NotFound for a measurement that does not exist
    (a run's predictions: the caller asked for the run, not for a measurement)."""

    query: RangeQuery
    reader: SeriesReader
    missing: NotFound | None = None

    def batches(self) -> AsyncIterator[pa.RecordBatch]:
        return self._found(self.reader.read(self.query))

    def csv(self, ts_unit: str) -> AsyncIterator[bytes]:
        return self._found(self.reader.export_csv(self.query, ts_unit))

    def _found(self, items: AsyncIterator[T]) -> AsyncIterator[T]:
        return items if self.missing is None else _instead_of_not_found(items, self.missing)


async def _instead_of_not_found(items: AsyncIterator[T], missing: NotFound) -> AsyncIterator[T]:
    try:
        async for item in items:
            yield item
    except NotFound as exc:
        raise missing from exc
    finally:
        closer = getattr(items, "aclose", None)  # the store's generator ends now, not when it is collected
        if closer is not None:
            await closer()


async def import_frame(
    command: ImportFrame,
    progress: ProgressCallback | None = None,
    *,
    uow: UnitOfWorkFactory,
    uploads: UploadReader,
    writer: SeriesWriter,
    catalog: SeriesCatalog,
    clock: Clock,
    fingerprints: RowFingerprints,
    reader: SeriesReader,
) -> ImportReport:
    """Check the frame (columns for its kind, every cell) and stream it into the measurement, all or nothing;
    into a measurement a record owns, only as that record's rows (see `owned_imports`)."""
    measurement = MeasurementName(command.measurement)
    if command.idempotency is not None:
        async with uow() as tx:
            replay = await earlier_answer(tx, command.idempotency)
        if replay is not None:
            return ImportReport(**replay.body)
    started = time.perf_counter()
    checked = None if progress is None else _checking(progress)
    owned = await owner_of(uow, measurement)
    kind = import_kind(owned, command.kind)
    # A job's progress needs the row count before the write starts, so its frame is checked whole first. A
    # request waiting for its answer streams checked batches into the write instead (the parser reads ahead
    # while the store takes the rows before): a bad cell anywhere still leaves the measurement untouched, as
    # the write is all or nothing by itself.
    read = UploadReadOptions(on_error=command.on_error, progress=checked, streamed=progress is None)
    frame = uploads.read(command.upload, kind, read)
    try:
        stream = await open_stream(frame)
    except InvalidInput as exc:
        if owned is not None:
            owned.raise_for_missing_columns(exc)
        raise
    try:
        if stream.schema is None:
            raise no_rows(frame)
        await check_columns(owned, stream.schema, catalog)
        before = await rows_before(owned, fingerprints)
        batches: AsyncIterator[pa.RecordBatch] = aiter(stream)
        if progress is not None:
            await progress(0, frame.rows, WRITTEN)
            batches = _counting(batches, progress, frame.rows)
        report = await writer.write(measurement, batches, WriteOptions(kind=kind, mode=command.mode))
    finally:
        await stream.aclose()
    if owned is not None:
        await through_owner(owned, before, clock.now(), OwnerPorts(uow, catalog, fingerprints, reader))
    result = ImportReport(
        measurement=str(measurement),
        rows_written=report.rows_written,
        first_ts=None if report.first_ns is None else report.first_ns // 10**9,
        last_ts=None if report.last_ns is None else report.last_ns // 10**9,
        duration_ms=round((time.perf_counter() - started) * 1000),
        rejected_rows=frame.rejected_rows,
        rejected=frame.rejected,
    )
    if command.idempotency is not None:
        async with uow() as tx:
            await remember_answer(tx, command.idempotency, False, result.as_dict(), clock.now())
            await tx.commit()
    return result


def _checking(progress: ProgressCallback) -> CheckProgress:
    async def checked(rows: int) -> None:
        await progress(rows, None, CHECKED)

    return checked


async def preview_import(command: ImportFrame, *, uploads: UploadReader) -> FramePreview:
    """A dry run: the frame checked whole, as for an import, and described; nothing is written."""
    measurement = MeasurementName(command.measurement)
    return await preview_upload(
        uploads, command.upload, command.kind or FrameKind.GENERIC, measurement, command.granularity, command.on_error
    )


async def check_import_target(measurement: str, kind: FrameKind | None, *, uow: UnitOfWorkFactory) -> None:
    """What can be known of an import before its frame is read (a queued import is refused now rather than
    failing in a worker): a 409 for a measurement whose owner takes another kind, or is not open to it."""
    import_kind(await owner_of(uow, MeasurementName(measurement)), kind)


async def _counting(
    batches: AsyncIterator[pa.RecordBatch], progress: ProgressCallback, total: int | None
) -> AsyncIterator[pa.RecordBatch]:
    rows = 0
    async for batch in batches:
        yield batch
        rows += batch.num_rows
        await progress(rows, total, WRITTEN)


async def list_measurements(prefix: str | None, *, catalog: SeriesCatalog) -> list[MeasurementInfo]:
    if prefix is not None and (len(prefix) > 127 or not all(c.isalnum() or c == "_" for c in prefix)):
        raise InvalidInput("prefix may hold only letters, digits and _", {"field": "prefix"})
    return await catalog.list_measurements(prefix)


async def describe_measurement(name: str, sample: int, *, catalog: SeriesCatalog) -> tuple[MeasurementInfo, pa.Table]:
    measurement = MeasurementName(name)
    if not 0 <= sample <= 1000:
        raise InvalidInput("sample must be between 0 and 1000", {"field": "sample"})
    info = await catalog.describe(measurement)
    if info is None:
        raise NotFound(f"measurement {measurement} not found", {"measurement": str(measurement)})
    return info, await catalog.sample_rows(measurement, sample)


async def run_query(statement: str, limit: int, timeout: float, *, read_only: ReadOnlySql) -> QueryResult:
    """A read-only statement answered as JSON rows; the store's read-only user enforces it too."""
    if not 1 <= limit <= 100_000:
        raise InvalidInput("limit must be between 1 and 100000", {"field": "limit"})
    return await read_only.query(ensure_read_only(statement), limit, timeout)


def export_query(statement: str, timeout: float, *, read_only: ReadOnlySql) -> AsyncIterator[pa.RecordBatch]:
    return read_only.stream_sql(ensure_read_only(statement), timeout)
