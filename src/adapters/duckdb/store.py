"""The embedded time-series store: one DuckDB file, one table per measurement.

DuckDB is synchronous, so every call runs in a worker thread on a cursor of its own (a cursor is a
separate connection to the same database, safe to use beside the others). Writes are serialized and
each runs in one transaction, so a failed or abandoned write leaves nothing behind. Dedup is QuestDB's
upsert: rows whose (timestamp, dedup keys) are already stored replace the stored ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import anyio
import anyio.to_thread
import duckdb
import pyarrow as pa

from adapters.duckdb.read_only import guarded, guarded_in_thread, run_query, stream_query
from adapters.duckdb.sql import CATALOG, CATALOG_DDL, CATALOG_IN_ORDER_DDL, quote, range_sql, sample_sql
from adapters.duckdb.writer import TableWriter, TimeOrder, catalog_entry, column_types, forget_time_order
from adapters.frames.encoders import encode
from adapters.series.fingerprint import ReadBackFingerprints
from adapters.series.probe import OneTransactionWrites, up_since
from adapters.series.read_only_sql import SqlGate
from adapters.series.sampling import Bucket, aggregate_plan
from adapters.series.schema import (
    TIME,
    arrow_type,
    check_query,
    coerce_equals,
    resolve_columns,
    to_micros_bounds,
)
from application.series_ports import ColumnInfo, MeasurementInfo, QueryResult, RangeQuery, WriteOptions, WriteReport
from domain.errors import NotFound, StoreUnavailable
from domain.frames import TIMESTAMP
from domain.values import MeasurementName

BATCH_ROWS: Final = 65_536
_EPOCH: Final = datetime(1970, 1, 1)

T = TypeVar("T")


class DuckDBTimeSeriesStore(OneTransactionWrites, ReadBackFingerprints):
    """A `TimeSeriesStore` in a DuckDB file (created, with its folder, on first use)."""

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        memory_limit_mb: int | None = None,
        sql_gate: SqlGate | None = None,
    ) -> None:
        self._path = Path(path)
        self._threads = threads
        self._memory_limit_mb = memory_limit_mb
        self._sql_gate = sql_gate or SqlGate()
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._open_lock = threading.Lock()
        self._write_lock = anyio.Lock()

    # ------------------------------------------------------------ plumbing

    def _database(self) -> duckdb.DuckDBPyConnection:
        with self._open_lock:
            if self._connection is None:
                # Insertion order kept (DuckDB's default, pinned): range reads of a table stored in time order
                # skip their sort (see CATALOG_IN_ORDER_DDL).
                config: dict[str, Any] = {"enable_external_access": False, "preserve_insertion_order": True}
                if self._threads:
                    config["threads"] = self._threads
                if self._memory_limit_mb:
                    # Global in DuckDB: it bounds client SQL and the store's own work alike.
                    config["memory_limit"] = f"{self._memory_limit_mb}MB"
                try:
                    self._path.parent.mkdir(parents=True, exist_ok=True)
                    connection = duckdb.connect(str(self._path), config=config)
                except (duckdb.Error, OSError) as exc:
                    # One process at a time may open the file: name the likely holder instead of DuckDB's lock text.
                    held = "lock" in str(exc).lower()
                    why = " (another process, such as a running `stage1 serve`, holds it)" if held else ""
                    raise StoreUnavailable(
                        f"cannot open the DuckDB file {self._path}{why}", {"duckdb": str(exc)[:300]}
                    ) from exc
                connection.execute(CATALOG_DDL)
                connection.execute(CATALOG_IN_ORDER_DDL)
                self._connection = connection
            return self._connection

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._database().cursor()

    async def _run(self, work: Callable[[duckdb.DuckDBPyConnection], T], timeout: float | None = None) -> T:
        def call() -> T:
            cursor = self._cursor()
            try:
                return guarded(cursor, timeout, lambda: work(cursor))
            finally:
                cursor.close()

        return await anyio.to_thread.run_sync(call)

    # ------------------------------------------------------------ writes

    async def write(
        self, measurement: MeasurementName, batches: AsyncIterator[pa.RecordBatch],
        options: WriteOptions = WriteOptions(),
    ) -> WriteReport:
        name = MeasurementName(measurement)
        async with self._write_lock:
            cursor = await anyio.to_thread.run_sync(self._cursor)
            writer = TableWriter(cursor, name, options.kind)
            try:
                await anyio.to_thread.run_sync(guarded, cursor, None, lambda: writer.begin(options.mode))
                async for batch in batches:
                    await anyio.to_thread.run_sync(guarded, cursor, None, lambda b=batch: writer.apply(b))
                await anyio.to_thread.run_sync(guarded, cursor, None, writer.commit)
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(writer.close)
        return WriteReport(name, writer.rows, writer.first_ns, writer.last_ns)

    # ------------------------------------------------------------ reads

    async def read(self, query: RangeQuery) -> AsyncIterator[pa.RecordBatch]:
        check_query(query)
        cursor = await anyio.to_thread.run_sync(self._cursor)
        try:
            def start() -> tuple[Any, bool]:
                # One snapshot for the plan and the rows: read apart, a write committed in between could
                # leave rows out of time order that a plan made from the catalog before it reads as stored.
                cursor.execute("BEGIN TRANSACTION READ ONLY")
                sql, params, as_stored = self._plan(cursor, query)
                return cursor.sql(sql, params=params).to_arrow_reader(BATCH_ROWS), as_stored

            reader, as_stored = await guarded_in_thread(cursor, query.timeout, start)
            stored = _StoredBatches(reader, TimeOrder() if as_stored else None)
            yielded = False
            while True:
                # Read, cast and order-checked in the worker thread: the event loop meanwhile sends the batch before.
                batch = await guarded_in_thread(cursor, query.timeout, stored.next)
                if batch is None:
                    break
                if stored.out_of_order:
                    await self._run(lambda c: forget_time_order(c, query.measurement))
                    raise StoreUnavailable(
                        f"the rows of {query.measurement} are not stored in time order; read them again",
                        {"measurement": query.measurement},
                    )
                yielded = True
                yield batch
            if not yielded:
                yield pa.RecordBatch.from_pylist([], schema=stored.schema)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(cursor.close)

    def _plan(self, cursor: duckdb.DuckDBPyConnection, query: RangeQuery) -> tuple[str, list[Any], bool]:
        """The statement of a range query, and whether it reads the rows as stored (no sort: they are
        stored in time order) rather than sorted by DuckDB."""
        entry = catalog_entry(cursor, query.measurement)
        types = column_types(cursor, query.measurement, entry)
        if types is None:
            raise NotFound(f"measurement {query.measurement} does not exist", {"measurement": query.measurement})
        columns = resolve_columns(query.columns, list(types), query.column_order)
        equals: dict[str, Any] = {
            # DuckDB compares a TIMESTAMP with a datetime, not with epoch nanoseconds.
            name: _datetime(value) if types[name] == "TIMESTAMP" and isinstance(value, int) else value
            for name, value in coerce_equals(query.equals, types).items()
        }
        low, high = to_micros_bounds(query.from_ns, query.to_ns)
        if query.sample_by is None:
            keys = [key for key in entry.keys if key in types]
            as_stored = entry.in_time_order
            sql, params = range_sql(query.measurement, columns, low, high, equals, query.limit, keys, as_stored)
            return sql, params, as_stored
        plan = aggregate_plan(query.sample_by, columns, types)
        bucket = Bucket.parse(query.sample_by.interval)
        integer = {name for name, store_type in types.items() if arrow_type(store_type) == pa.int64()}
        sql, params = sample_sql(query.measurement, bucket, plan, integer, low, high, equals, query.limit)
        return sql, params, False

    async def export_csv(self, query: RangeQuery, ts_unit: str) -> AsyncIterator[bytes]:
        async for chunk in encode(self.read(query), "csv", ts_unit):
            yield bytes(chunk)  # CSV chunks are bytes already: no copy

    async def describe(self, measurement: MeasurementName, sample: int = 0) -> MeasurementInfo | None:
        return await self._run(lambda cursor: _describe(cursor, measurement))

    async def sample_rows(self, measurement: MeasurementName, limit: int) -> pa.Table:
        batches = [batch async for batch in self.read(RangeQuery(measurement, limit=max(limit, 0)))]
        return pa.Table.from_batches(batches)

    async def list_measurements(self, prefix: str | None = None) -> list[MeasurementInfo]:
        def work(cursor: duckdb.DuckDBPyConnection) -> list[MeasurementInfo]:
            found = []
            for name in _table_names(cursor, prefix):
                info = _describe(cursor, name)
                if info is not None:
                    found.append(info)
            return found

        return await self._run(work)

    async def names(self, prefix: str | None = None) -> list[str]:
        return await self._run(lambda cursor: _table_names(cursor, prefix))

    async def drop(self, measurement: MeasurementName) -> None:
        name = MeasurementName(measurement)

        def work(cursor: duckdb.DuckDBPyConnection) -> None:
            cursor.execute("BEGIN")
            cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")
            cursor.execute(f"DELETE FROM {CATALOG} WHERE name = ?", [name])
            cursor.execute("COMMIT")

        async with self._write_lock:
            await self._run(work)

    async def query(self, sql: str, limit: int, timeout: float) -> QueryResult:
        return await run_query(self._cursor, sql, limit, timeout, self._sql_gate)

    async def stream_sql(self, sql: str, timeout: float) -> AsyncIterator[pa.RecordBatch]:
        async for batch in stream_query(self._cursor, sql, timeout, self._sql_gate, BATCH_ROWS):
            yield batch

    async def ping(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await self._run(lambda cursor: cursor.execute("SELECT 1").fetchall(), timeout=5.0)
        except StoreUnavailable as exc:
            return {"status": "down", "backend": "duckdb", "path": str(self._path), "error": exc.message}
        return up_since(started, "duckdb", path=str(self._path))

    async def close(self) -> None:
        def work() -> None:
            with self._open_lock:
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None

        await anyio.to_thread.run_sync(work)


# ---------------------------------------------------------------- catalog reads (blocking, on a cursor)


def _table_names(cursor: duckdb.DuckDBPyConnection, prefix: str | None) -> list[str]:
    rows = cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' AND NOT starts_with(table_name, '_') "
        "AND starts_with(table_name, ?) ORDER BY table_name",
        [prefix or ""],
    ).fetchall()
    return [str(row[0]) for row in rows]


def _describe(cursor: duckdb.DuckDBPyConnection, name: str) -> MeasurementInfo | None:
    types = column_types(cursor, name)
    if types is None:
        return None
    keys = catalog_entry(cursor, name).keys
    stamp = quote(TIMESTAMP)
    count, first, last = cursor.execute(
        f"SELECT count(*), epoch_us(min({stamp})), epoch_us(max({stamp})) FROM {quote(name)}"
    ).fetchall()[0]
    return MeasurementInfo(
        name=name,
        row_count=int(count),
        first_ns=None if first is None else int(first) * 1000,
        last_ns=None if last is None else int(last) * 1000,
        designated_timestamp=TIMESTAMP,
        partition_by="NONE",
        columns=[
            ColumnInfo(column, store_type, designated=column == TIMESTAMP) for column, store_type in types.items()
        ],
        dedup_keys=keys,
        partition_count=None,
    )


def _stored_schema(schema: pa.Schema) -> pa.Schema:
    """DuckDB's microsecond timestamps handed out as the stored shape's `timestamp[ns]`."""
    return pa.schema([(field.name, TIME if pa.types.is_timestamp(field.type) else field.type) for field in schema])


class _StoredBatches:
    """The non-empty batches of a DuckDB reader in the stored shape, each checked to follow the one before in
    time when the rows are read as stored (`order`); one that does not sets `out_of_order`. Only the time
    columns are cast: a cast of the whole batch costs a compute call per column."""

    def __init__(self, reader: Any, order: TimeOrder | None) -> None:
        self._reader = reader
        self._order = order
        self.schema = _stored_schema(reader.schema)
        self._times = [
            index for index, field in enumerate(reader.schema) if field.type != self.schema.field(index).type
        ]
        self.out_of_order = False

    def next(self) -> pa.RecordBatch | None:
        while (batch := _next_batch(self._reader)) is not None and not batch.num_rows:
            pass
        if batch is None:
            return None
        if self._order is not None and not self._order.follows(batch):
            self.out_of_order = True
        for index in self._times:
            batch = batch.set_column(index, self.schema.field(index), batch.column(index).cast(TIME))
        return batch


def _datetime(nanos: int) -> datetime:
    return _EPOCH + timedelta(microseconds=nanos // 1000)


def _next_batch(reader: Any) -> pa.RecordBatch | None:
    try:
        batch: pa.RecordBatch = reader.read_next_batch()
        return batch
    except StopIteration:
        return None
