"""Arrow batches out to clients as CSV, JSON, NDJSON, an Arrow IPC stream or Parquet, chunk by chunk.

Nothing is built whole: each batch becomes one chunk (bytes, or a memoryview of pyarrow's buffer) as it
arrives. CSV and Arrow are written by pyarrow itself; JSON rows are assembled with vectorized string kernels,
falling back to msgspec for types those cannot spell.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any, Final, Protocol, TypeAlias

import anyio.to_thread
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from adapters.frames.binary_encoders import ArrowStreamEncoder, ParquetEncoder
from adapters.frames.csv_numbers import with_doubles_spelled
from adapters.frames.formats import OutputFormat, output_format
from adapters.frames.json_rows import json_text_per_value, rows_json
from adapters.frames.timestamps import format_time_array
from domain.values import output_unit

# Batches are cut to this many rows: it bounds a chunk's size and keeps string offsets within 32 bits.
CHUNK_ROWS: Final = 65_536
# Below this a worker-thread hop costs more than encoding on the event loop.
_THREAD_ROWS: Final = 2_048

# What a chunk is: `bytes`, or a memoryview of a buffer pyarrow wrote (sent as it is, never copied into bytes).
Chunk: TypeAlias = bytes | memoryview

_CSV_SPECIALS: Final = (",", '"', "\n", "\r")
_CSV_SPECIALS_PATTERN: Final = r'[,"\r\n]'


# ---------------------------------------------------------------- batch preparation


def prepare_batch(batch: pa.RecordBatch, ts_unit: str, columns_order: Sequence[str] | None = None) -> pa.RecordBatch:
    """Columns in the requested order (the rest after them) and every time column in `ts_unit`."""
    names = list(batch.schema.names)
    if columns_order:
        listed = [name for name in columns_order if name in names]
        chosen = set(listed)
        names = listed + [name for name in names if name not in chosen]
    arrays = []
    for name in names:
        values = batch.column(name)
        if pa.types.is_dictionary(values.type):
            values = values.dictionary_decode()
        if pa.types.is_timestamp(values.type):
            values = format_time_array(values, ts_unit)
        arrays.append(values)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def prepared_schema(schema: pa.Schema, ts_unit: str, columns_order: Sequence[str] | None = None) -> pa.Schema:
    empty = pa.RecordBatch.from_pylist([], schema=schema)
    return prepare_batch(empty, ts_unit, columns_order).schema


# ---------------------------------------------------------------- encoders


class BatchEncoder(Protocol):
    """Turns prepared batches into the bytes of one document, a chunk per batch."""

    def encode(self, batch: pa.RecordBatch) -> Chunk: ...

    def finish(self, schema: pa.Schema | None) -> bytes:
        """The closing bytes; `schema` lets an empty stream still carry a header."""
        ...


class CsvEncoder:
    """RFC 4180 CSV with one header row; NaN goes out as an empty cell, like a null."""

    def __init__(self) -> None:
        self._header_done = False

    def encode(self, batch: pa.RecordBatch) -> bytes:
        head = self._header(batch.schema)
        if batch.num_rows == 0:
            return head
        batch = _csv_ready(batch)
        return head + _write_csv(batch)

    def finish(self, schema: pa.Schema | None) -> bytes:
        return self._header(schema) if schema is not None else b""

    def _header(self, schema: pa.Schema) -> bytes:
        if self._header_done:
            return b""
        self._header_done = True
        return (",".join(_csv_field(name) for name in schema.names) + "\n").encode("utf-8")


def _csv_field(text: str) -> str:
    if any(special in text for special in _CSV_SPECIALS):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(batch: pa.RecordBatch) -> bytes:
    # Arrow's "needed" style quotes every string; unquoted output is smaller and what most readers
    # expect, so quotes are used only when some text in the batch holds a comma, quote or newline.
    style = "needed" if _has_csv_specials(batch) else "none"
    if style == "none":  # doubles spelled as Arrow does, faster (csv_numbers.py); text would be quoted in "needed"
        batch = with_doubles_spelled(batch)
    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=False, quoting_style=style, batch_size=CHUNK_ROWS)
    pa_csv.write_csv(batch, sink, options)
    return bytes(sink.getvalue().to_pybytes())


def _has_csv_specials(batch: pa.RecordBatch) -> bool:
    for values in batch.columns:
        kind = values.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            if pc.any(pc.match_substring_regex(values, _CSV_SPECIALS_PATTERN)).as_py():
                return True
        elif not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_null(kind)
        ):
            return True
    return False


def _csv_ready(batch: pa.RecordBatch) -> pa.RecordBatch:
    arrays = []
    changed = False
    for values in batch.columns:
        kind = values.type
        if pa.types.is_floating(kind) and pc.any(pc.is_nan(values)).as_py():
            values = pc.if_else(pc.is_nan(values), pa.scalar(None, kind), values)
            changed = True
        elif _is_nested(kind):
            values = json_text_per_value(values)
            changed = True
        elif pa.types.is_interval(kind):  # Arrow's CSV writer has no text form for intervals
            values = pa.array([None if v is None else _iso_duration(v) for v in values.to_pylist()], pa.string())
            changed = True
        arrays.append(values)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch


def _iso_duration(value: Any) -> str:
    """A month-day-nanosecond interval as ISO-8601 text, as the JSON answers write one: `P1D`, `P1M2DT3.5S`."""
    months, days, nanos = value.months, value.days, value.nanoseconds
    seconds = f"{nanos / 10**9:.9f}".rstrip("0").rstrip(".") if nanos else ""
    text = "P" + (f"{months}M" if months else "") + (f"{days}D" if days else "") + (f"T{seconds}S" if seconds else "")
    return text if text != "P" else "PT0S"


def _is_nested(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_struct(kind)
        or pa.types.is_map(kind)
    )


class JsonEncoder:
    """One JSON array of row objects, streamed: `[` row `,` row ... `]`; valid even with no rows."""

    def __init__(self) -> None:
        self._opened = False
        self._rows = 0

    def encode(self, batch: pa.RecordBatch) -> bytes:
        opening = b"" if self._opened else b"["
        self._opened = True
        if batch.num_rows == 0:
            return opening
        body = rows_json(batch, b",")[:-1]
        separator = b"," if self._rows else b""
        self._rows += batch.num_rows
        return opening + separator + body

    def finish(self, schema: pa.Schema | None) -> bytes:
        return b"]" if self._opened else b"[]"


class NdjsonEncoder:
    """One JSON object per line."""

    def encode(self, batch: pa.RecordBatch) -> bytes:
        return rows_json(batch, b"\n") if batch.num_rows else b""

    def finish(self, schema: pa.Schema | None) -> bytes:
        return b""


def make_encoder(fmt: OutputFormat) -> BatchEncoder:
    encoders: dict[OutputFormat, type[BatchEncoder]] = {
        OutputFormat.CSV: CsvEncoder,
        OutputFormat.JSON: JsonEncoder,
        OutputFormat.NDJSON: NdjsonEncoder,
        OutputFormat.ARROW: ArrowStreamEncoder,
        OutputFormat.PARQUET: ParquetEncoder,
    }
    return encoders[fmt]()


async def encode(
    batches: AsyncIterable[pa.RecordBatch],
    fmt: OutputFormat | str,
    ts_unit: str | None = None,
    columns_order: Sequence[str] | None = None,
    *,
    schema: pa.Schema | None = None,
) -> AsyncIterator[Chunk]:
    """A batch stream as the chunks of one document in `fmt`, time columns in `ts_unit`.

    `schema`, when the caller knows it, gives an empty result its CSV header / Arrow schema.
    Large batches are encoded in a worker thread so the event loop stays free.
    """
    chosen = output_format(fmt)
    encoder = make_encoder(chosen)
    unit = output_unit(ts_unit, chosen.value)

    def step(piece: pa.RecordBatch) -> Chunk:
        return encoder.encode(prepare_batch(piece, unit, columns_order))

    async def encoded(batch: pa.RecordBatch, chunks: list[Chunk]) -> None:
        for piece in _pieces(batch):
            chunk = await anyio.to_thread.run_sync(step, piece) if piece.num_rows >= _THREAD_ROWS else step(piece)
            if chunk:
                chunks.append(chunk)

    iterator = aiter(batches)
    try:
        batch = await anext(iterator, None)
        while batch is not None:
            # The next batch is read (a store's network wait and decoding) while this one is encoded in a thread.
            chunks: list[Chunk] = []
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(encoded, batch, chunks)
                    batch = await anext(iterator, None)
            except BaseExceptionGroup as failed:
                raise _first(failed) from None
            for chunk in chunks:
                yield chunk
    finally:
        # Closed now, not whenever the garbage collector gets to it: a store stream frees its connection here.
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            with anyio.CancelScope(shield=True):
                await closer()
    known = prepared_schema(schema, unit, columns_order) if schema is not None else None
    tail = encoder.finish(known)
    if tail:
        yield tail


def encode_table(
    table: pa.Table | pa.RecordBatch,
    fmt: OutputFormat | str,
    ts_unit: str | None = None,
    columns_order: Sequence[str] | None = None,
) -> bytes:
    """A small in-memory frame as one document (blocking; for bodies that are built whole anyway)."""
    chosen = output_format(fmt)
    encoder = make_encoder(chosen)
    ts_unit = output_unit(ts_unit, chosen.value)
    batches = table.to_batches() if isinstance(table, pa.Table) else [table]
    chunks = [
        encoder.encode(prepare_batch(piece, ts_unit, columns_order)) for batch in batches for piece in _pieces(batch)
    ]
    chunks.append(encoder.finish(prepared_schema(table.schema, ts_unit, columns_order)))
    return b"".join(chunks)


def _first(failed: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error itself rather than the group a task group wraps it in (the route maps it to a status)."""
    while isinstance(failed, BaseExceptionGroup) and len(failed.exceptions) == 1:
        failed = failed.exceptions[0]  # type: ignore[assignment]
    return failed


def _pieces(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    if batch.num_rows <= CHUNK_ROWS:
        return [batch]
    return [batch.slice(start, CHUNK_ROWS) for start in range(0, batch.num_rows, CHUNK_ROWS)]
