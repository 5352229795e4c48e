"""The time-series store on the wire: imports, measurements, read-only queries and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from entrypoints.http.schemas.common import FrameKindName, Json, ModeName, Name, Struct


class ImportJsonIn(Struct, forbid_unknown_fields=False):
    measurement: Name
    data: str
    kind: FrameKindName = "generic"
    mode: ModeName = "append"


class ImportOut(Struct):
    measurement: str
    rows_written: int
    first_ts: int | None
    last_ts: int | None
    duration_ms: int


class ColumnOut(Struct):
    name: str
    type: str
    indexed: bool
    designated: bool


class MeasurementOut(Struct):
    name: str
    row_count: int
    first_ts: int | None
    last_ts: int | None
    designated_timestamp: str | None
    partition_by: str | None


class MeasurementPage(Struct):
    measurements: list[MeasurementOut]
    total: int
    limit: int
    offset: int
    next_cursor: str | None


class MeasurementDetailOut(MeasurementOut):
    columns: list[ColumnOut]
    dedup_keys: list[str]
    partition_count: int | None
    sample: list[Json]


class QueryIn(Struct, forbid_unknown_fields=False):
    sql: Annotated[str, Meta(max_length=100_000)]
    limit: Annotated[int, Meta(ge=1, le=100_000)] = 1000
    timeout: Annotated[float, Meta(gt=0, le=3600)] = 60.0


class ExportIn(Struct, forbid_unknown_fields=False):
    sql: Annotated[str, Meta(max_length=100_000)]
    format: Literal["csv", "json", "ndjson", "arrow"] = "csv"
    timeout: Annotated[float, Meta(gt=0, le=3600)] = 60.0
    ts_unit: Literal["s", "ms", "us", "ns", "iso"] = "ms"


class QueryColumn(Struct):
    name: str
    type: str


class QueryOut(Struct):
    columns: list[QueryColumn]
    rows: list[list[Any]]
    count: int
