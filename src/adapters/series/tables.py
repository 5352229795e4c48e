"""Dedup, filters and downsampling on Arrow tables: the in-memory store's engine.

The semantics are QuestDB's: an upsert keyed by (timestamp, dedup keys) keeps the last row written,
rows come out ordered by time, `SAMPLE BY ... ALIGN TO CALENDAR` buckets start at epoch-aligned
boundaries (Mondays for weeks, the calendar for months and years).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from adapters.series.sampling import Bucket
from adapters.series.schema import Literal
from domain.frames import TIMESTAMP

_ROW: Final = "__row"
_UNITS: Final = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "M": "month", "y": "year"}


def keep_last(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """One row per key, the last one written, ordered by the keys (timestamp first)."""
    if table.num_rows == 0:
        return table
    numbered = table.append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    last = numbered.group_by(list(keys), use_threads=False).aggregate([(_ROW, "max")])
    chosen = table.take(last.column(f"{_ROW}_max"))
    return chosen.sort_by([(key, "ascending") for key in keys])


def upsert(existing: pa.Table | None, incoming: pa.Table, keys: Sequence[str]) -> pa.Table:
    """`existing` with `incoming` merged in: new keys added, known keys replaced, new columns appended."""
    if existing is None:
        return keep_last(incoming, keys)
    merged = pa.concat_tables([existing, incoming], promote_options="default")
    return keep_last(merged, keys)


def select(
    table: pa.Table,
    columns: Sequence[str],
    low_micros: int | None,
    high_micros: int | None,
    equals: Mapping[str, Literal],
) -> pa.Table:
    """The rows within the inclusive bounds whose columns equal the given values, in time order."""
    mask = None
    stamps = table.column(TIMESTAMP)
    if low_micros is not None:
        mask = _and(mask, pc.greater_equal(stamps, pa.scalar(low_micros * 1000, stamps.type)))
    if high_micros is not None:
        mask = _and(mask, pc.less_equal(stamps, pa.scalar(high_micros * 1000, stamps.type)))
    for name, value in equals.items():
        column = table.column(name)
        mask = _and(mask, pc.equal(column, pa.scalar(_literal(value, column.type), column.type)))
    chosen = table.select(list(columns))
    return chosen if mask is None else chosen.filter(mask)


def _literal(value: Literal, dtype: pa.DataType) -> object:
    return value // 1000 * 1000 if pa.types.is_timestamp(dtype) and isinstance(value, int) else value


def _and(mask: pa.ChunkedArray | None, more: pa.ChunkedArray) -> pa.ChunkedArray:
    return more if mask is None else pc.and_kleene(mask, more)


def sample(table: pa.Table, bucket: Bucket, plan: Sequence[tuple[str, str]]) -> pa.Table:
    """One row per non-empty bucket: its start as `timestamp`, then each column's aggregate."""
    starts = pc.floor_temporal(
        table.column(TIMESTAMP), multiple=bucket.count, unit=_UNITS[bucket.unit], week_starts_monday=True
    )
    keyed = pa.Table.from_arrays(
        [starts, *(table.column(name) for name, _ in plan)],
        names=[TIMESTAMP, *(f"c{index}" for index in range(len(plan)))],
    )
    aggregations: list[tuple[str, str, pc.FunctionOptions] | tuple[str, str]] = []
    for index, (_, aggregate) in enumerate(plan):
        field = f"c{index}"
        if aggregate in ("first", "last"):
            aggregations.append((field, aggregate, pc.ScalarAggregateOptions(skip_nulls=False)))
        elif aggregate == "avg":
            aggregations.append((field, "mean"))
        elif aggregate == "count":
            aggregations.append((field, "count", pc.CountOptions(mode="only_valid")))
        else:
            aggregations.append((field, aggregate))
    grouped = keyed.group_by(TIMESTAMP, use_threads=False).aggregate(aggregations)
    names = [name for name, _ in plan]
    arrays = [grouped.column(TIMESTAMP)]
    for index, (_, aggregate) in enumerate(plan):
        suffix = "mean" if aggregate == "avg" else aggregate
        arrays.append(grouped.column(f"c{index}_{suffix}"))
    result = pa.Table.from_arrays(arrays, names=[TIMESTAMP, *names])
    return result.sort_by(TIMESTAMP)
