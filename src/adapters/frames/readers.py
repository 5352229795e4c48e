"""Uploaded frames (CSV, CSV.gz, Parquet, Arrow IPC, JSON rows) read into normalized Arrow batches.

Files are streamed batch by batch and never held whole; the blocking pyarrow reads run in a worker
thread so the event loop keeps serving. The header is checked before the first batch goes out.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Final, Self

import anyio
import anyio.to_thread
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq

from adapters.frames.detection import HEAD_BYTES, UploadFormat, detect_format
from adapters.frames.normalize import FramePlan, canonical_type, is_time_like
from adapters.frames.positions import Position, csv_start, rows_start
from domain.errors import InvalidInput
from domain.frames import TIMESTAMP_ALIASES, TRADE_TIME_COLUMNS, FrameKind, check_columns

DEFAULT_BATCH_ROWS: Final = 100_000
# CSV is parsed in blocks of this many bytes; a block is also what type inference looks at.
DEFAULT_BLOCK_SIZE: Final = 8 << 20
_MIN_BLOCK_SIZE: Final = 4096

Source = Path | str | bytes


class FrameReader:
    """An opened upload: its normalized `schema` is known at once, its batches come on iteration."""

    def __init__(
        self,
        plan: FramePlan,
        input_schema: pa.Schema,
        raw: Iterator[pa.RecordBatch],
        *,
        start: Position,
        batch_rows: int,
        translate: Callable[[Exception], InvalidInput],
        relocate: Callable[[InvalidInput], InvalidInput] | None = None,
        closers: Sequence[Callable[[], Any]] = (),
    ) -> None:
        self.plan = plan
        self._closers = list(closers)
        try:
            self.schema: pa.Schema = plan.empty_schema(input_schema)
        except BaseException:
            self.close()
            raise
        self._raw = raw
        self._start = start
        self._batch_rows = max(1, batch_rows)
        self._translate = translate
        self._relocate = relocate

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches()
        except InvalidInput as error:
            if self._relocate is None:
                raise
            raise self._relocate(error) from error

    def _batches(self) -> Iterator[pa.RecordBatch]:
        position = self._start
        while True:
            try:
                batch = next(self._raw)
            except StopIteration:
                return
            except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as exc:
                raise self._translate(exc) from exc
            for offset in range(0, batch.num_rows, self._batch_rows):
                piece = batch.slice(offset, self._batch_rows)
                yield self.plan.normalize(piece, position)
                position = position.shifted(piece.num_rows)

    def close(self) -> None:
        closers, self._closers = self._closers, []
        for close in closers:
            close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_frames(
    source: Source,
    kind: FrameKind,
    *,
    fmt: UploadFormat | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> FrameReader:
    """Opens an upload (a file path or the bytes themselves) and checks its header. Blocking."""
    if fmt is None:
        fmt = detect_format(_head(source), content_type, filename or _name(source))
    elif not _head(source):
        raise InvalidInput("the upload is empty", {"bytes": 0})
    if fmt in (UploadFormat.CSV, UploadFormat.CSV_GZIP):
        return _open_csv(source, kind, fmt, batch_rows, block_size)
    if fmt is UploadFormat.PARQUET:
        return _open_parquet(source, kind, batch_rows)
    return _open_ipc(source, kind, fmt, batch_rows)


async def read_frames(
    path: Path | str,
    kind: FrameKind,
    *,
    fmt: UploadFormat | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    block_size: int = DEFAULT_BLOCK_SIZE,
) -> AsyncIterator[pa.RecordBatch]:
    """The normalized batches of an uploaded file, read in a worker thread one batch at a time.

    Raises InvalidInput (400) for a missing column or a bad cell, UnsupportedFormat (415) for bytes that
    are not a frame; a header problem surfaces before the first batch.
    """
    opener = partial(
        open_frames,
        path,
        kind,
        fmt=fmt,
        content_type=content_type,
        filename=filename,
        batch_rows=batch_rows,
        block_size=block_size,
    )
    reader = await anyio.to_thread.run_sync(opener)
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


def read_table(
    source: Source,
    kind: FrameKind,
    *,
    fmt: UploadFormat | None = None,
    content_type: str | None = None,
    filename: str | None = None,
) -> pa.Table:
    """A whole upload as one normalized table; for bodies that are in memory already. Blocking."""
    with open_frames(source, kind, fmt=fmt, content_type=content_type, filename=filename) as reader:
        return pa.Table.from_batches(list(reader), schema=reader.schema)


def read_csv_text(text: str, kind: FrameKind) -> pa.Table:
    """The `data` / `*_csv` string forms of the API."""
    if not text.strip():
        raise InvalidInput("the CSV text is empty", {"bytes": 0})
    return read_table(text.encode("utf-8"), kind, fmt=UploadFormat.CSV)


def read_json_rows(rows: Any, kind: FrameKind) -> pa.Table:
    """The JSON array forms (`predictions`, `trades`): row objects, validated like a file.

    A bad cell is a 400 whose `details.row` is its 0-based index in the array.
    """
    if not isinstance(rows, list):
        raise InvalidInput("rows must be an array of objects", {"type": type(rows).__name__})
    names: dict[str, None] = {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise InvalidInput(f"row {index} is not an object", {"row": index})
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
        f"row {index}: {name} cannot hold {type(odd).__name__} values next to {first.__name__} ones",
        {"row": index, "column": name, "value": str(odd)[:80]},
    )


def _as_text(value: Any) -> str:
    if isinstance(value, bool | dict | list):
        # Not a number and not a time: keep it recognisably wrong for the error message.
        return repr(value)
    return str(value)


# ---------------------------------------------------------------- sources


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    with open(source, "rb") as handle:
        return handle.read(HEAD_BYTES)


def _name(source: Source) -> str | None:
    return None if isinstance(source, bytes) else os.fspath(source)


def _input_stream(source: Source) -> pa.NativeFile:
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    return pa.OSFile(os.fspath(source), "rb")


def _random_access(source: Source) -> pa.NativeFile:
    if isinstance(source, bytes):
        return pa.BufferReader(source)
    return pa.memory_map(os.fspath(source), "r")


# ---------------------------------------------------------------- CSV

_ROW: Final = re.compile(r"Row #(\d+)")
_COLUMN: Final = re.compile(r"column #(\d+)")
_VALUE: Final = re.compile(r"invalid value '(.*)'", re.DOTALL)
_TARGET: Final = re.compile(r"conversion error to (\w+)")
_FIELDS: Final = re.compile(r"Expected (\d+) columns, got (\d+)")


def _open_csv(source: Source, kind: FrameKind, fmt: UploadFormat, batch_rows: int, block_size: int) -> FrameReader:
    block_size = max(block_size, _MIN_BLOCK_SIZE)
    # A first pass over one block gives the header and the types CSV inference sees there. Every type
    # is then pinned for the real pass so a later block cannot change a column's type midway.
    probe, probe_closers = _csv_reader(source, fmt, block_size, None, ())
    try:
        inferred = probe.schema
    finally:
        _close_all(probe_closers)
    try:
        names = [name.strip() for name in inferred.names]
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV header is not UTF-8 text", {"line": 1, "reason": str(exc)[:200]}) from exc
    check_columns(kind, names)
    column_types, time_typed = _pinned_csv_types(kind, inferred)
    try:
        reader, closers = _csv_reader(source, fmt, block_size, column_types, names)
    except InvalidInput as error:
        raise _physical_line(source, fmt, error) from error
    plan = FramePlan.for_schema(kind, reader.schema, time_typed)
    return FrameReader(
        plan,
        reader.schema,
        iter(reader),
        start=csv_start(),
        batch_rows=batch_rows,
        translate=partial(_csv_error, names=names),
        relocate=partial(_physical_line, source, fmt),
        closers=closers,
    )


def _csv_reader(
    source: Source,
    fmt: UploadFormat,
    block_size: int,
    column_types: dict[str, pa.DataType] | None,
    names: Sequence[str],
) -> tuple[Any, list[Callable[[], Any]]]:
    """An Arrow streaming CSV reader; opening it already parses the first block."""
    raw = _input_stream(source)
    closers: list[Callable[[], Any]] = [raw.close]
    stream = raw
    if fmt is UploadFormat.CSV_GZIP:
        stream = pa.CompressedInputStream(raw, "gzip")
        closers.insert(0, stream.close)
    try:
        reader = pa_csv.open_csv(
            stream,
            # Serial reading is what makes Arrow report the row number of a bad cell.
            read_options=pa_csv.ReadOptions(block_size=block_size, use_threads=False),
            convert_options=pa_csv.ConvertOptions(column_types=column_types or {}, strings_can_be_null=True),
        )
    except (pa.ArrowException, OSError, EOFError) as exc:
        _close_all(closers)
        raise _csv_error(exc, names) from exc
    return reader, closers


def _pinned_csv_types(kind: FrameKind, inferred: pa.Schema) -> tuple[dict[str, pa.DataType], list[str]]:
    types: dict[str, pa.DataType] = {}
    time_typed: list[str] = []
    for raw_name, seen in zip(inferred.names, inferred.types, strict=True):
        name = raw_name.strip()
        is_time = name in TIMESTAMP_ALIASES or (kind is FrameKind.TRADES and name in TRADE_TIME_COLUMNS)
        canonical = canonical_type(kind, name)
        if is_time:
            # Epoch numbers parse natively; anything else is parsed by our ISO-8601 rules.
            types[raw_name] = seen if seen in (pa.int64(), pa.float64()) else pa.string()
        elif canonical is not None:
            types[raw_name] = canonical
        elif is_time_like(seen):
            types[raw_name] = pa.string()
            time_typed.append(name)
        elif kind is FrameKind.INDICATORS and (pa.types.is_integer(seen) or pa.types.is_null(seen)):
            types[raw_name] = pa.float64()
        elif pa.types.is_null(seen):
            types[raw_name] = pa.string()
        else:
            types[raw_name] = seen
    return types, time_typed


def _physical_line(source: Source, fmt: UploadFormat, error: InvalidInput) -> InvalidInput:
    """The error with its line counted as in the file, blank lines included.

    Arrow skips blank lines and numbers records, so record N is the N-th non-blank line. Only an error
    pays for this scan, and it stops at the line it looks for.
    """
    details = error.details
    if not isinstance(details, dict) or not isinstance(details.get("line"), int):
        return error
    record = details["line"]
    try:
        physical = _nth_non_blank_line(source, fmt, record)
    except (OSError, EOFError):
        return error
    if physical is None or physical == record:
        return error
    message = error.message.replace(f"line {record}:", f"line {physical}:", 1)
    return InvalidInput(message, {**details, "line": physical})


def _nth_non_blank_line(source: Source, fmt: UploadFormat, record: int) -> int | None:
    raw: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with raw, gzip.GzipFile(fileobj=raw) if fmt is UploadFormat.CSV_GZIP else raw as handle:
        seen = 0
        for physical, text in enumerate(handle, start=1):
            seen += 1 if text.strip(b"\r\n") else 0
            if seen == record:
                return physical
    return None


def _csv_open_error(exc: Exception) -> InvalidInput:
    message = str(exc)
    if "Empty CSV file" in message:
        return InvalidInput("the upload is empty", {"bytes": 0})
    if "gzip" in message.lower() or "zlib" in message.lower():
        return InvalidInput("the upload is not valid gzip", {"reason": message[:200]})
    return InvalidInput(f"the CSV could not be read: {message[:200]}", {"reason": message[:200]})


def _csv_error(exc: Exception, names: Sequence[str]) -> InvalidInput:
    """Arrow's CSV error as a 400 that names the file line (header = line 1) and the column."""
    message = str(exc)
    row = _ROW.search(message)
    details: dict[str, Any] = {}
    if row is not None:
        details["line"] = int(row.group(1))
    column = _COLUMN.search(message)
    if column is not None and int(column.group(1)) < len(names):
        details["column"] = names[int(column.group(1))]
    where = f"line {details['line']}: " if "line" in details else ""
    target = _TARGET.search(message)
    if target is not None:
        value = _VALUE.search(message)
        if value is not None:
            details["value"] = value.group(1)[:80]
        wanted = {"double": "a number", "int64": "an integer", "string": "UTF-8 text"}.get(
            target.group(1), target.group(1)
        )
        shown = f", got {details['value']!r}" if "value" in details else ""
        return InvalidInput(f"{where}{details.get('column', 'a column')} must be {wanted}{shown}", details)
    fields = _FIELDS.search(message)
    if fields is not None:
        details["expected_columns"], details["found_columns"] = int(fields.group(1)), int(fields.group(2))
        return InvalidInput(f"{where}expected {fields.group(1)} fields, found {fields.group(2)}", details)
    return _csv_open_error(exc) if not details else InvalidInput(f"{where}{message[:200]}", details)


# ---------------------------------------------------------------- Parquet and Arrow IPC


def _open_parquet(source: Source, kind: FrameKind, batch_rows: int) -> FrameReader:
    handle = _random_access(source)
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
    )


def _open_ipc(source: Source, kind: FrameKind, fmt: UploadFormat, batch_rows: int) -> FrameReader:
    label = "Arrow IPC file" if fmt is UploadFormat.ARROW_FILE else "Arrow IPC stream"
    handle = _random_access(source) if fmt is UploadFormat.ARROW_FILE else _input_stream(source)
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


def _close_all(closers: Sequence[Callable[[], Any]]) -> None:
    for close in closers:
        close()
