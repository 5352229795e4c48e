"""The QuestDB time-series store.

Writes: explicit DDL over /exec (designated `timestamp`, partitioning by granularity, WAL, DEDUP UPSERT
KEYS), then ILP over HTTP with the official client into a staging table swapped in once complete
(staged_write.py), then a wait until the WAL is applied so every later read sees the rows. Reads and CSV
exports stream from /exp. Client SQL goes through the Postgres wire port as a read-only user.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, Final

import anyio
import pyarrow as pa

from adapters.questdb import sql
from adapters.questdb.csv_reader import CsvBatches, StoredShape
from adapters.questdb.http import QuestDBHttp
from adapters.questdb.ingest import ilp_conf
from adapters.questdb.read_only_sql import ReadOnlySql
from adapters.questdb.staged_write import StagedWrite, drop_stale_staging
from adapters.series.fingerprint import ReadBackFingerprints
from adapters.series.read_only_sql import SqlGate
from adapters.series.sampling import Bucket, aggregate_plan
from adapters.series.schema import (
    check_query,
    coerce_equals,
    resolve_columns,
    to_micros_bounds,
)
from application.series_ports import ColumnInfo, MeasurementInfo, QueryResult, RangeQuery, WriteOptions, WriteReport
from domain.errors import NotFound, StoreTimeout, StoreUnavailable, UpstreamError
from domain.frames import TIMESTAMP
from domain.values import MeasurementName, validate_output_unit

SYSTEM_PREFIXES: Final = ("sys.", "telemetry", "_")
DESCRIBE_CONCURRENCY: Final = 8


class QuestDBTimeSeriesStore(ReadBackFingerprints):
    """A `TimeSeriesStore` on a QuestDB server.

    `http_url` is the REST endpoint (/exec, /exp, and ILP over HTTP unless `ilp` names another ILP/HTTP
    `host:port` or a full `http::` client configuration string; the TCP ILP port will not do);
    `pg_url` is the read-only user on the Postgres wire port. `request_timeout` bounds /exec calls,
    `wal_timeout` the wait for a write to be applied.
    """

    def __init__(
        self,
        http_url: str,
        *,
        pg_url: str | None = None,
        ilp: str | None = None,
        request_timeout: float = 30.0,
        wal_timeout: float = 120.0,
        sql_gate: SqlGate | None = None,
    ) -> None:
        self._http = QuestDBHttp(http_url, timeout=request_timeout)
        self._ilp = ilp_conf(http_url, ilp, request_timeout=max(request_timeout, 60.0))
        self._sql = ReadOnlySql(pg_url, sql_gate or SqlGate()) if pg_url else None
        self._wal_timeout = wal_timeout

    # ------------------------------------------------------------ writes

    async def write(
        self, measurement: MeasurementName, batches: AsyncIterator[pa.RecordBatch],
        options: WriteOptions = WriteOptions(),
    ) -> WriteReport:
        """All or nothing: the rows go into a staging table first (see staged_write.py)."""
        name = MeasurementName(measurement)
        staged = StagedWrite(self._http, self._ilp, self._columns, self._await_wal)
        return await staged.run(name, batches, options.kind, options.mode, options.granularity)

    async def _await_wal(self, name: str) -> None:
        """Read-your-writes: wait until QuestDB has applied every committed WAL transaction of `name`."""
        deadline = time.monotonic() + self._wal_timeout
        delay = 0.005
        query = f"SELECT suspended, writerTxn, sequencerTxn, errorMessage FROM wal_tables() WHERE name = '{name}'"
        while True:
            rows = await self._http.dataset(query)
            if not rows:
                return
            suspended, writer_txn, sequencer_txn, error = rows[0]
            if suspended:
                message = error or f"QuestDB suspended the table {name}"
                raise UpstreamError(message, {"questdb": message, "measurement": name})
            if writer_txn >= sequencer_txn:
                return
            if time.monotonic() > deadline:
                raise StoreTimeout(
                    f"QuestDB did not apply the write to {name} within {self._wal_timeout:g} s",
                    {"timeout": self._wal_timeout, "measurement": name},
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)

    # ------------------------------------------------------------ reads

    async def read(self, query: RangeQuery) -> AsyncIterator[pa.RecordBatch]:
        """Binary rows over the Postgres wire port when the read-only user is configured (a third of /exp CSV's
        CPU: no text to print and parse), else /exp's CSV."""
        inner, types = await self._plan(query)
        statement = sql.outer(inner, types)
        if self._sql is None:
            async with self._http.export(statement, query.timeout) as chunks:
                async for batch in CsvBatches(types).parse(chunks):
                    yield batch
            return
        shape = StoredShape(types)
        async with aclosing(self._sql.store_rows(statement, query.timeout)) as batches:
            async for batch in batches:
                yield shape.of(batch)

    async def export_csv(self, query: RangeQuery, ts_unit: str) -> AsyncIterator[bytes]:
        validate_output_unit(ts_unit)
        inner, types = await self._plan(query)
        async with self._http.export(sql.outer(inner, types, ts_unit), query.timeout) as chunks:
            header_done = False
            pending = b""
            async for chunk in chunks:
                if header_done:
                    yield chunk
                    continue
                # QuestDB quotes the header names; the other stores (and the desktop) write them bare.
                pending += chunk
                head, newline, rest = pending.partition(b"\n")
                if not newline:
                    continue
                header_done = True
                yield head.replace(b'"', b"") + newline + rest
            if not header_done and pending:
                yield pending.replace(b'"', b"")

    async def _plan(self, query: RangeQuery) -> tuple[str, dict[str, str]]:
        """The inner SELECT of a range query and the store type of each column it answers with."""
        check_query(query)
        existing = await self._columns(query.measurement)
        if existing is None:
            raise NotFound(f"measurement {query.measurement} does not exist", {"measurement": query.measurement})
        types = {column: store_type for column, (store_type, _) in existing.items()}
        columns = resolve_columns(query.columns, list(types), query.column_order)
        equals = coerce_equals(query.equals, types)
        low, high = to_micros_bounds(query.from_ns, query.to_ns)
        rows = sql.RowFilter(low, high, equals, types, query.limit)
        if query.sample_by is None:
            inner = sql.inner_range(query.measurement, columns, rows)
            return inner, {column: types[column] for column in columns}
        plan = aggregate_plan(query.sample_by, columns, types)
        bucket = Bucket.parse(query.sample_by.interval)
        inner = sql.inner_sample(query.measurement, bucket, plan, rows)
        return inner, sql.sample_types(plan, types)

    async def _columns(self, name: str) -> dict[str, tuple[str, bool]] | None:
        """Column -> (type, is a dedup key), in table order; None when the table does not exist."""
        try:
            rows = await self._http.dataset(f'SELECT "column", "type", upsertKey FROM table_columns(\'{name}\')')
        except UpstreamError as exc:
            if "does not exist" in exc.message:
                return None
            raise
        return {str(column): (str(kind), bool(upsert)) for column, kind, upsert in rows}

    async def describe(self, measurement: MeasurementName, sample: int = 0) -> MeasurementInfo | None:
        name = MeasurementName(measurement)
        tables = await self._http.dataset(
            f"SELECT designatedTimestamp, partitionBy FROM tables() WHERE table_name = '{name}'"
        )
        if not tables:
            return None
        designated, partitioning = tables[0]
        results: dict[str, Any] = {}
        stamp = sql.column(designated or TIMESTAMP)

        async def fetch(key: str, statement: str) -> None:
            results[key] = await self._http.dataset(statement)

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(fetch, "columns", f"table_columns('{name}')")
                group.start_soon(fetch, "count", f"SELECT count() FROM {sql.table(name)}")
                group.start_soon(fetch, "first", f"SELECT cast({stamp} as long) FROM {sql.table(name)} LIMIT 1")
                group.start_soon(fetch, "last", f"SELECT cast({stamp} as long) FROM {sql.table(name)} LIMIT -1")
                group.start_soon(fetch, "partitions", f"SELECT count() FROM table_partitions('{name}')")
        except BaseExceptionGroup as group_error:
            first = group_error.exceptions[0]
            if isinstance(first, UpstreamError) and "does not exist" in first.message:
                return None
            raise first from None
        return _info(name, designated, partitioning, results)

    async def sample_rows(self, measurement: MeasurementName, limit: int) -> pa.Table:
        batches = [batch async for batch in self.read(RangeQuery(measurement, limit=max(limit, 0)))]
        return pa.Table.from_batches(batches)

    async def names(self, prefix: str | None = None) -> list[str]:
        rows = await self._http.dataset("SELECT table_name FROM tables()")
        return sorted(
            str(row[0])
            for row in rows
            if not str(row[0]).startswith(SYSTEM_PREFIXES) and (prefix is None or str(row[0]).startswith(prefix))
        )

    async def list_measurements(self, prefix: str | None = None) -> list[MeasurementInfo]:
        names = await self.names(prefix)
        found: dict[str, MeasurementInfo] = {}
        limiter = anyio.CapacityLimiter(DESCRIBE_CONCURRENCY)

        async def one(table_name: str) -> None:
            async with limiter:
                try:
                    info = await self.describe(MeasurementName(table_name))
                except Exception:
                    # A table named outside our rules, or dropped meanwhile, is not ours to list.
                    return
                if info is not None:
                    found[table_name] = info

        async with anyio.create_task_group() as group:
            for table_name in names:
                group.start_soon(one, table_name)
        return [found[name] for name in names if name in found]

    async def drop(self, measurement: MeasurementName) -> None:
        name = MeasurementName(measurement)
        await self._http.exec(f"DROP TABLE IF EXISTS {sql.table(name)}")
        # A WAL table's drop is applied in the background: wait until it is gone, so a read that starts after
        # this returns (the orphans check, a re-create) no longer sees it.
        deadline = time.monotonic() + self._wal_timeout
        delay = 0.005
        while await self._http.dataset(f"SELECT table_name FROM tables() WHERE table_name = '{name}'"):
            if time.monotonic() > deadline:
                raise StoreTimeout(
                    f"QuestDB did not drop {name} within {self._wal_timeout:g} s",
                    {"timeout": self._wal_timeout, "measurement": str(name)},
                )
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.1)

    # ------------------------------------------------------------ client SQL

    async def query(self, sql_text: str, limit: int, timeout: float) -> QueryResult:
        return await self._read_only().query(sql_text, limit, timeout)

    async def stream_sql(self, sql_text: str, timeout: float) -> AsyncIterator[pa.RecordBatch]:
        async with aclosing(self._read_only().stream(sql_text, timeout)) as batches:
            async for batch in batches:
                yield batch

    def _read_only(self) -> ReadOnlySql:
        if self._sql is None:
            raise StoreUnavailable("no read-only QuestDB SQL user is configured", {"setting": "pg_url"})
        return self._sql

    # ------------------------------------------------------------ lifecycle

    async def ping(self) -> dict[str, Any]:
        started = time.perf_counter()
        report: dict[str, Any] = {"backend": "questdb", "url": self._http.base_url}
        try:
            await self._http.exec("SELECT 1", timeout=5.0)
        except (StoreUnavailable, StoreTimeout, UpstreamError) as exc:
            report.update(status="down", error=exc.message)
            return report
        report.update(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 3))
        return report

    async def sweep_leftovers(self) -> list[str]:
        """The staging tables of writes whose process died (staged_write.py); the others are left alone."""
        return await drop_stale_staging(self._http)

    async def close(self) -> None:
        await self._http.close()
        if self._sql is not None:
            await self._sql.close()


def _info(name: str, designated: str | None, partitioning: str | None, results: dict[str, Any]) -> MeasurementInfo:
    columns = [
        ColumnInfo(str(row[0]), str(row[1]), indexed=bool(row[2]), designated=bool(row[7]))
        for row in results["columns"]
    ]
    dedup = [str(row[0]) for row in results["columns"] if row[8]]
    count = int(results["count"][0][0]) if results["count"] else 0
    first = results["first"][0][0] if results["first"] else None
    last = results["last"][0][0] if results["last"] else None
    return MeasurementInfo(
        name=name,
        row_count=count,
        first_ns=None if first is None else int(first) * 1000,
        last_ns=None if last is None else int(last) * 1000,
        designated_timestamp=designated,
        partition_by=partitioning,
        columns=columns,
        dedup_keys=dedup,
        partition_count=int(results["partitions"][0][0]) if results["partitions"] else 0,
    )
