"""Uploaded frames (CSV, CSV.gz, Parquet, Arrow IPC, JSON rows) read into normalized Arrow batches.

Files are streamed batch by batch and never held whole; the blocking pyarrow reads run in a worker
thread so the event loop keeps serving. The header is checked before the first batch goes out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from adapters.frames.csv_input import DEFAULT_BLOCK_SIZE, DEFAULT_MAX_COLUMNS, open_csv
from adapters.frames.detection import UploadFormat, detect_format
from adapters.frames.frame_reader import FrameReader, Source, head, input_stream, name_of, random_access
from adapters.frames.normalize import FramePlan, canonical_type
from adapters.frames.positions import rows_start
from adapters.frames.rejections import Rejections
from domain.errors import InvalidInput
from domain.frames import TIMESTAMP_ALIASES, TRADE_TIME_COLUMNS, FrameKind, check_columns

DEFAULT_BATCH_ROWS: Final = 100_000

__all__ = ["DEFAULT_BLOCK_SIZE", "DEFAULT_MAX_COLUMNS", "FrameReader", "Source"]


def open_frames(
    source: Source,
    kind: FrameKind,
    *,
    fmt: UploadFormat | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    block_size: int = DEFAULT_BLOCK_SIZE,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    skip_bad_rows: bool = False,
) -> FrameReader:
    """Opens an upload (a file path or the bytes themselves) and checks its header. Blocking.

    With `skip_bad_rows`, rows that do not fit are left out and recorded in the reader's `rejections`."""
    if fmt is None:
        fmt = detect_format(head(source), content_type, filename or name_of(source))
    elif not head(source):
        raise InvalidInput("the upload is empty", {"bytes": 0})
    if fmt in (UploadFormat.CSV, UploadFormat.CSV_GZIP):
        return open_csv(
            source, kind, fmt, batch_rows=batch_rows, block_size=block_size, max_columns=max_columns,
            skip_bad_rows=skip_bad_rows,
        )  # fmt: skip
    rejections = Rejections() if skip_bad_rows else None
    if fmt is UploadFormat.PARQUET:
        return _open_parquet(source, kind, batch_rows, rejections)
    return _open_ipc(source, kind, fmt, batch_rows, rejections)


async def read_frames(path: Path | str, kind: FrameKind, **options: Any) -> AsyncIterator[pa.RecordBatch]:
    """The normalized batches of an uploaded file, read in a worker thread one batch at a time; `options` are
    `open_frames`'s (fmt, content_type, filename, batch_rows, ...).

    Raises InvalidInput (400) for a missing column or a bad cell, UnsupportedFormat (415) for bytes that
    are not a frame; a header problem surfaces before the first batch.
    """
    reader = await anyio.to_thread.run_sync(partial(open_frames, path, kind, **options))
    try:
        async for batch in iterate_in_thread(iter(reader)):
            yield batch
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(reader.close)


async def iterate_in_thread(batches: Iterator[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    """Drives a blocking batch iterator from async code, one worker-thread hop per batch."""
    done = object()
    while True:
        batch = await anyio.to_thread.run_sync(next, batches, done)
        if batch is done:
            return
        yield batch


async def iterate_table(table: pa.Table, batch_rows: int = DEFAULT_BATCH_ROWS) -> AsyncIterator[pa.RecordBatch]:
    """An in-memory table as the async batch stream the time-series store's `write` takes."""
    for batch in table.to_batches(max_chunksize=batch_rows):
        if batch.num_rows:
            yield batch


def read_table(source: Source, kind: FrameKind, **options: Any) -> pa.Table:
    """A whole upload as one normalized table; for bodies that are in memory already. Blocking.

    `options` are `open_frames`'s (fmt, content_type, filename, ...)."""
    with open_frames(source, kind, **options) as reader:
        return pa.Table.from_batches(list(reader), schema=reader.schema)


def read_csv_text(text: str, kind: FrameKind) -> pa.Table:
    """The `data` / `*_csv` string forms of the API."""
    if not text.strip():
        raise InvalidInput("the CSV text is empty", {"bytes": 0})
    return read_table(text.encode("utf-8"), kind, fmt=UploadFormat.CSV)


def read_json_rows(rows: Any, kind: FrameKind) -> pa.Table:
    """The JSON array forms (`predictions`, `trades`): row objects, validated like a file.

    A bad cell is a 400 whose `details.row` is its 1-based position in the array.
    """
    if not isinstance(rows, list):
        raise InvalidInput("rows must be an array of objects", {"type": type(rows).__name__})
    names: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"row {index + 1} is not an object", {"row": index + 1})
        for key in row:
            names.setdefault(str(key))
    check_columns(kind, list(names))
    arrays = [_json_column([row.get(name) for row in rows], name, kind) for name in names]
    batch = pa.RecordBatch.from_arrays(arrays, names=list(names))
    plan = FramePlan.for_schema(kind, batch.schema)
    normalized = plan.normalize(batch, rows_start())
    return pa.Table.from_batches([normalized], schema=normalized.schema)


def _json_column(values: list[Any], name: str, kind: FrameKind) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if name in TIMESTAMP_ALIASES or name in TRADE_TIME_COLUMNS or canonical_type(kind, name) is not None:
        # Mixed numbers and text (say "1.5" next to 2): as text, the casts after this parse them and name
        # the first row that does not fit.
        return pa.array([None if value is None else _as_text(value) for value in values], pa.string())
    present = [(i, value) for i, value in enumerate(values) if value is not None]
    first = type(present[0][1])
    index, odd = next(((i, value) for i, value in present if type(value) is not first), present[0])
    raise InvalidInput(
        f"row {index + 1}: {name} cannot hold {type(odd).__name__} values next to {first.__name__} ones",
        {"row": index + 1, "column": name, "value": str(odd)[:80]},
    )


def _as_text(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        # Not a number and not a time: keep it recognisably wrong for the error message.
        return repr(value)
    return str(value)


# ---------------------------------------------------------------- Parquet and Arrow IPC


def _open_parquet(source: Source, kind: FrameKind, batch_rows: int, rejections: Rejections | None) -> FrameReader:
    handle = random_access(source)
    try:
        parquet = pq.ParquetFile(handle)
    except (pa.ArrowException, OSError) as exc:
        handle.close()
        raise _binary_error("Parquet", exc) from exc
    schema = parquet.schema_arrow
    plan = _plan_or_close(kind, schema, handle.close)
    return FrameReader(
        plan,
        schema,
        parquet.iter_batches(batch_size=batch_rows),
        start=rows_start(),
        batch_rows=batch_rows,
        translate=partial(_binary_error, "Parquet"),
        closers=[parquet.close, handle.close],
        rejections=rejections,
    )


def _open_ipc(
    source: Source, kind: FrameKind, fmt: UploadFormat, batch_rows: int, rejections: Rejections | None
) -> FrameReader:
    label = "Arrow IPC file" if fmt is UploadFormat.ARROW_FILE else "Arrow IPC stream"
    handle = random_access(source) if fmt is UploadFormat.ARROW_FILE else input_stream(source)
    try:
        if fmt is UploadFormat.ARROW_FILE:
            file_reader = pa_ipc.open_file(handle)
            batches: Iterator[pa.RecordBatch] = (
                file_reader.get_batch(i) for i in range(file_reader.num_record_batches)
            )
            schema = file_reader.schema
        else:
            stream_reader = pa_ipc.open_stream(handle)
            batches = iter(stream_reader)
            schema = stream_reader.schema
    except (pa.ArrowException, OSError) as exc:
        handle.close()
        raise _binary_error(label, exc) from exc
    plan = _plan_or_close(kind, schema, handle.close)
    return FrameReader(
        plan,
        schema,
        batches,
        start=rows_start(),
        batch_rows=batch_rows,
        translate=partial(_binary_error, label),
        closers=[handle.close],
        rejections=rejections,
    )


def _plan_or_close(kind: FrameKind, schema: pa.Schema, close: Callable[[], Any]) -> FramePlan:
    try:
        return FramePlan.for_schema(kind, schema)
    except BaseException:
        close()
        raise


def _binary_error(label: str, exc: Exception) -> InvalidInput:
    message = str(exc)[:200]
    return InvalidInput(f"the {label} could not be read: {message}", {"format": label, "reason": message})
