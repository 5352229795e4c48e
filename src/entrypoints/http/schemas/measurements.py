"""The time-series store on the wire: imports, measurements, read-only queries and exports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from entrypoints.http.schemas.common import (
    ColumnName,
    ColumnType,
    FirstTs,
    FrameKindName,
    Json,
    LastTs,
    MeasurementNameOut,
    ModeName,
    Name,
    NextCursor,
    PageLimit,
    PageOffset,
    Struct,
    Total,
    Url,
    doc,
)

Sql = Annotated[str, Meta(max_length=100_000), doc("One read-only statement in the store's dialect (docs/sql.md).")]
Timeout = Annotated[float, Meta(gt=0, le=3600), doc("Seconds the store may take before a 504.")]


class ImportJsonIn(Struct, forbid_unknown_fields=False):
    """CSV text to import, as JSON."""

    measurement: Annotated[Name, doc("The measurement to write.")]
    data: Annotated[str | None, doc("The rows as CSV text with a header row; or send `url`.")] = None
    url: Annotated[
        Url | None, doc("Instead of `data`: a URL the server fetches the file from (STAGE1_FETCH_ALLOWED_HOSTS).")
    ] = None
    kind: Annotated[FrameKindName, doc("What the rows are; it sets the required columns and dedup keys.")] = "generic"
    mode: Annotated[ModeName, doc("append adds rows, deduplicated on the keys; replace swaps the table.")] = "append"


class ImportOut(Struct):
    measurement: MeasurementNameOut
    rows_written: Annotated[int, doc("Rows written.")]
    first_ts: Annotated[int | None, doc("Earliest timestamp written, epoch seconds.")]
    last_ts: Annotated[int | None, doc("Latest timestamp written, epoch seconds.")]
    duration_ms: Annotated[int, doc("How long the import took, in milliseconds.")]


class ColumnOut(Struct):
    name: ColumnName
    type: ColumnType
    indexed: Annotated[bool, doc("Whether the store indexes it (QuestDB symbols).")]
    designated: Annotated[bool, doc("Whether it is the designated timestamp.")]


class MeasurementOut(Struct):
    name: MeasurementNameOut
    row_count: Annotated[int, doc("Rows stored.")]
    first_ts: FirstTs
    last_ts: LastTs
    designated_timestamp: Annotated[str | None, doc("The time column, `timestamp`.")]
    partition_by: Annotated[str | None, doc("How the store partitions it: DAY, MONTH or YEAR.")]


class MeasurementPage(Struct):
    measurements: Annotated[list[MeasurementOut], doc("Measurements by name.")]
    total: Total
    limit: PageLimit
    offset: PageOffset
    next_cursor: NextCursor


class MeasurementDetailOut(MeasurementOut):
    columns: Annotated[list[ColumnOut], doc("The columns in table order.")]
    dedup_keys: Annotated[list[str], doc("Columns whose values identify a row; appends replace matching rows.")]
    partition_count: Annotated[int | None, doc("Partitions stored, where the store says.")]
    sample: Annotated[list[Json], doc("The latest rows, as many as `sample` asks.")]


class QueryIn(Struct, forbid_unknown_fields=False):
    """A read-only statement answered as JSON rows."""

    sql: Sql
    limit: Annotated[int, Meta(ge=1, le=100_000), doc("Most rows to answer.")] = 1000
    timeout: Timeout = 60.0


class ExportIn(Struct, forbid_unknown_fields=False):
    """A read-only statement streamed as a file."""

    sql: Sql
    format: Annotated[Literal["csv", "json", "ndjson", "arrow", "parquet"], doc("The stream's format.")] = "csv"
    timeout: Timeout = 60.0
    ts_unit: Annotated[
        Literal["s", "ms", "us", "ns", "iso", "timestamp"] | None,
        doc("How timestamps are written; absent: epoch ms (Parquet: its timestamp type)."),
    ] = None


class QueryColumn(Struct):
    name: ColumnName
    type: ColumnType


class QueryOut(Struct):
    columns: Annotated[list[QueryColumn], doc("The result's columns in order.")]
    rows: Annotated[list[list[Any]], doc("The rows, each a list in column order.")]
    count: Annotated[int, doc("Rows answered.")]
