"""Chunked responses for frames: CSV, JSON, NDJSON, Arrow IPC or Parquet, never built whole in memory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Final, cast

import pyarrow as pa
from litestar import Request
from litestar.di import Provide
from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import HTTPResponseBodyEvent, Send

from adapters.frames import MEDIA_TYPES, Chunk, OutputFormat, encode, negotiate
from application.timeseries import RangeRows
from domain.values import output_unit
from entrypoints.http import parameters as p
from entrypoints.http.metrics import BYTES_EXPORTED


class _ChunksAsTheyAre(ASGIStreamingResponse):
    """Litestar's streaming response sending each chunk as it is: its own loop turns every chunk that is not
    `bytes` into text, and the Arrow stream's chunks are memoryviews of pyarrow's buffers (the server writes
    any bytes-like body; copying them into `bytes` first cost more than encoding them)."""

    __slots__ = ()  # Litestar's slots only, so a response it built can take this class

    async def _stream(self, send: Send) -> None:
        async for chunk in self.iterator:
            # A memoryview is typed as bytes here: ASGI says bytes, and uvicorn (httptools or h11) writes any buffer.
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": cast(bytes, chunk), "more_body": True}
            await send(body)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class FrameStream(Stream):
    """A Stream that keeps its own Content-Type and sends its chunks as they are (`_ChunksAsTheyAre`).

    Litestar lets the handler's media type override the response's, and a handler annotated `-> Any` (one that
    answers JSON or a stream, like the trades route) defaults to JSON: its CSV went out as application/json."""

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["media_type"] = self.media_type
        response = super().to_asgi_response(*args, **kwargs)
        response.__class__ = _ChunksAsTheyAre  # the same response, only its body loop differs
        return response


def attachment(download: bool, name: str) -> str | None:
    """The file name (without extension) a `download=true` answer carries; only safe characters, since
    part of it may come from the path."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120] if download else None


def choose_format(fmt: str | None, accept: str | None, default: str = "csv") -> str:
    return negotiate(fmt, accept, default).value


async def stream_of(chunks: AsyncIterator[Chunk], fmt: str, filename: str | None = None) -> FrameStream:
    """Pull the first chunk before answering, so a store error still gets a proper status."""
    iterator = aiter(chunks)
    try:
        first: Chunk | None = await anext(iterator)
    except StopAsyncIteration:
        first = None

    async def body() -> AsyncIterator[Chunk]:
        sent = 0
        try:
            if first:
                sent += len(first)
                yield first
            async for chunk in iterator:
                sent += len(chunk)
                yield chunk
        finally:
            BYTES_EXPORTED.labels(format=fmt).inc(sent)
            closer = getattr(iterator, "aclose", None)
            if closer is not None:
                await closer()

    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}.{_extension(fmt)}"'
    # Typed as Litestar's bytes: FrameStream's body loop sends memoryview chunks as they are.
    chunks_out = cast(AsyncIterator[bytes], body())
    return FrameStream(chunks_out, media_type=MEDIA_TYPES[OutputFormat(fmt)], headers=headers)


async def stream_rows(
    rows: RangeRows,
    fmt: str,
    ts_unit: str | None,
    filename: str | None = None,
    rename: dict[str, str] | None = None,
) -> Stream:
    """A range of a measurement as the client's format. CSV goes through the store's own export."""
    ts_unit = output_unit(ts_unit, fmt)
    if fmt == "csv" and not rename:
        return await stream_of(rows.csv(ts_unit), fmt, filename)
    batches = rows.batches()
    if rename:
        batches = renamed(batches, rename)
    return await stream_of(encode(batches, fmt, ts_unit), fmt, filename)


async def stream_batches(
    batches: AsyncIterator[pa.RecordBatch], fmt: str, ts_unit: str | None, filename: str | None = None
) -> Stream:
    ts_unit = output_unit(ts_unit, fmt)
    return await stream_of(encode(batches, fmt, ts_unit), fmt, filename)


async def renamed(batches: AsyncIterator[pa.RecordBatch], names: dict[str, str]) -> AsyncIterator[pa.RecordBatch]:
    async for batch in batches:
        yield batch.rename_columns([names.get(name, name) for name in batch.schema.names])


@dataclass(frozen=True, slots=True)
class StreamAnswer:
    """How a client asked for rows: their format (`?format=`, else Accept), time unit, the time the store
    may take, and whether they come as a file. A dependency (`STREAM_ANSWER`) for the routes that end in
    these four parameters, so they are declared once."""

    fmt: str
    ts_unit: str | None
    timeout: float
    download: bool

    async def rows(self, rows: RangeRows, name: str) -> Stream:
        return await stream_rows(rows, self.fmt, self.ts_unit, attachment(self.download, name))

    async def batches(self, batches: AsyncIterator[pa.RecordBatch], name: str) -> Stream:
        return await stream_batches(batches, self.fmt, self.ts_unit, attachment(self.download, name))


def stream_answer(
    request: Request[Any, Any, Any],
    format: p.Format = None,
    ts_unit: p.TsUnit = None,
    timeout: p.Timeout = 60.0,
    download: p.Download = False,
) -> StreamAnswer:
    return StreamAnswer(choose_format(format, request.headers.get("accept")), ts_unit, timeout, download)


STREAM_ANSWER: Final = {"answer": Provide(stream_answer, sync_to_thread=False)}


def _extension(fmt: str) -> str:
    return {"csv": "csv", "json": "json", "ndjson": "ndjson", "arrow": "arrows", "parquet": "parquet"}.get(fmt, "bin")
