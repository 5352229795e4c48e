"""Column names, value types and their names, identical for every time-series store."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from application.series_ports import RangeQuery
from application.store_types import (
    BOOLEAN,
    DOUBLE,
    LONG,
    TIMESTAMP_TYPE,
    VARCHAR,
    type_name,
)
from domain.errors import InvalidInput
from domain.frames import DEDUP_KEYS, TIMESTAMP, FrameKind
from domain.values import coerce_timestamp

# QuestDB refuses `.`, `-`, quotes, brackets and the like in column names, and names reach SQL as quoted
# identifiers, so every store takes only plain identifiers.
COLUMN_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,126}")

TIME: Final = pa.timestamp("ns")
_MICROS: Final = pa.timestamp("us")


INTEGER_TYPES: Final = frozenset({"LONG", "INT", "SHORT", "BYTE"})
FLOAT_TYPES: Final = frozenset({"DOUBLE", "FLOAT"})
TEXT_TYPES: Final = frozenset({"VARCHAR", "SYMBOL", "STRING", "CHAR", "UUID", "IPV4"})
TIME_TYPES: Final = frozenset({"TIMESTAMP", "TIMESTAMP_NS", "DATE"})



def arrow_type(store_type: str) -> pa.DataType:
    """The stored-shape Arrow type of a column the store describes as `store_type`."""
    upper = store_type.upper()
    if upper in INTEGER_TYPES:
        return pa.int64()
    if upper in FLOAT_TYPES:
        return pa.float64()
    if upper in TIME_TYPES:
        return TIME
    if upper == BOOLEAN:
        return pa.bool_()
    return pa.string()


def dedup_keys(kind: FrameKind) -> list[str]:
    return [TIMESTAMP, *DEDUP_KEYS[kind]]


def check_keys(frame: pa.Table, keys: Sequence[str]) -> None:
    """Every row must carry the measurement's dedup keys, or a retry could not replace it."""
    missing = [key for key in keys if key not in frame.schema.names]
    if missing:
        raise InvalidInput(
            f"the frame lacks the measurement's key columns: {', '.join(missing)}", {"missing_columns": missing}
        )


def check_query(query: RangeQuery) -> None:
    if query.order_by != TIMESTAMP:
        raise InvalidInput("rows can only be ordered by timestamp", {"field": "order_by"})
    if query.limit is not None and query.limit < 0:
        raise InvalidInput("limit must not be negative", {"field": "limit"})


def check_column_names(names: Sequence[str]) -> None:
    bad = [name for name in names if COLUMN_PATTERN.fullmatch(name) is None]
    if bad:
        raise InvalidInput(
            "column names must match ^[A-Za-z_][A-Za-z0-9_]{0,126}$",
            {"invalid_columns": bad[:20]},
        )
    seen: dict[str, str] = {}
    for name in names:
        if name.lower() in seen:
            raise InvalidInput(
                "column names must differ in more than letter case",
                {"duplicate_columns": [seen[name.lower()], name]},
            )
        seen[name.lower()] = name


def normalize(frame: pa.RecordBatch | pa.Table) -> pa.Table:
    """A frame in the stored shape, `timestamp` first. Raises InvalidInput for what no store can hold."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_batches([frame])
    names = list(table.schema.names)
    check_column_names(names)
    if TIMESTAMP not in names:
        raise InvalidInput("a frame needs a timestamp column", {"missing_columns": [TIMESTAMP]})
    order = [TIMESTAMP, *(name for name in names if name != TIMESTAMP)]
    columns = [_normalize_column(name, table.column(name)) for name in order]
    stamps = columns[0]
    if stamps.null_count:
        raise InvalidInput("every row needs a timestamp", {"column": TIMESTAMP, "nulls": stamps.null_count})
    return pa.Table.from_arrays(columns, names=order)


def _normalize_column(name: str, values: pa.ChunkedArray) -> pa.ChunkedArray:
    dtype = values.type
    if pa.types.is_dictionary(dtype):
        values = pc.cast(values, dtype.value_type)
        dtype = values.type
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        if pa.types.is_timestamp(dtype) and dtype.tz is not None:
            values = pc.cast(values, pa.timestamp(dtype.unit))
        micros = pc.cast(values, _MICROS, safe=False)
        return pc.cast(micros, TIME)
    if pa.types.is_integer(dtype):
        try:
            return pc.cast(values, pa.int64())
        except pa.ArrowInvalid as exc:
            raise InvalidInput(f"column {name} holds integers beyond 64 bits", {"column": name}) from exc
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        floats = pc.cast(values, pa.float64())
        return pc.if_else(pc.is_nan(floats), pa.scalar(None, pa.float64()), floats)
    if pa.types.is_boolean(dtype):
        return pc.fill_null(values, False)
    if pa.types.is_null(dtype):
        return pc.cast(values, pa.float64())
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pc.cast(values, pa.string())
    raise InvalidInput(f"column {name} has a type no store holds: {dtype}", {"column": name, "type": str(dtype)})


def conform(table: pa.Table, existing: Mapping[str, str]) -> pa.Table:
    """`table` with its columns named and typed as the measurement already has them.

    Names match the stored ones regardless of letter case (QuestDB's rule); an integer column meets a
    DOUBLE one as floats; any other mismatch is a 400 naming the column.
    """
    by_lower = {name.lower(): name for name in existing}
    names: list[str] = []
    columns: list[pa.ChunkedArray] = []
    for name, values in zip(table.schema.names, table.columns, strict=True):
        stored = by_lower.get(name.lower(), name)
        names.append(stored)
        store_type = existing.get(stored)
        if store_type is None:
            columns.append(values)
            continue
        columns.append(_conform_column(stored, values, store_type.upper()))
    return pa.Table.from_arrays(columns, names=names)


def _conform_column(name: str, values: pa.ChunkedArray, store_type: str) -> pa.ChunkedArray:
    incoming = type_name(values.type)
    if store_type in FLOAT_TYPES and incoming in (LONG, DOUBLE):
        return pc.cast(values, pa.float64())
    if store_type in INTEGER_TYPES and incoming == DOUBLE:
        try:
            return pc.cast(values, pa.int64())
        except pa.ArrowInvalid as exc:
            raise _mismatch(name, store_type, values.type) from exc
    if store_type in INTEGER_TYPES and incoming == LONG:
        return values
    if store_type in TEXT_TYPES and incoming == VARCHAR:
        return values
    if store_type in TIME_TYPES and incoming == TIMESTAMP_TYPE:
        return values
    if store_type == BOOLEAN and incoming == BOOLEAN:
        return values
    raise _mismatch(name, store_type, values.type)


def _mismatch(name: str, store_type: str, dtype: pa.DataType) -> InvalidInput:
    return InvalidInput(
        f"column {name} is {store_type} in the measurement but the frame has {dtype}",
        {"column": name, "stored_type": store_type, "frame_type": str(dtype)},
    )


def resolve_columns(
    requested: Sequence[str] | None,
    available: Sequence[str],
    order: Callable[[Sequence[str]], list[str]] | None = None,
) -> list[str]:
    """The columns a read returns: `timestamp` first, then the requested ones in their order; without any,
    every available one, in `order` (see `RangeQuery.column_order`) or as stored."""
    if not requested:
        ordered = available if order is None else order(available)
        return [TIMESTAMP, *(name for name in ordered if name != TIMESTAMP)]
    unknown = [name for name in requested if name not in available]
    if unknown:
        raise InvalidInput(
            f"unknown columns: {', '.join(unknown)}",
            {"unknown_columns": unknown, "available_columns": list(available)},
        )
    chosen = [TIMESTAMP]
    for name in requested:
        if name not in chosen:
            chosen.append(name)
    return chosen


Literal = int | float | str | bool


def coerce_equals(equals: Mapping[str, int | str], types: Mapping[str, str]) -> dict[str, Literal]:
    """Equality filters with each value in its column's type; unknown columns and bad values are a 400."""
    unknown = [name for name in equals if name not in types]
    if unknown:
        raise InvalidInput(
            f"unknown columns: {', '.join(unknown)}",
            {"unknown_columns": unknown, "available_columns": list(types)},
        )
    return {name: _coerce_value(name, value, types[name].upper()) for name, value in equals.items()}


def _coerce_value(name: str, value: int | str, store_type: str) -> Literal:
    try:
        if store_type in INTEGER_TYPES:
            if isinstance(value, bool) or (isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value)):
                raise ValueError(value)
            return int(value)
        if store_type in FLOAT_TYPES:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if store_type == BOOLEAN:
            text = str(value).lower()
            if text not in ("true", "false", "1", "0"):
                raise ValueError(value)
            return text in ("true", "1")
        if store_type in TIME_TYPES:
            nanos = coerce_timestamp(value)
            return nanos - nanos % 1000
        return str(value)
    except (ValueError, InvalidInput) as exc:
        raise InvalidInput(
            f"{name} is {store_type}; {str(value)[:40]!r} is not such a value",
            {"column": name, "type": store_type},
        ) from exc


def to_micros_bounds(from_ns: int | None, to_ns: int | None) -> tuple[int | None, int | None]:
    """Inclusive nanosecond bounds as inclusive microsecond bounds of stored (microsecond) times."""
    low = None if from_ns is None else -((-from_ns) // 1000)
    high = None if to_ns is None else to_ns // 1000
    return low, high


def time_bounds(table: pa.Table) -> tuple[int | None, int | None]:
    """First and last `timestamp` of a stored-shape table, as epoch nanoseconds."""
    if table.num_rows == 0:
        return None, None
    bounds = pc.min_max(table.column(TIMESTAMP))
    low, high = bounds["min"], bounds["max"]
    return int(low.cast(pa.int64()).as_py()), int(high.cast(pa.int64()).as_py())


def empty_table(types: Mapping[str, str], columns: Sequence[str]) -> pa.Table:
    schema = pa.schema([(name, arrow_type(types[name])) for name in columns])
    return schema.empty_table()
