"""Client SQL on QuestDB through its Postgres wire port, as a read-only user: the database itself
refuses every write, and that refusal becomes a 403. A statement sqlglot parses is checked first (one read,
no settings or files); QuestDB's own dialect (SAMPLE BY, LATEST ON) is left to QuestDB. Statements run within
the `SqlGate` (a slot each, a bounded timeout). `query` answers on an asyncpg pool as large as the gate's
concurrency; `stream` (exports) reads binary rows on a connection of its own and decodes them a block at a
time into Arrow (pgwire.py, pgwire_rows.py), as fast as QuestDB sends them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Final

import anyio
import anyio.to_thread
import asyncpg
import pyarrow as pa

from adapters.questdb.pgwire import PgWire, WireError
from adapters.questdb.pgwire_rows import arrow_type, decode, result_formats
from adapters.series.read_only_sql import SqlGate, check_statement, scrub, unique_names
from application.series_ports import QueryResult
from domain.errors import Forbidden, InvalidInput, StoreTimeout, StoreUnavailable, UpstreamError

STREAM_ROWS: Final = 65_536  # a batch's rows at most: the encoders' chunk size

_TYPE_NAMES: Final = {
    "int8": "LONG", "int4": "INT", "int2": "SHORT", "float8": "DOUBLE", "float4": "FLOAT",
    "varchar": "VARCHAR", "text": "STRING", "bool": "BOOLEAN", "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP", "date": "DATE", "bpchar": "CHAR", "char": "CHAR", "uuid": "UUID",
    "bytea": "BINARY", "numeric": "DECIMAL",
}


class ReadOnlySql:
    """A small asyncpg pool for the read-only user, opened on first use."""

    def __init__(self, dsn: str, gate: SqlGate | None = None) -> None:
        self._dsn = dsn
        self._gate = gate or SqlGate()
        self._max = self._gate.concurrency
        self._pool: asyncpg.Pool | None = None
        self._lock = anyio.Lock()

    async def _connections(self, timeout: float) -> asyncpg.Pool:
        async with self._lock:
            if self._pool is None:
                try:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=0, max_size=self._max, timeout=min(timeout, 10.0)
                    )
                except Exception as exc:
                    raise translate(exc, timeout) from exc
            return self._pool

    async def query(self, sql: str, limit: int, timeout: float) -> QueryResult:
        check_statement(sql, "postgres")
        timeout = self._gate.check_timeout(timeout)
        async with self._gate.slot(timeout):
            return await self._query(sql, limit, timeout)

    async def _query(self, sql: str, limit: int, timeout: float) -> QueryResult:
        pool = await self._connections(timeout)
        try:
            async with pool.acquire(timeout=timeout) as connection:
                statement = await connection.prepare(sql, timeout=timeout)
                attributes = statement.get_attributes()
                names = unique_names([attribute.name for attribute in attributes])
                columns = [(name, _type_name(a.type.name)) for name, a in zip(names, attributes, strict=True)]
                if not attributes:
                    await connection.execute(sql, timeout=timeout)
                    return QueryResult(columns, [])
                if limit <= 0:
                    return QueryResult(columns, [])
                async with connection.transaction():
                    cursor = await statement.cursor(timeout=timeout)
                    records = await cursor.fetch(limit, timeout=timeout)
                return QueryResult(columns, [list(record) for record in records])
        except (Forbidden, InvalidInput, UpstreamError, StoreTimeout, StoreUnavailable):
            raise
        except Exception as exc:
            raise translate(exc, timeout) from exc

    async def stream(self, sql: str, timeout: float) -> AsyncGenerator[pa.RecordBatch, None]:
        check_statement(sql, "postgres")
        timeout = self._gate.check_timeout(timeout)
        async with self._gate.slot(timeout), aclosing(self._stream(sql, timeout)) as batches:
            async for batch in batches:
                yield batch

    async def store_rows(self, sql: str, timeout: float) -> AsyncGenerator[pa.RecordBatch, None]:
        """The store's own statement (a range read it built, not client SQL): no statement check, no slot of the
        gate, and `timeout` bounds each wait for rows, not the whole answer, which the HTTP client's pace may
        stretch (as /exp's reads are bounded)."""
        async with aclosing(self._stream(sql, timeout, per_wait=True)) as batches:
            async for batch in batches:
                yield batch

    async def _stream(self, sql: str, timeout: float, per_wait: bool = False) -> AsyncGenerator[pa.RecordBatch, None]:
        """Binary rows on a connection of the statement's own (pgwire.py), decoded a block at a time."""
        deadline = time.monotonic() + timeout  # one bound for the whole statement, every read included
        wire: PgWire | None = None
        try:
            with anyio.fail_after(timeout):
                wire = await PgWire.connect(self._dsn)
                fields = await wire.describe(sql)
            names = unique_names([field.name for field in fields or []])
            schema = pa.schema([(name, arrow_type(f.type_oid)) for name, f in zip(names, fields or [], strict=True)])
            produced = False
            rows = wire.execute(result_formats(fields or []))
            threads = None if per_wait else self._gate.threads  # the store's own reads take no client-SQL thread
            while True:
                with anyio.fail_after(timeout if per_wait else max(deadline - time.monotonic(), 0)):
                    found = await anext(rows, None)
                if found is None:
                    break
                batch = await anyio.to_thread.run_sync(
                    decode, found.block, found.starts, names, fields or [], limiter=threads
                )
                for start in range(0, batch.num_rows, STREAM_ROWS):
                    produced = True
                    yield batch.slice(start, STREAM_ROWS)
            if not produced:
                yield pa.RecordBatch.from_pylist([], schema=schema)
        except (Forbidden, InvalidInput, UpstreamError, StoreTimeout, StoreUnavailable):
            raise
        except Exception as exc:
            raise translate(exc, timeout) from exc
        finally:
            if wire is not None:
                await wire.aclose()

    async def ping(self, timeout: float = 5.0) -> None:
        await self._query("SELECT 1", 1, timeout)  # health never queues behind client SQL

    async def close(self) -> None:
        async with self._lock:
            if self._pool is not None:
                await self._pool.close()
                self._pool = None


# QuestDB answers every statement error with SQLSTATE 00000; these words mark it failing rather than the
# statement being wrong (unknown table or column, syntax, types), which is the client's mistake: a 400.
_STORE_FAILURES: Final = ("out of memory", "internal error", "could not open", "no space", "disk", "cairo",
                          "too many", "unavailable", "limit exceeded")


def translate(exc: BaseException, timeout: float) -> Exception:
    if isinstance(exc, TimeoutError):
        return StoreTimeout(f"the QuestDB query ran past its timeout of {timeout:g} s", {"timeout": timeout})
    if isinstance(exc, OSError | asyncpg.CannotConnectNowError | anyio.BrokenResourceError):
        return StoreUnavailable("QuestDB's Postgres port is unreachable", {"error": scrub(str(exc) or repr(exc))})
    message = scrub(str(exc) or repr(exc))
    lowered = message.lower()
    if isinstance(exc, asyncpg.PostgresError | WireError):
        if "permission denied" in lowered:
            return Forbidden("the read-only SQL route cannot write", {"questdb": message})
        if "timeout" in lowered and "cancel" in lowered:
            return StoreTimeout(f"the QuestDB query ran past its timeout of {timeout:g} s",
                                {"timeout": timeout, "questdb": message})
        if isinstance(exc, asyncpg.InterfaceError) or not any(word in lowered for word in _STORE_FAILURES):
            return InvalidInput(message.splitlines()[0], {"questdb": message})
    if isinstance(exc, asyncpg.InterfaceError):
        return InvalidInput(message.splitlines()[0], {"questdb": message})
    return UpstreamError(message, {"questdb": message})


def _type_name(pg_name: str) -> str:
    return _TYPE_NAMES.get(pg_name, pg_name.upper())
