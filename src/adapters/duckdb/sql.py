"""The SQL the DuckDB store sends: quoted identifiers, bound values, never client text spliced in."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Final

from adapters.series.sampling import Bucket
from domain.frames import TIMESTAMP

# Measurement names start with a letter, so this table can never clash with one.
CATALOG: Final = "_stage1_measurements"
CATALOG_DDL: Final = (
    f"CREATE TABLE IF NOT EXISTS {CATALOG} "
    "(name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, dedup_keys VARCHAR NOT NULL, symbols VARCHAR NOT NULL)"
)
# Whether a measurement's rows are stored in time order (each write appended strictly later, increasing
# times), so a range read may skip its sort: DuckDB scans in insertion order (preserve_insertion_order).
# Files from before this column read as FALSE: sorted on read, as they always were.
CATALOG_IN_ORDER_DDL: Final = f"ALTER TABLE {CATALOG} ADD COLUMN IF NOT EXISTS in_time_order BOOLEAN DEFAULT FALSE"

_TYPES: Final = {
    "TIMESTAMP": "TIMESTAMP", "LONG": "BIGINT", "DOUBLE": "DOUBLE", "VARCHAR": "VARCHAR",
    "SYMBOL": "VARCHAR", "BOOLEAN": "BOOLEAN",
}
_INTERVAL_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "days",
                          "M": "months", "y": "years"}
_AGGREGATES: Final = {"min": "min", "max": "max", "sum": "sum", "avg": "avg", "count": "count"}
_BUCKET_TS: Final = "__bucket_ts"


def quote(identifier: str) -> str:
    """A double-quoted identifier; callers pass only names validated against the table or the patterns."""
    return '"' + identifier.replace('"', '""') + '"'


def duckdb_type(store_type: str) -> str:
    return _TYPES.get(store_type, "VARCHAR")


def _where(low: int | None, high: int | None, equals: Mapping[str, Any]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    stamp = quote(TIMESTAMP)
    if low is not None:
        clauses.append(f"{stamp} >= make_timestamp(?::BIGINT)")
        params.append(low)
    if high is not None:
        clauses.append(f"{stamp} <= make_timestamp(?::BIGINT)")
        params.append(high)
    for name, value in equals.items():
        clauses.append(f"{quote(name)} = ?")
        params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _limit(limit: int | None, params: list[Any]) -> str:
    if limit is None:
        return ""
    params.append(limit)
    return " LIMIT ?"


def range_sql(
    measurement: str,
    columns: Sequence[str],
    low: int | None,
    high: int | None,
    equals: Mapping[str, Any],
    limit: int | None,
    keys: Sequence[str],
    in_time_order: bool = False,
) -> tuple[str, list[Any]]:
    """A range in time order: sorted by DuckDB, or as stored when the rows are known to be stored in it
    (no sort, and the first rows stream while the scan goes on)."""
    where, params = _where(low, high, equals)
    order = ", ".join(quote(key) for key in [TIMESTAMP, *(key for key in keys if key != TIMESTAMP)])
    projection = ", ".join(quote(name) for name in columns)
    sorting = "" if in_time_order else f" ORDER BY {order}"
    sql = f"SELECT {projection} FROM {quote(measurement)}{where}{sorting}{_limit(limit, params)}"
    return sql, params


def sample_sql(
    measurement: str,
    bucket: Bucket,
    plan: Sequence[tuple[str, str]],
    integer_columns: Collection[str],
    low: int | None,
    high: int | None,
    equals: Mapping[str, Any],
    limit: int | None,
) -> tuple[str, list[Any]]:
    """`SAMPLE BY ... ALIGN TO CALENDAR` in DuckDB: epoch-aligned buckets; weeks counted from Monday 1969-12-29."""
    where, params = _where(low, high, equals)
    width = bucket.count * 7 if bucket.unit == "w" else bucket.count
    origin = "1969-12-29" if bucket.unit == "w" else "1970-01-01"
    start = f"time_bucket(INTERVAL '{width} {_INTERVAL_UNITS[bucket.unit]}', {_BUCKET_TS}, TIMESTAMP '{origin}')"
    projection = [f"{start} AS {quote(TIMESTAMP)}"]
    for name, aggregate in plan:
        column = quote(name)
        if aggregate in ("first", "last"):
            expression = f"{aggregate}({column} ORDER BY {_BUCKET_TS})"
        else:
            expression = f"{_AGGREGATES[aggregate]}({column})"
            if (aggregate == "sum" and name in integer_columns) or aggregate == "count":
                expression = f"CAST({expression} AS BIGINT)"
        projection.append(f"{expression} AS {column}")
    source_columns = ", ".join(quote(name) for name, _ in plan)
    selected = f"{quote(TIMESTAMP)} AS {_BUCKET_TS}" + (f", {source_columns}" if plan else "")
    source = f"SELECT {selected} FROM {quote(measurement)}{where}"
    sql = f"SELECT {', '.join(projection)} FROM ({source}) GROUP BY 1 ORDER BY 1{_limit(limit, params)}"
    return sql, params
