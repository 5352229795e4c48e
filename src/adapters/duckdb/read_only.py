"""Client SQL on DuckDB that can never write: the statement is parsed (sqlglot for what it reads, DuckDB's
own parser for its type), it runs inside a `READ ONLY` transaction that is always discarded, and the database
refuses file access.

DuckDB cannot open its file a second time read-only while this process holds it read-write, so the
guarantee comes from the parsers (one SELECT or EXPLAIN) plus the read-only transaction, which makes the
engine itself reject any write that slipped through. Every statement runs within the `SqlGate`: a slot,
threads of its own, and one deadline for the whole statement (a streamed one included); the database's
`memory_limit` stops one that needs more memory.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final, TypeVar

import anyio.to_thread
import duckdb
import pyarrow as pa

from adapters.series.read_only_sql import SqlGate, check_statement, scrub, unique_names
from application.series_ports import QueryResult
from domain.errors import Forbidden, InvalidInput, StoreTimeout, UpstreamError

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
    """A 403 unless `sql` is exactly one SELECT or EXPLAIN statement reading data only; a 400 if it does not parse."""
    verified = check_statement(sql, "duckdb")
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as exc:
        raise InvalidInput("the SQL does not parse", {"duckdb": scrub(str(exc))}) from exc
    if len(statements) != 1:
        raise Forbidden("only one statement is allowed", {"statements": len(statements)})
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in ALLOWED:
        raise Forbidden(f"{kind} is not a read-only statement", {"allowed": sorted(ALLOWED)})
    if not verified:
        raise Forbidden("the statement uses syntax the read-only check cannot verify", {"allowed": sorted(ALLOWED)})


# DuckDB's exception classes for a statement that is wrong as written: the client's mistake, a 400.
_USER_MISTAKES: Final = (
    duckdb.ParserException, duckdb.CatalogException, duckdb.BinderException, duckdb.ConversionException,
    duckdb.InvalidInputException, duckdb.OutOfRangeException, duckdb.TypeMismatchException,
    duckdb.SyntaxException, duckdb.NotImplementedException, duckdb.DataError,
)
# An Arrow batch reader relays DuckDB's errors as OSError / ArrowInvalid text; their prefixes say the class.
_MISTAKE_PREFIXES: Final = (
    "Parser Error", "Catalog Error", "Binder Error", "Conversion Error", "Invalid Input Error",
    "Out of Range Error", "Mismatch Type Error", "Syntax Error", "Not implemented Error",
)


def translate(exc: BaseException, timeout: float | None) -> Exception:
    """A DuckDB error as ours, its message relayed without the server's folders."""
    message = scrub(str(exc)) or "the query failed"
    first = message.splitlines()[0]
    if isinstance(exc, duckdb.InterruptException) or message.startswith("INTERRUPT"):
        return StoreTimeout(f"the query ran past its timeout of {timeout or 0:g} s", {"timeout": timeout})
    if "read-only mode" in message or isinstance(exc, duckdb.PermissionException):
        return Forbidden("the statement tries to write or to reach outside the data", {"duckdb": message})
    if isinstance(exc, duckdb.OutOfMemoryException) or message.startswith("Out of Memory"):
        return InvalidInput("the statement needs more memory than this server allows", {"duckdb": first})
    if isinstance(exc, _USER_MISTAKES) or message.startswith(_MISTAKE_PREFIXES):
        return InvalidInput(first, {"duckdb": message})
    return UpstreamError(first, {"duckdb": message})


def guarded(cursor: duckdb.DuckDBPyConnection, timeout: float | None, work: Callable[[], T]) -> T:
    """The store's own statements: `work`, interrupted when it outlives `timeout`; DuckDB errors become ours."""
    timer = threading.Timer(timeout, cursor.interrupt) if timeout else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        return translated(timeout, work)
    finally:
        if timer is not None:
            timer.cancel()


async def guarded_in_thread(cursor: duckdb.DuckDBPyConnection, timeout: float | None, work: Callable[[], T]) -> T:
    """`guarded` run on a worker thread from the event loop, with the loop's timer rather than a thread's.

    A `threading.Timer` starts a thread per call and waits until that thread runs. A range read makes a call
    per batch, and on a busy machine those starts cost a 1M-row read about a quarter of its time in the store
    (noguard vs guarded in-process, load 11: 95 vs 122 ms). The server runs on asyncio (uvicorn), whose
    `call_later` is a heap entry; `cursor.interrupt` may be called from any thread."""
    timer = asyncio.get_running_loop().call_later(timeout, cursor.interrupt) if timeout else None
    try:
        return await anyio.to_thread.run_sync(translated, timeout, work)
    finally:
        if timer is not None:
            timer.cancel()


def translated(timeout: float | None, work: Callable[[], T]) -> T:
    """`work` with DuckDB's errors as ours; an interrupt is the timeout that sent it."""
    try:
        return work()
    except duckdb.InterruptException as exc:
        raise StoreTimeout(f"the query ran past its timeout of {timeout:g} s", {"timeout": timeout}) from exc
    except duckdb.Error as exc:
        if "read-only mode" in str(exc):
            raise Forbidden("the statement tries to write", {"duckdb": scrub(str(exc))}) from exc
        raise UpstreamError(scrub(str(exc)).splitlines()[0], {"duckdb": scrub(str(exc))}) from exc
    except OSError as exc:
        # An Arrow batch reader relays the errors DuckDB meets while it pulls a batch as OSError, the
        # interrupt of the timer included ("INTERRUPT Error: Interrupted!").
        if str(exc).startswith("INTERRUPT"):
            raise StoreTimeout(f"the query ran past its timeout of {timeout:g} s", {"timeout": timeout}) from exc
        message = scrub(str(exc))
        raise UpstreamError(message.splitlines()[0] if message else "the query failed", {"duckdb": message}) from exc


def guarded_until(cursor: duckdb.DuckDBPyConnection, deadline: float, work: Callable[[], T]) -> T:
    """Client SQL: `work`, interrupted at `deadline` (a `time.monotonic()` value); a mistake in it is a 400."""
    timeout = deadline - time.monotonic()
    if timeout <= 0:
        raise StoreTimeout("the query ran past its timeout", {"timeout": 0})
    timer = threading.Timer(timeout, cursor.interrupt)
    timer.daemon = True
    timer.start()
    try:
        return work()
    except (duckdb.Error, OSError, pa.ArrowException) as exc:
        raise translate(exc, timeout) from exc
    finally:
        timer.cancel()


def deadline_after(timeout: float) -> float:
    return time.monotonic() + timeout


async def run_query(
    open_cursor: Callable[[], duckdb.DuckDBPyConnection], sql: str, limit: int, timeout: float, gate: SqlGate
) -> QueryResult:
    """At most `limit` rows of a read-only statement, with its column names and types."""
    timeout = gate.check_timeout(timeout)
    deadline = deadline_after(timeout)

    def work() -> QueryResult:
        cursor = open_cursor()
        try:
            check_read_only(cursor, sql)

            def execute() -> QueryResult:
                cursor.execute("BEGIN TRANSACTION READ ONLY")
                cursor.execute(sql)
                description = cursor.description or []
                names = unique_names([str(item[0]) for item in description])
                columns = [(name, type_name(item[1])) for name, item in zip(names, description, strict=True)]
                rows = [list(row) for row in cursor.fetchmany(max(limit, 0))] if limit > 0 else []
                return QueryResult(columns, rows)

            return guarded_until(cursor, deadline, execute)
        finally:
            cursor.close()  # closing discards the transaction: nothing the statement did outlives it

    async with gate.slot(timeout):
        return await anyio.to_thread.run_sync(work, limiter=gate.threads)


async def stream_query(
    open_cursor: Callable[[], duckdb.DuckDBPyConnection],
    sql: str,
    timeout: float,
    gate: SqlGate,
    batch_rows: int = 65_536,
) -> AsyncIterator[pa.RecordBatch]:
    """A read-only statement's result as Arrow batches, each pulled on one of the gate's threads.

    `timeout` bounds the whole statement, every pull included (DuckDB executes a streamed query as its
    batches are pulled)."""
    timeout = gate.check_timeout(timeout)
    deadline = deadline_after(timeout)
    async with gate.slot(timeout):
        cursor = await anyio.to_thread.run_sync(open_cursor, limiter=gate.threads)
        reader: Any = None
        try:
            await anyio.to_thread.run_sync(check_read_only, cursor, sql, limiter=gate.threads)

            def start() -> Any:
                cursor.execute("BEGIN TRANSACTION READ ONLY")
                return cursor.sql(sql).to_arrow_reader(batch_rows)

            reader = await anyio.to_thread.run_sync(guarded_until, cursor, deadline, start, limiter=gate.threads)
            names = unique_names(list(reader.schema.names))
            yielded = False
            while True:
                batch = await anyio.to_thread.run_sync(
                    guarded_until, cursor, deadline, lambda: _next_batch(reader), limiter=gate.threads
                )
                if batch is None:
                    break
                if batch.num_rows or not yielded:
                    yielded = True
                    yield batch.rename_columns(names)
            if not yielded:
                yield pa.RecordBatch.from_pylist([], schema=reader.schema).rename_columns(names)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_finish, cursor, reader, limiter=gate.threads)


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
