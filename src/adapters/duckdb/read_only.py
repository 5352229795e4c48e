"""Client SQL on DuckDB that can never write: the statement's parsed type is checked, it runs inside a
`READ ONLY` transaction that is always rolled back, and the database refuses file access.

DuckDB cannot open its file a second time read-only while this process holds it read-write, so the
guarantee comes from the parser (one SELECT or EXPLAIN) plus the read-only transaction, which makes the
engine itself reject any write that slipped through.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final, TypeVar

import anyio.to_thread
import duckdb
import pyarrow as pa

from application.ports import QueryResult
from domain.errors import Forbidden, StoreTimeout, UpstreamError

ALLOWED: Final = frozenset({"SELECT", "EXPLAIN"})

_DUCKDB_TYPES: Final = {
    "BIGINT": "LONG", "INTEGER": "INT", "SMALLINT": "SHORT", "TINYINT": "BYTE", "UBIGINT": "LONG",
    "UINTEGER": "LONG", "USMALLINT": "INT", "UTINYINT": "SHORT", "HUGEINT": "LONG256",
    "DOUBLE": "DOUBLE", "FLOAT": "FLOAT", "VARCHAR": "VARCHAR", "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP", "TIMESTAMP_NS": "TIMESTAMP", "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "DATE": "DATE", "UUID": "UUID", "BLOB": "BINARY",
}

T = TypeVar("T")


def type_name(duckdb_type: Any) -> str:
    text = str(duckdb_type)
    return _DUCKDB_TYPES.get(text, text)


def check_read_only(cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
    """A 403 unless `sql` is exactly one SELECT or EXPLAIN statement."""
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as exc:
        raise UpstreamError("the SQL does not parse", {"duckdb": str(exc)}) from exc
    if len(statements) != 1:
        raise Forbidden("only one statement is allowed", {"statements": len(statements)})
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in ALLOWED:
        raise Forbidden(f"{kind} is not a read-only statement", {"allowed": sorted(ALLOWED)})


@contextmanager
def read_only_transaction(cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
    cursor.execute("BEGIN TRANSACTION READ ONLY")
    try:
        yield
    finally:
        with suppress(duckdb.Error):
            # DuckDB refuses any statement while a result is only partly fetched.
            cursor.abort()
        with suppress(duckdb.Error):
            cursor.execute("ROLLBACK")


def guarded(cursor: duckdb.DuckDBPyConnection, timeout: float | None, work: Callable[[], T]) -> T:
    """Runs `work`, interrupting the cursor when it outlives `timeout`; DuckDB errors become ours."""
    timer = threading.Timer(timeout, cursor.interrupt) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        return work()
    except duckdb.InterruptException as exc:
        raise StoreTimeout(f"the query ran past its timeout of {timeout:g} s", {"timeout": timeout}) from exc
    except duckdb.Error as exc:
        if "read-only mode" in str(exc):
            raise Forbidden("the statement tries to write", {"duckdb": str(exc)}) from exc
        raise UpstreamError(str(exc).splitlines()[0], {"duckdb": str(exc)}) from exc
    except OSError as exc:
        # An Arrow batch reader relays the errors DuckDB meets while it pulls a batch as OSError, the
        # interrupt of the timer included ("INTERRUPT Error: Interrupted!").
        if str(exc).startswith("INTERRUPT"):
            raise StoreTimeout(f"the query ran past its timeout of {timeout:g} s", {"timeout": timeout}) from exc
        raise UpstreamError(str(exc).splitlines()[0] or "the query failed", {"duckdb": str(exc)}) from exc
    finally:
        if timer is not None:
            timer.cancel()


def run_query(cursor: duckdb.DuckDBPyConnection, sql: str, limit: int, timeout: float | None) -> QueryResult:
    """At most `limit` rows of a read-only statement, with its column names and types (blocking)."""
    check_read_only(cursor, sql)

    def work() -> QueryResult:
        with read_only_transaction(cursor):
            cursor.execute(sql)
            description = cursor.description or []
            columns = [(str(item[0]), type_name(item[1])) for item in description]
            rows = [list(row) for row in cursor.fetchmany(max(limit, 0))] if limit > 0 else []
            return QueryResult(columns, rows)

    return guarded(cursor, timeout, work)


async def stream_query(
    open_cursor: Callable[[], duckdb.DuckDBPyConnection],
    sql: str,
    timeout: float | None,
    batch_rows: int = 65_536,
) -> AsyncIterator[pa.RecordBatch]:
    """A read-only statement's result as Arrow batches, each pulled in a worker thread.

    `timeout` bounds every pull (DuckDB executes a streamed query as its batches are pulled)."""
    cursor = await anyio.to_thread.run_sync(open_cursor)
    reader: Any = None
    try:
        check_read_only(cursor, sql)

        def start() -> Any:
            cursor.execute("BEGIN TRANSACTION READ ONLY")
            return cursor.sql(sql).to_arrow_reader(batch_rows)

        reader = await anyio.to_thread.run_sync(guarded, cursor, timeout, start)
        yielded = False
        while True:
            batch = await anyio.to_thread.run_sync(guarded, cursor, timeout, lambda: _next_batch(reader))
            if batch is None:
                break
            if batch.num_rows or not yielded:
                yielded = True
                yield batch
        if not yielded:
            yield pa.RecordBatch.from_pylist([], schema=reader.schema)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_finish, cursor, reader)


def _next_batch(reader: Any) -> pa.RecordBatch | None:
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _finish(cursor: duckdb.DuckDBPyConnection, reader: Any) -> None:
    """Closing the cursor discards its transaction, so nothing the statement did can outlive it."""
    try:
        if reader is not None:
            reader.close()
    finally:
        cursor.close()
