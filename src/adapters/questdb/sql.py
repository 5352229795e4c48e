"""The SQL the QuestDB store sends. Identifiers are validated names in double quotes; values are typed
literals (integers and floats printed by Python, text single-quoted with quotes doubled), never raw
client text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from adapters.series.sampling import Bucket
from adapters.series.schema import COLUMN_PATTERN, TIME_TYPES, Literal
from application.store_types import SYMBOL
from domain.errors import InvalidInput
from domain.frames import TIMESTAMP
from domain.values import MEASUREMENT_PATTERN

_DDL_TYPES: Final = {"TIMESTAMP": "TIMESTAMP", "LONG": "LONG", "DOUBLE": "DOUBLE", "VARCHAR": "VARCHAR",
                     "SYMBOL": "SYMBOL", "BOOLEAN": "BOOLEAN"}
# A type QuestDB's own catalog names (a table made elsewhere); copied as is into a staging table's DDL.
_CATALOG_TYPE: Final = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}(\([0-9a-z]{1,4}\))?")
# Staging tables of all-or-nothing writes: `_`-prefixed (hidden from listings), with their start second.
STAGING_PREFIX: Final = "__stage1_staging_"
_STAGING: Final = re.compile(re.escape(STAGING_PREFIX) + r"([0-9]{1,12})_[0-9a-f]{1,32}")
_SAMPLE_UNITS: Final = {"s": "s", "m": "m", "h": "h", "d": "d", "w": "w", "M": "M", "y": "y"}
_AGGREGATES: Final = {"first": "first", "last": "last", "min": "min", "max": "max", "sum": "sum",
                      "avg": "avg", "count": "count"}

# How /exp spells a time column for each `ts_unit` (QuestDB times are microseconds since the epoch).
_TIME_FORMATS: Final = {
    "s": "cast({0} as long) / 1000000",
    "ms": "cast({0} as long) / 1000",
    "us": "cast({0} as long)",
    "ns": "cast({0} as long) * 1000",
    "iso": "{0}",
}


def staging_name(started: int, token: str) -> str:
    return f"{STAGING_PREFIX}{started}_{token}"


def staging_started(name: str) -> int | None:
    """The second a staging table's write started, or None for any other name."""
    found = _STAGING.fullmatch(name)
    return None if found is None else int(found[1])


def table(name: str) -> str:
    if MEASUREMENT_PATTERN.fullmatch(name) is None and _STAGING.fullmatch(name) is None:
        raise InvalidInput("measurement must match ^[a-z][a-z0-9_]{0,126}$", {"field": "measurement"})
    return f'"{name}"'


def column(name: str) -> str:
    if COLUMN_PATTERN.fullmatch(name) is None:
        raise InvalidInput(f"not a column name: {name[:40]!r}", {"column": name[:40]})
    return f'"{name}"'


def literal(value: Literal, store_type: str) -> str:
    if store_type in TIME_TYPES and isinstance(value, int):
        return f"cast({value // 1000} as timestamp)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput("filter values must be finite numbers")
        return repr(value)
    if "\x00" in value:
        raise InvalidInput("filter values must not contain NUL characters")
    return "'" + value.replace("'", "''") + "'"


def create_table(name: str, types: Mapping[str, str], keys: Sequence[str], partition_by: str) -> str:
    definitions = ", ".join(f"{column(col)} {_ddl_type(kind)}" for col, kind in types.items())
    dedup = ", ".join(column(key) for key in keys)
    return (
        f"CREATE TABLE IF NOT EXISTS {table(name)} ({definitions}) TIMESTAMP({column(TIMESTAMP)}) "
        f"PARTITION BY {partition_by} WAL DEDUP UPSERT KEYS({dedup})"
    )


def _ddl_type(store_type: str) -> str:
    if store_type in _DDL_TYPES:
        return _DDL_TYPES[store_type]
    return store_type if _CATALOG_TYPE.fullmatch(store_type) else "VARCHAR"


def add_column(name: str, col: str, store_type: str) -> str:
    kind = _ddl_type(store_type)
    return f"ALTER TABLE {table(name)} ADD COLUMN IF NOT EXISTS {column(col)} {kind}"


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which rows a range read keeps: time bounds (epoch microseconds, inclusive), columns equal to a value
    (`types` gives each column's store type, to spell the literal), and at most `limit` rows."""

    low: int | None = None
    high: int | None = None
    equals: Mapping[str, Literal] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)
    limit: int | None = None

    def where(self) -> str:
        stamp = column(TIMESTAMP)
        clauses = []
        if self.low is not None:
            clauses.append(f"{stamp} >= cast({self.low} as timestamp)")
        if self.high is not None:
            clauses.append(f"{stamp} <= cast({self.high} as timestamp)")
        clauses.extend(f"{column(name)} = {literal(value, self.types[name])}" for name, value in self.equals.items())
        return (" WHERE " + " AND ".join(clauses)) if clauses else ""

    def limit_clause(self) -> str:
        return "" if self.limit is None else f" LIMIT {int(self.limit)}"


def inner_range(name: str, columns: Sequence[str], rows: RowFilter) -> str:
    """Rows in time order; the designated timestamp keeps QuestDB's interval scan (no sort)."""
    projection = ", ".join(column(col) for col in columns)
    return f"SELECT {projection} FROM {table(name)}{rows.where()} ORDER BY {column(TIMESTAMP)}{rows.limit_clause()}"


def inner_sample(name: str, bucket: Bucket, plan: Sequence[tuple[str, str]], rows: RowFilter) -> str:
    aggregates = "".join(f", {_AGGREGATES[agg]}({column(col)}) {column(col)}" for col, agg in plan)
    every = f"{bucket.count}{_SAMPLE_UNITS[bucket.unit]}"
    return (
        f"SELECT {column(TIMESTAMP)}{aggregates} FROM {table(name)}{rows.where()} "
        f"SAMPLE BY {every} ALIGN TO CALENDAR{rows.limit_clause()}"
    )


def sample_types(plan: Sequence[tuple[str, str]], types: Mapping[str, str]) -> dict[str, str]:
    """The store type of each column a SAMPLE BY answers with."""
    out = {TIMESTAMP: "TIMESTAMP"}
    for col, agg in plan:
        if agg == "count":
            out[col] = "LONG"
        elif agg == "avg":
            out[col] = "DOUBLE"
        else:
            out[col] = "VARCHAR" if types[col] == SYMBOL else types[col]
    return out


def outer(inner: str, types: Mapping[str, str], time_format: str = "us") -> str:
    """`inner` with every time column spelled per `time_format` (microseconds for Arrow reads)."""
    template = _TIME_FORMATS[time_format]
    projection = []
    for col, kind in types.items():
        upper = kind.upper()
        if upper in TIME_TYPES:
            # DATE counts milliseconds and TIMESTAMP_NS nanoseconds; both go out as TIMESTAMP does.
            value = column(col) if upper == "TIMESTAMP" else f"cast({column(col)} as timestamp)"
            projection.append(f"{template.format(value)} {column(col)}")
        else:
            projection.append(column(col))
    return f"SELECT {', '.join(projection)} FROM ({inner})"
