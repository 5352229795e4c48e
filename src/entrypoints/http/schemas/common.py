"""What every wire shape shares: the base struct, bounded scalar types and the error envelope.

Field names are the contract's and are frozen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta


def doc(text: str) -> Meta:
    """The one line the OpenAPI document (and docs/api.md) shows for a field."""
    return Meta(description=text)


Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]
Name = Annotated[str, Meta(max_length=256)]
ShortText = Annotated[str, Meta(max_length=256)]
Url = Annotated[str, Meta(max_length=4096)]
LongText = Annotated[str, Meta(max_length=1_000_000)]
Json = dict[str, Any]
Label = Annotated[str, Meta(max_length=200)]
Tags = Annotated[dict[Annotated[str, Meta(min_length=1, max_length=256)], ShortText], Meta(max_length=50)]
Notes = Annotated[str, Meta(max_length=20_000)]
RunStatusName = Literal["PENDING", "RUNNING", "COMPLETED", "FAILED"]
FrameKindName = Literal["ohlcv", "indicators", "predictions", "trades", "generic"]
ModeName = Literal["append", "replace"]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=False):
    pass


# Fields many shapes share, described once.
Total = Annotated[int, doc("How many items match, over every page.")]
PageLimit = Annotated[int, doc("The page size that was applied.")]
PageOffset = Annotated[int, doc("How many matching items come before this page.")]
NextCursor = Annotated[str | None, doc("Pass as `after` for the next page; null on the last page.")]
CreatedAt = Annotated[datetime, doc("When the service stored it (UTC).")]
UpdatedAt = Annotated[datetime, doc("When it last changed (UTC).")]
StartedAt = Annotated[datetime | None, doc("When the work started, as the client reported it (UTC).")]
CompletedAt = Annotated[datetime | None, doc("When the work ended, as the client reported it (UTC).")]
DatasetIdOut = Annotated[str, doc("The dataset's id (UUID).")]
DatasetVersionOut = Annotated[
    int | None, doc("The dataset version it was saved against; null if saved before versions existed.")
]
StaleOut = Annotated[bool, doc("A later dataset version changed bars this record used.")]
StaleReasonOut = Annotated[str | None, doc("Why it is stale, or that newer bars were only appended; null otherwise.")]
DatasetSlugOut = Annotated[str, doc("The dataset's unique slug, `^[a-z][a-z0-9_]{0,63}$`.")]
RunIdOut = Annotated[str, doc("The run's id (UUID).")]
SimulationIdOut = Annotated[str, doc("The simulation's id (UUID).")]
StatusOut = Annotated[str, doc("PENDING, RUNNING, COMPLETED or FAILED.")]
SummaryMetrics = Annotated[Json, doc("Headline metrics by name, e.g. `{\"sharpe\": 1.2}`.")]
LabelOut = Annotated[str | None, doc("A human name; need not be unique.")]
TagsOut = Annotated[dict[str, str], doc("Free key/value labels, searchable as `tags.<key>`.")]
NotesOut = Annotated[str | None, doc("Free text notes.")]
# What a client sends about a run or a simulation it saves: its headline metrics and its labels.
SummaryMetricsIn = Annotated[Json, doc("Headline metrics, searchable as `metrics.<key>`.")]
LabelIn = Annotated[Label | None, doc("A human name; need not be unique.")]
TagsIn = Annotated[Tags, doc("Free key/value labels, searchable as `tags.<key>`.")]
NotesIn = Annotated[Notes | None, doc("Free text notes.")]
OhlcvMeasurement = Annotated[str, doc("The time-series measurement holding the OHLCV bars.")]
IndicatorMeasurement = Annotated[str, doc("The time-series measurement holding the indicator rows.")]
PredictionMeasurementOut = Annotated[str, doc("The time-series measurement holding the run's predictions.")]
TradesMeasurementOut = Annotated[str, doc("The time-series measurement holding the simulation's trades.")]
RowsWritten = Annotated[int, doc("Rows written to the time-series store by this request.")]
FirstTs = Annotated[int | None, doc("Earliest timestamp stored, epoch seconds; null when empty.")]
LastTs = Annotated[int | None, doc("Latest timestamp stored, epoch seconds; null when empty.")]
Link = Annotated[str, doc("A URL path on this service.")]
MeasurementNameOut = Annotated[str, doc("The measurement (table) name.")]
ColumnName = Annotated[str, doc("The column's name.")]
ColumnType = Annotated[str, doc("The column's type in the store, e.g. DOUBLE or TIMESTAMP.")]


class Paged(Struct):
    """What every page of a list carries after its items (each page struct adds its one list field)."""

    total: Total
    limit: PageLimit
    offset: PageOffset
    next_cursor: NextCursor


class RecordIn(Struct, forbid_unknown_fields=False):
    """What a client may send about any run or simulation it saves: when it ran, its metrics and its labels."""

    summary_metrics: SummaryMetricsIn = {}
    started_at: StartedAt = None
    completed_at: CompletedAt = None
    name: LabelIn = None
    tags: TagsIn = {}
    notes: NotesIn = None


class RecordSummaryOut(Struct):
    """What every run and simulation shows in a list: its dataset, lifecycle, labels and staleness."""

    dataset_id: DatasetIdOut
    status: StatusOut
    started_at: StartedAt
    completed_at: CompletedAt
    created_at: CreatedAt
    name: LabelOut
    tags: TagsOut
    dataset_version: DatasetVersionOut
    stale: StaleOut
    stale_reason: StaleReasonOut


class ErrorBody(Struct):
    """What every 4xx and 5xx answer carries."""

    error: Annotated[str, doc("What went wrong and what to do, in one sentence.")]
    details: Annotated[Any, doc("Machine-readable specifics (field, row, line, allowed values); null if none.")] = None
