"""A dry run's answer: what an upload would write, and what a quant checks first — missing bars."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from application.answers import PlainAnswer
from application.series_ports import CheckedBatches, FrameUpload, UploadReader, UploadReadOptions
from application.store_types import column_type_for
from application.streams import open_stream
from domain.errors import InvalidInput
from domain.frames import BAR_KINDS, DEDUP_KEYS, TIMESTAMP, FrameKind, OnError
from domain.gaps import GapReport, find_gaps, granularity_seconds
from domain.values import MeasurementName, validate_granularity


@dataclass(frozen=True, slots=True)
class FramePreview(PlainAnswer):
    """The contract's dry-run answer, field for field."""

    measurement: str
    rows: int
    columns: list[dict[str, str]]
    first_ts: int | None
    last_ts: int | None
    duplicate_timestamps: int
    nulls: dict[str, int]
    gaps: GapReport | None
    rejected_rows: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


async def preview_frame(
    measurement: str,
    kind: FrameKind,
    batches: AsyncIterator[pa.RecordBatch],
    schema: pa.Schema,
    granularity: str | None,
) -> FramePreview:
    """Counts, bounds, nulls, repeated keys and gaps of a checked frame, read once; nothing is written.

    Gaps are measured for bars (OHLCV, indicators) against `granularity`; a repeated key is a row whose
    dedup key (timestamp, plus the fold or trade id where the kind has one) an earlier row already has —
    the store would keep only one of them."""
    keys = [TIMESTAMP, *(name for name in DEDUP_KEYS[kind] if name in schema.names)]
    nulls = dict.fromkeys(schema.names, 0)
    key_parts: list[pa.Table] = []
    rows = 0
    async for batch in batches:
        rows += batch.num_rows
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            nulls[name] += column.null_count
        key_parts.append(pa.Table.from_batches([batch.select(keys)]))
    key_table = pa.concat_tables(key_parts) if key_parts else schema.empty_table().select(keys)
    seconds = pc.divide(key_table[TIMESTAMP].cast(pa.int64()), 10**9)
    distinct = key_table.group_by(keys).aggregate([]).num_rows if rows else 0
    first = pc.min(seconds).as_py()
    last = pc.max(seconds).as_py()
    return FramePreview(
        measurement=measurement,
        rows=rows,
        columns=[{"name": f.name, "type": column_type_for(kind, f.name, f.type)} for f in schema],
        first_ts=first,
        last_ts=last,
        duplicate_timestamps=rows - distinct,
        nulls=nulls,
        gaps=_gaps(kind, seconds, granularity),
    )


def _gaps(kind: FrameKind, seconds: pa.ChunkedArray, granularity: str | None) -> GapReport | None:
    if kind not in BAR_KINDS or granularity is None:
        return None
    interval = granularity_seconds(granularity)
    if interval is None:
        return None
    # Repeated times are dropped by Arrow first: the domain then walks each bar time once.
    return find_gaps(pc.unique(seconds).to_pylist(), interval)


async def preview_upload(
    uploads: UploadReader,
    upload: FrameUpload,
    kind: FrameKind,
    measurement: MeasurementName,
    granularity: str | None,
    on_error: OnError = OnError.FAIL,
) -> FramePreview:
    """One upload checked whole, as for a write, and described; nothing is written."""
    if granularity is not None:
        validate_granularity(granularity)
    frame = uploads.read(upload, kind, UploadReadOptions(on_error=on_error))
    stream = await open_stream(frame)
    try:
        if stream.schema is None:
            raise no_rows(frame, kind.value if kind in BAR_KINDS else "file")
        preview = await preview_frame(str(measurement), kind, aiter(stream), stream.schema, granularity)
    finally:
        await stream.aclose()
    return dataclasses.replace(preview, rejected_rows=frame.rejected_rows, rejected=frame.rejected)


def no_rows(frame: CheckedBatches, field_name: str = "file") -> InvalidInput:
    """An empty frame is a 400; one whose every row was skipped says which rows and why."""
    details: dict[str, Any] = {"field": field_name}
    if frame.rejected_rows:
        details |= {"rejected_rows": frame.rejected_rows, "rejected": frame.rejected}
        return InvalidInput(f"no row could be imported: {frame.rejected_rows} rows were rejected", details)
    return InvalidInput("the frame has no rows", details)
