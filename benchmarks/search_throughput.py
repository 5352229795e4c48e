"""The metadata read path: `GET /api/runs?limit=100` in this process against a raw asyncpg loop of its SQL.

The app is driven straight through ASGI (no HTTP client in between), so the difference to the raw loop is
what Litestar, msgspec, the use case, SQLAlchemy and the repository cost. The raw loop runs exactly the
statements the repository sends for that page (captured from SQLAlchemy: the count and the page), on one
connection, each in its own implicit transaction. The app runs the same two the same way (a listing is a
reading unit of work: no BEGIN/ROLLBACK, and no pool pre-ping) plus one more round trip the raw loop does
not make: the dataset versions read that answers each run's `stale` flag.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar
from sqlalchemy import event

from adapters.jobs.pg import asyncpg_dsn
from adapters.sql.engine import create_engine
from adapters.sql.uow import SqlUnitOfWork
from application.ports import RunFilter
from domain.paging import PageRequest

PAGE = 100


async def list_statements(url: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The SQL (with its parameters) the repository runs for the first page of `limit=100`."""
    engine = create_engine(url)
    seen: list[tuple[str, tuple[Any, ...]]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.append((statement, tuple(parameters or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with SqlUnitOfWork(engine) as unit:
            await unit.runs.list(RunFilter(None, None, None, None, None), PageRequest.of(PAGE, None, None))
    finally:
        await engine.dispose()
    return seen


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[None]:
    """The app's lifespan (its container, its pool) run in this event loop, as a server would."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


def _asgi_get(app: Litestar, path: str, query: bytes) -> Callable[[], Awaitable[int]]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def one() -> int:
        answer: dict[str, Any] = {"status": 0, "bytes": 0}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            else:
                answer["bytes"] += len(message.get("body", b""))

        await app({**scope, "state": {}}, receive, send)  # type: ignore[arg-type]
        if answer["status"] != 200:
            raise RuntimeError(f"GET {path}?{query.decode()} answered {answer['status']}")
        return int(answer["bytes"])

    return one


async def _rate(step: Callable[[], Awaitable[Any]], seconds: float) -> float:
    done, started = 0, time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        await step()
        done += 1
    return done / (time.perf_counter() - started)


async def measure(app: Litestar, url: str, seconds: float, rounds: int) -> dict[str, list[float]]:
    """Requests/s of the app and queries/s (one page's statements) of the raw loop, `rounds` times each,
    interleaved so that both see the same machine."""
    statements = await list_statements(url)
    conn = await asyncpg.connect(asyncpg_dsn(url))
    rates: dict[str, list[float]] = {"app": [], "raw": []}

    async def raw_page() -> None:
        for sql, parameters in statements:
            await conn.fetch(sql, *parameters)

    try:
        async with running(app):
            get_page = _asgi_get(app, "/api/runs", f"limit={PAGE}".encode())
            for _ in range(20):  # warm both: statement caches, the pool
                await get_page()
                await raw_page()
            for _ in range(rounds):
                rates["app"].append(await _rate(get_page, seconds))
                rates["raw"].append(await _rate(raw_page, seconds))
    finally:
        await conn.close()
    rates["statements"] = [float(len(statements))]
    return rates
