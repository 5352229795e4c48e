"""Bars with other series beside them, matched on the exact timestamp, at flat memory.

All streams arrive sorted by time. For each batch of bars, every other stream is read only up to the
batch's last bar, and a row lands on the bar with exactly its timestamp (`index_in`); a bar without one
gets nulls. Nothing is carried forward from an earlier row, and rows between bars are passed over."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from adapters.series.schema import arrow_type

TIME: str = "timestamp"


@dataclass(frozen=True, slots=True)
class Beside:
    """A series joined onto the bars: its rows, and the columns taken from it with their store types (every
    batch carries them in that type, rows or not; a name the bars already have gets `prefix`)."""

    batches: AsyncIterator[pa.RecordBatch] | None
    columns: Sequence[tuple[str, str]]
    prefix: str = ""


class _Cursor:
    """A sorted stream read ahead only as far as the bars need it."""

    def __init__(self, beside: Beside) -> None:
        self._batches = beside.batches
        self._held: pa.Table | None = None
        self.columns = [(name, arrow_type(kind)) for name, kind in beside.columns]

    async def upto(self, last_nanos: int) -> pa.Table | None:
        parts: list[pa.Table] = []
        while True:
            if self._held is None:
                batch = await self._next()
                if batch is None:
                    break
                self._held = pa.Table.from_batches([batch])
            times = _nanos(self._held.column(TIME))
            taken = pc.sum(pc.less_equal(times, last_nanos)).as_py() or 0
            parts.append(self._held.slice(0, taken))
            if taken < self._held.num_rows:
                self._held = self._held.slice(taken)
                break
            self._held = None
        parts = [part for part in parts if part.num_rows]
        return pa.concat_tables(parts, promote_options="permissive") if parts else None

    async def _next(self) -> pa.RecordBatch | None:
        if self._batches is None:
            return None
        async for batch in self._batches:
            if batch.num_rows:
                return batch
        self._batches = None
        return None

    async def aclose(self) -> None:
        closer = getattr(self._batches, "aclose", None)
        if closer is not None:
            await closer()


async def join_on_timestamp(
    bars: AsyncIterator[pa.RecordBatch], besides: Sequence[Beside]
) -> AsyncIterator[pa.RecordBatch]:
    """Each bar once, in order, with the columns of `besides` from their rows at exactly its timestamp."""
    cursors = [_Cursor(beside) for beside in besides]
    prefixes = [beside.prefix for beside in besides]
    try:
        async for batch in bars:
            if batch.num_rows == 0:
                continue
            keys = _nanos(batch.column(TIME))
            last = pc.max(keys).as_py()
            names, arrays = list(batch.schema.names), list(batch.columns)
            for cursor, prefix in zip(cursors, prefixes, strict=True):
                rows = await cursor.upto(last)
                positions = (
                    pc.index_in(keys, value_set=_nanos(rows.column(TIME)))
                    if rows is not None
                    else pa.nulls(batch.num_rows, pa.int32())
                )
                for name, kind in cursor.columns:
                    if rows is not None and name in rows.column_names:
                        values = rows.column(name).take(positions).cast(kind)
                    else:
                        values = pa.nulls(batch.num_rows, kind)
                    names.append(prefix + name if name in names else name)
                    arrays.append(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
            yield pa.RecordBatch.from_arrays(arrays, names=names)
    finally:
        for cursor in cursors:
            await cursor.aclose()


def _nanos(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Times as int64 epoch nanoseconds, so two stores' time types compare exactly."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_timestamp(values.type):
        values = values.cast(pa.timestamp("ns", tz=values.type.tz))
    return pc.cast(values, pa.int64())
