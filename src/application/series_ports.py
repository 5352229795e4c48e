"""The time-series ports: what the use cases write, list, read and query in a store of frames, and the uploads
they read frames from.

Frames cross these ports as Arrow record batches: Arrow is the interchange format the service reads uploads into
and streams exports out of, so every store speaks it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from domain.datasets import FrameStats
from domain.frames import FrameKind, OnError, WriteMode
from domain.values import MeasurementName

# ---------------------------------------------------------------- time series


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How a frame lands: what it holds (its dedup keys and column types), append or replace, its bar width."""

    kind: FrameKind = FrameKind.GENERIC
    mode: WriteMode = WriteMode.APPEND
    granularity: str | None = None


@dataclass(frozen=True, slots=True)
class WriteReport:
    measurement: str
    rows_written: int
    first_ns: int | None
    last_ns: int | None


@dataclass(frozen=True, slots=True)
class SampleBy:
    """Downsampling: bucket width (e.g. `1h`) and the aggregate of each column (first/last/min/max/sum)."""

    interval: str
    aggregates: dict[str, str]
    default: str = "last"


@dataclass(frozen=True, slots=True)
class RangeQuery:
    measurement: MeasurementName
    from_ns: int | None = None
    to_ns: int | None = None
    columns: Sequence[str] | None = None
    limit: int | None = None
    sample_by: SampleBy | None = None
    equals: dict[str, int | str] = field(default_factory=dict)
    order_by: str = "timestamp"
    timeout: float = 60.0
    # Without `columns`: every stored column, in this order of their names (table order when None). The store
    # looks the names up as it plans the read anyway, so a caller that only orders them needs no look of its own.
    column_order: Callable[[Sequence[str]], list[str]] | None = None


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    type: str
    indexed: bool = False
    designated: bool = False


@dataclass(frozen=True, slots=True)
class MeasurementInfo:
    name: str
    row_count: int
    first_ns: int | None
    last_ns: int | None
    designated_timestamp: str | None
    partition_by: str | None
    columns: list[ColumnInfo] = field(default_factory=list)
    dedup_keys: list[str] = field(default_factory=list)
    partition_count: int | None = None

    @property
    def stats(self) -> FrameStats:
        return FrameStats(self.row_count, self.first_ns, self.last_ns)


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[tuple[str, str]]
    rows: list[list[Any]]


class SeriesWriter(Protocol):
    """Writes frames into measurements (and drops a measurement a failed save created).

    Frames carry a `timestamp` column of Arrow type timestamp; other columns keep their own types.
    A write is visible to every read that starts after it returns (read-your-writes), and all or nothing:
    when `batches` fails midway, the measurement keeps exactly the rows and columns it had.
    """

    async def write(
        self, measurement: MeasurementName, batches: AsyncIterator[pa.RecordBatch],
        options: WriteOptions = WriteOptions(),
    ) -> WriteReport: ...

    async def drop(self, measurement: MeasurementName) -> None: ...


class SeriesCatalog(Protocol):
    """What measurements exist, their columns, counts and bounds, and a few of their rows."""

    async def describe(self, measurement: MeasurementName, sample: int = 0) -> MeasurementInfo | None: ...

    async def sample_rows(self, measurement: MeasurementName, limit: int) -> pa.Table: ...

    async def list_measurements(self, prefix: str | None = None) -> list[MeasurementInfo]: ...

    async def names(self, prefix: str | None = None) -> list[str]:
        """The measurements' names only, sorted: cheap where `list_measurements` describes each one."""
        ...


class SeriesReader(Protocol):
    """A time range of one measurement, as Arrow batches or as CSV."""

    def read(self, query: RangeQuery) -> AsyncIterator[pa.RecordBatch]: ...

    def export_csv(self, query: RangeQuery, ts_unit: str) -> AsyncIterator[bytes]:
        """The same rows as `read`, as CSV with a header and `timestamp` in `ts_unit` (s/ms/us/ns/iso).

        A store may answer this natively (QuestDB's /exp) so the hot export path skips Arrow."""
        ...


class ReadOnlySql(Protocol):
    """A client's read-only statement, run by the store's read-only user."""

    async def query(self, sql: str, limit: int, timeout: float) -> QueryResult: ...

    def stream_sql(self, sql: str, timeout: float) -> AsyncIterator[pa.RecordBatch]: ...


class StoreProbe(Protocol):
    async def ping(self) -> dict[str, Any]: ...


class RowsFingerprint(Protocol):
    """A frame's rows as a set keyed by timestamp (adapters/series/fingerprint.py)."""

    checksum: str

    def first_difference(self, before: Any) -> int | None:
        """The earliest timestamp (epoch ns) whose row differs from `before` (another fingerprint of the
        same store); None when both hold the same rows."""
        ...


class RowFingerprints(Protocol):
    """Fingerprints of what a measurement holds, equal for equal rows on every store."""

    async def fingerprint(self, measurement: MeasurementName) -> RowsFingerprint: ...


class CrashLeftovers(Protocol):
    """What writes that died with their process left in the store, swept periodically (not on every write)."""

    async def sweep_leftovers(self) -> list[str]:
        """Removes what no live write can still own; answers what it removed."""
        ...


class TimeSeriesStore(
    SeriesWriter, SeriesCatalog, SeriesReader, ReadOnlySql, StoreProbe, RowFingerprints, CrashLeftovers, Protocol
):
    """Where bars, indicators, predictions and trades live (QuestDB, DuckDB or memory): every role above.

    Only the composition root holds a whole store; a use case takes the roles it uses."""

    async def close(self) -> None: ...


# ---------------------------------------------------------------- uploads


@dataclass(frozen=True, slots=True)
class FrameUpload:
    """An uploaded frame on local disk (every form a frame arrives in is spooled to a file first).

    Async jobs carry only this path, so the worker reads the same bytes the request brought."""

    path: str
    fmt: str | None = None


# Rows checked so far, called while the whole upload is checked (before the first batch comes out).
CheckProgress = Callable[[int], Coroutine[Any, Any, None]]


class CheckedBatches(Protocol):
    """An upload's normalized batches. The whole upload is checked before the first batch comes out, so a bad
    row anywhere fails before anything is written; from then on `rows` holds its row count.

    Read with `on_error=skip`, rows that do not fit are left out: `rejected_rows` counts them and `rejected`
    describes the first ones (`row`, `line`, `column`, `value`, `reason`)."""

    rows: int | None
    rejected_rows: int
    rejected: list[dict[str, Any]]

    def __aiter__(self) -> CheckedBatches: ...

    async def __anext__(self) -> pa.RecordBatch: ...

    async def aclose(self) -> None: ...


class SpooledFiles(Protocol):
    """The request files a job's payload names (under `uploads`): kept while the job may still run."""

    def discard(self, paths: Sequence[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class UploadReadOptions:
    """How an upload is read: what a bad row does, who hears of the check's progress, and whether batches come
    out as they pass their checks (`streamed`) instead of after the whole upload passed them."""

    on_error: OnError = OnError.FAIL
    progress: CheckProgress | None = None
    streamed: bool = False


class UploadReader(Protocol):
    """Reads an upload as normalized Arrow batches, checked whole (columns, every cell) before the first.

    `streamed=True` hands batches out as they pass their checks (read ahead while the caller writes), so a bad
    row fails the stream midway and `rows` is known only at its end: for a caller whose write is all or
    nothing by itself, as every `SeriesWriter.write` is."""

    def read(
        self, upload: FrameUpload, kind: FrameKind, options: UploadReadOptions = UploadReadOptions()
    ) -> CheckedBatches: ...
