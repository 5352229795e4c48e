"""Small tools for Arrow batch streams that several use cases share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pyarrow as pa


class OpenedStream:
    """A stream whose first batch was already read, so its header was validated before any write.

    Iterate it once; `schema` is known up front."""

    def __init__(self, first: pa.RecordBatch | None, rest: AsyncIterator[pa.RecordBatch]) -> None:
        self._first = first
        self._rest = rest
        self.schema = None if first is None else first.schema

    def __aiter__(self) -> AsyncIterator[pa.RecordBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[pa.RecordBatch]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        async for batch in self._rest:
            yield batch

    async def aclose(self) -> None:
        closer = getattr(self._rest, "aclose", None)
        if closer is not None:
            await closer()


async def open_stream(batches: AsyncIterator[pa.RecordBatch]) -> OpenedStream:
    """Read the first batch now: a missing column or a bad first line fails before anything is written."""
    iterator = aiter(batches)
    try:
        first = await anext(iterator)
    except StopAsyncIteration:
        first = None
    return OpenedStream(first, iterator)


async def from_batches(batches: Iterable[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    for batch in batches:
        yield batch


async def collect(batches: AsyncIterator[pa.RecordBatch]) -> pa.Table | None:
    """A whole (small) frame in memory: trades, which are also stored row by row in the metadata store."""
    collected = [batch async for batch in batches]
    if not collected:
        return None
    return pa.Table.from_batches(collected)
