"""The in-memory time-series store: one Arrow table per measurement, QuestDB's semantics.

For unit tests and a single-process development mode. Client SQL runs on a throwaway in-memory DuckDB
that sees every measurement as a table, under the same read-only rules as the DuckDB store.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import anyio.to_thread
import duckdb
import pyarrow as pa

from adapters.duckdb.read_only import run_query, stream_query
from adapters.frames.encoders import encode
from adapters.series.fingerprint import ReadBackFingerprints
from adapters.series.probe import OneTransactionWrites, up_since
from adapters.series.read_only_sql import SqlGate
from adapters.series.sampling import Bucket, aggregate_plan
from adapters.series.schema import (
    check_keys,
    check_query,
    coerce_equals,
    conform,
    dedup_keys,
    normalize,
    resolve_columns,
    time_bounds,
    to_micros_bounds,
)
from adapters.series.tables import sample, select, upsert
from application.series_ports import ColumnInfo, MeasurementInfo, QueryResult, RangeQuery, WriteOptions, WriteReport
from application.store_types import column_type_for
from domain.errors import NotFound
from domain.frames import TIMESTAMP, WriteMode
from domain.values import MeasurementName

BATCH_ROWS: Final = 65_536


@dataclass(slots=True)
class _Series:
    table: pa.Table
    keys: list[str]
    types: dict[str, str] = field(default_factory=dict)


class InMemoryTimeSeriesStore(OneTransactionWrites, ReadBackFingerprints):
    """A `TimeSeriesStore` held in a dict; writes are atomic and serialized."""

    def __init__(self) -> None:
        self._series: dict[str, _Series] = {}
        self._sql_gate = SqlGate()
        self._lock = anyio.Lock()

    async def write(
        self, measurement: MeasurementName, batches: AsyncIterator[pa.RecordBatch],
        options: WriteOptions = WriteOptions(),
    ) -> WriteReport:
        name = MeasurementName(measurement)
        async with self._lock:
            current = None if options.mode is WriteMode.REPLACE else self._series.get(name)
            series = None if current is None else _Series(current.table, current.keys, dict(current.types))
            rows, first, last = 0, None, None
            frames: list[pa.Table] = []
            async for batch in batches:
                frame = normalize(batch)
                if series is None:
                    series = _Series(frame.schema.empty_table(), dedup_keys(options.kind))
                else:
                    frame = conform(frame, series.types)
                check_keys(frame, series.keys)
                for column_name, dtype in zip(frame.schema.names, frame.schema.types, strict=True):
                    series.types.setdefault(column_name, column_type_for(options.kind, column_name, dtype))
                frames.append(frame)
                rows += frame.num_rows
                low, high = time_bounds(frame)
                first = low if first is None or (low is not None and low < first) else first
                last = high if last is None or (high is not None and high > last) else last
            if series is not None:
                # One merge per write: merging batch by batch would re-sort the table for every batch.
                incoming = pa.concat_tables(frames, promote_options="default")
                series.table = upsert(series.table, incoming, series.keys)
                self._series[name] = series
            elif options.mode is WriteMode.REPLACE:
                self._series.pop(name, None)
        return WriteReport(name, rows, first, last)

    async def read(self, query: RangeQuery) -> AsyncIterator[pa.RecordBatch]:
        table = self._select(query)
        batches = table.to_batches(max_chunksize=BATCH_ROWS)
        if not batches or all(batch.num_rows == 0 for batch in batches):
            yield pa.RecordBatch.from_pylist([], schema=table.schema)
            return
        for batch in batches:
            if batch.num_rows:
                yield batch

    def _select(self, query: RangeQuery) -> pa.Table:
        series = self._require(query.measurement)
        check_query(query)
        columns = resolve_columns(query.columns, series.table.schema.names, query.column_order)
        equals = coerce_equals(query.equals, series.types)
        low, high = to_micros_bounds(query.from_ns, query.to_ns)
        table = select(series.table, columns, low, high, equals)
        if query.sample_by is not None:
            plan = aggregate_plan(query.sample_by, columns, series.types)
            table = sample(table, Bucket.parse(query.sample_by.interval), plan)
        if query.limit is not None:
            table = table.slice(0, query.limit)
        return table

    async def export_csv(self, query: RangeQuery, ts_unit: str) -> AsyncIterator[bytes]:
        table = self._select(query)
        async for chunk in encode(_batches(table), "csv", ts_unit, schema=table.schema):
            yield bytes(chunk)  # CSV chunks are bytes already: no copy

    async def describe(self, measurement: MeasurementName, sample: int = 0) -> MeasurementInfo | None:
        series = self._series.get(measurement)
        return None if series is None else _info(measurement, series)

    async def sample_rows(self, measurement: MeasurementName, limit: int) -> pa.Table:
        return self._require(measurement).table.slice(0, max(limit, 0))

    async def list_measurements(self, prefix: str | None = None) -> list[MeasurementInfo]:
        names = sorted(name for name in self._series if prefix is None or name.startswith(prefix))
        return [_info(name, self._series[name]) for name in names]

    async def names(self, prefix: str | None = None) -> list[str]:
        return sorted(name for name in self._series if prefix is None or name.startswith(prefix))

    async def drop(self, measurement: MeasurementName) -> None:
        async with self._lock:
            self._series.pop(measurement, None)

    async def query(self, sql: str, limit: int, timeout: float) -> QueryResult:
        tables = {name: series.table for name, series in self._series.items()}
        return await run_query(lambda: _sql_engine(tables), sql, limit, timeout, self._sql_gate)

    async def stream_sql(self, sql: str, timeout: float) -> AsyncIterator[pa.RecordBatch]:
        tables = {name: series.table for name, series in self._series.items()}
        async for batch in stream_query(lambda: _sql_engine(tables), sql, timeout, self._sql_gate):
            yield batch

    async def ping(self) -> dict[str, Any]:
        started = time.perf_counter()
        return up_since(started, "memory", measurements=len(self._series))

    async def close(self) -> None:
        return None

    def clear(self) -> None:
        self._series.clear()

    def _require(self, measurement: str) -> _Series:
        series = self._series.get(measurement)
        if series is None:
            raise NotFound(f"measurement {measurement} does not exist", {"measurement": measurement})
        return series


async def _batches(table: pa.Table) -> AsyncIterator[pa.RecordBatch]:
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        yield batch


def _info(name: str, series: _Series) -> MeasurementInfo:
    first, last = time_bounds(series.table)
    columns = [
        ColumnInfo(column, series.types.get(column, "VARCHAR"), designated=column == TIMESTAMP)
        for column in series.table.schema.names
    ]
    return MeasurementInfo(
        name=name,
        row_count=series.table.num_rows,
        first_ns=first,
        last_ns=last,
        designated_timestamp=TIMESTAMP,
        partition_by="NONE",
        columns=columns,
        dedup_keys=list(series.keys),
        partition_count=None,
    )


def _sql_engine(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:", config={"enable_external_access": False})
    for name, table in tables.items():
        connection.register(name, table)
    return connection
