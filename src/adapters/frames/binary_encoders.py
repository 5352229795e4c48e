"""Arrow IPC and Parquet out to clients, a chunk per batch, so nothing is held beyond the batch at hand
(Parquet keeps only its footer's row-group index until the end).

The Arrow stream is the schema message, one message per batch and the end-of-stream marker: pyarrow
serializes each message straight into one buffer, byte for byte what its stream writer writes (a unit test
holds the two equal), without a Python file object taking the writer's many small writes."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# The IPC stream's end: the continuation marker and a zero-length message.
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


class _Drain:
    """A write-only file whose contents are taken out after every batch."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(self.parts[-1])

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def take(self) -> bytes:
        parts, self.parts = self.parts, []
        return b"".join(parts)


class _SinkEncoder:
    """A pyarrow writer opened on the first batch (or at the end, for an empty stream) over a drain; each
    batch's bytes are taken out as soon as it is written. Later batches are cast to the first one's schema."""

    writes_empty_batches = True

    def __init__(self) -> None:
        self._drain = _Drain()
        self._writer: Any = None
        self._schema: pa.Schema | None = None

    def encode(self, batch: pa.RecordBatch) -> bytes:
        if self._writer is None:
            self._open(batch.schema)
        elif batch.schema != self._schema:
            batch = batch.cast(self._schema)
        if batch.num_rows or self.writes_empty_batches:
            self._writer.write_batch(batch)
        return self._drain.take()

    def finish(self, schema: pa.Schema | None) -> bytes:
        if self._writer is None:
            self._open(schema if schema is not None else pa.schema([]))
        self._writer.close()
        return self._drain.take()

    def _open(self, schema: pa.Schema) -> None:
        self._schema = schema
        self._writer = self._writer_for(pa.PythonFile(self._drain, mode="w"), schema)

    def _writer_for(self, sink: pa.PythonFile, schema: pa.Schema) -> Any:
        raise NotImplementedError


class ArrowStreamEncoder:
    """The Arrow IPC stream format: schema message, one message per batch, end-of-stream marker. Later
    batches are cast to the first one's schema.

    A batch's message goes out as a memoryview of pyarrow's own buffer: copying megabytes into `bytes`
    (`to_pybytes`) cost more than serializing them, as every copy lands in freshly mapped memory."""

    def __init__(self) -> None:
        self._schema: pa.Schema | None = None

    def encode(self, batch: pa.RecordBatch) -> bytes | memoryview:
        if self._schema is None:
            self._schema = batch.schema
            return b"".join((self._schema.serialize(), batch.serialize()))
        if batch.schema != self._schema:
            batch = batch.cast(self._schema)
        return memoryview(batch.serialize())

    def finish(self, schema: pa.Schema | None) -> bytes:
        head = b""
        if self._schema is None:
            head = (schema if schema is not None else pa.schema([])).serialize().to_pybytes()
        return bytes(head) + END_OF_STREAM


class ParquetEncoder(_SinkEncoder):
    """One Parquet file: a row group per batch with rows, the footer at the end; no seekable sink needed."""

    writes_empty_batches = False

    def _writer_for(self, sink: pa.PythonFile, schema: pa.Schema) -> Any:
        # Dictionaries only where values repeat (text: symbols, sides, tags): on doubles and times Arrow tries a
        # dictionary per page and gives it up, which cost about half the writer's CPU; snappy compresses in
        # about half zstd's time. A 1M-row OHLCV export: writer CPU 0.29 -> 0.16 s, 17.8 -> 24.0 MB.
        texts = [
            field.name for field in schema if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
        ]
        return pq.ParquetWriter(sink, schema, compression="snappy", use_dictionary=texts)
