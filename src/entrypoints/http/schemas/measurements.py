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
    Paged,
    Struct,
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
    kind: Annotated[
        FrameKindName | None,
        doc("What the rows are; it sets the required columns and dedup keys. Left out: the kind of the record "
            "that owns the measurement, else generic."),
    ] = None
    mode: Annotated[ModeName, doc("append adds rows, deduplicated on the keys; replace swaps the table.")] = "append"


class RejectedRowOut(Struct):
    """A row an `on_error=skip` import left out: `row` is the 1-based data row, `line` the file line (text)."""

    row: Annotated[int | None, doc("The 1-based data row, in every format.")]
    line: Annotated[int | None, doc("The 1-based line of a text file (the header is line 1); null otherwise.")]
    column: Annotated[str | None, doc("The column whose cell did not fit; null for a row of the wrong width.")]
    value: Annotated[Any, doc("The cell (or the row's text), cut to 80 characters.")]
    reason: Annotated[str, doc("Why the row was left out.")]


class ImportOut(Struct):
    measurement: MeasurementNameOut
    rows_written: Annotated[int, doc("Rows written.")]
    first_ts: Annotated[int | None, doc("Earliest timestamp written, epoch seconds.")]
    last_ts: Annotated[int | None, doc("Latest timestamp written, epoch seconds.")]
    duration_ms: Annotated[int, doc("How long the import took, in milliseconds.")]
    rejected_rows: Annotated[int, doc("Rows left out by on_error=skip (0 otherwise).")] = 0
    rejected: Annotated[list[RejectedRowOut], doc("The first 100 rows left out, in file order.")] = []


class PreviewColumnOut(Struct):
    """A column the import would write."""

    name: ColumnName
    type: ColumnType


class GapOut(Struct):
    """`missing_bars` bars missing between the bar at `after_ts` and the next one, at `before_ts`."""

    after_ts: Annotated[int, doc("The last bar before the gap, epoch seconds.")]
    before_ts: Annotated[int, doc("The first bar after the gap, epoch seconds.")]
    missing_bars: Annotated[int, doc("Bars of the granularity that fit between the two.")]


class GapsOut(Struct):
    """Missing bars against the granularity."""

    interval_s: Annotated[int, doc("The bar length gaps are measured against, seconds.")]
    count: Annotated[int, doc("How many gaps.")]
    missing_bars: Annotated[int, doc("Bars missing in all gaps together.")]
    largest: Annotated[list[GapOut], doc("The largest gaps (up to 100), largest first, then earliest.")]


class ImportPreviewOut(Struct):
    """A dry run: what the import would write; nothing was written."""

    measurement: MeasurementNameOut
    rows: Annotated[int, doc("Rows that would be written.")]
    columns: Annotated[list[PreviewColumnOut], doc("The columns and the store types they would get.")]
    first_ts: Annotated[int | None, doc("Earliest timestamp in the upload, epoch seconds.")]
    last_ts: Annotated[int | None, doc("Latest timestamp in the upload, epoch seconds.")]
    duplicate_timestamps: Annotated[
        int, doc("Rows whose dedup key (timestamp, plus fold or trade id) an earlier row has: the store keeps one.")
    ]
    nulls: Annotated[dict[str, int], doc("Empty cells per column.")]
    gaps: Annotated[
        GapsOut | None, doc("Missing bars, for OHLCV and indicator frames with a granularity; null otherwise.")
    ]
    rejected_rows: Annotated[int, doc("Rows on_error=skip would leave out.")]
    rejected: Annotated[list[RejectedRowOut], doc("The first 100 of them, in file order.")]


class ColumnOut(Struct):
    name: ColumnName
    type: ColumnType
    indexed: Annotated[bool, doc("Whether the store indexes it (QuestDB symbols).")]
    designated: Annotated[bool, doc("Whether it is the designated timestamp.")]


class StoredMeasurement(Struct):
    """What the store tells of a measurement it holds, in a listing and in a dataset's detail alike."""

    first_ts: FirstTs
    last_ts: LastTs
    designated_timestamp: Annotated[str | None, doc("The store's time column, `timestamp`.")]
    partition_by: Annotated[str | None, doc("How the store partitions it: DAY, MONTH or YEAR.")]


class MeasurementOut(StoredMeasurement):
    name: MeasurementNameOut
    row_count: Annotated[int, doc("Rows stored.")]


class MeasurementPage(Paged):
    measurements: Annotated[list[MeasurementOut], doc("Measurements by name.")]


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
