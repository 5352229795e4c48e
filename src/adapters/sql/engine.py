"""Async engines for the metadata store: Postgres through asyncpg, SQLite through aiosqlite."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

SqliteBegin = Literal["driver", "deferred", "immediate"]

_ASYNC_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}

SQLITE_BUSY_TIMEOUT_MS = 5_000


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def json_dumps(value: Any) -> str:
    """JSON for the JSON columns: NaN and infinities (common in metrics) become null.

    Postgres refuses them outright and SQLite would store text no other JSON reader accepts."""
    try:
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


_DECODER = msgspec.json.Decoder()


def json_loads(text: str | bytes) -> Any:
    """JSON columns back to Python, as `json.loads` reads them, about four times faster.

    msgspec reads JSON documents to the same values; what it refuses (a number beyond a float's range,
    NaN, a lone surrogate escape) goes to `json.loads`, which read every column before."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def async_url(url: str | URL) -> URL:
    """The URL with its async driver: `postgresql://` becomes `postgresql+asyncpg://`, and so on."""
    parsed = make_url(url)
    if parsed.drivername in _ASYNC_DRIVERS:
        return parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    return parsed


def create_engine(
    url: str | URL,
    *,
    echo: bool = False,
    pool_size: int = 5,
    max_overflow: int = 10,
    connect_timeout: float = 10.0,
    sqlite_begin: SqliteBegin = "driver",
) -> AsyncEngine:
    """An engine for `url`; nothing connects until the first use.

    `sqlite_begin` picks how SQLite transactions start. "driver" keeps Python's sqlite3 habit: reads run
    outside a transaction until the first write, so a read-then-write never fails with a stale snapshot.
    "deferred" / "immediate" issue a real BEGIN (transactional DDL, savepoints; "immediate" takes the write
    lock up front, which is what a job claim wants).
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, echo, sqlite_begin)
    options: dict[str, Any] = {
        "echo": echo,
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        # No ping per checkout (a round trip on every request): a statement that finds its pooled connection
        # dead runs again once on a new one (`SqlRepository._execute`), and the pool drops the older ones.
        "pool_pre_ping": False,
        # Servers and proxies drop idle connections; recycle before they do.
        "pool_recycle": 1800,
        "pool_timeout": connect_timeout,
    }
    if parsed.get_driver_name() == "asyncpg":
        options["connect_args"] = {
            "timeout": connect_timeout,
            "server_settings": {"application_name": "stage1", "timezone": "UTC"},
        }
    return create_async_engine(parsed, **options)


def _sqlite_engine(url: URL, echo: bool, begin: SqliteBegin) -> AsyncEngine:
    in_memory = url.database in (None, "", ":memory:")
    # Every connection to ":memory:" is a new empty database, so such an engine keeps a single one.
    options: dict[str, Any] = {"echo": echo, "json_serializer": json_dumps, "json_deserializer": json_loads}
    if in_memory:
        options["poolclass"] = StaticPool
    engine = create_async_engine(url, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if begin != "driver":
            # Hand transaction control to SQLAlchemy; the "begin" hook below emits BEGIN itself.
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    if begin != "driver":
        statement = "BEGIN IMMEDIATE" if begin == "immediate" else "BEGIN"

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql(statement)

    return engine
