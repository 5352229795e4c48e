"""The read-only SQL routes on the real stores (embedded DuckDB, production QuestDB): a statement over its
memory or time bound stops at the bound while the data routes keep answering, the store's verdict on a
mistake is a 400 carrying its message, and nothing the routes relay shows the server's folders or settings."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from litestar.testing import AsyncTestClient

from adapters.sql import migrate
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

LIMITS: dict[str, Any] = {"sql_concurrency": 2, "sql_timeout_max_seconds": 4.0, "duckdb_memory_limit_mb": 128}
HUGE_LIST = "SELECT len(l) FROM (SELECT list(range) l FROM range(150000000))"  # 2.5 GB unbounded
LONG = {
    "embedded": "SELECT sum(hash(range)) FROM range(1000000000000)",
    "production": "SELECT sum(x) FROM long_sequence(1000000000000)",
}


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


@pytest.fixture(params=["embedded", "production"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "embedded":
        yield Settings(data_dir=tmp_path, auth_enabled=False, in_process_worker=False, _env_file=None, **LIMITS)
        return
    server = need("STAGE1_TEST_POSTGRES_URL")
    name = f"stage1_sql_{uuid.uuid4().hex[:10]}"
    url = migrate.create_database(server, name)
    migrate.upgrade(url)
    try:
        yield Settings(
            data_dir=tmp_path, database_url=url, timeseries="questdb",
            questdb_http_url=need("STAGE1_TEST_QUESTDB_HTTP"), questdb_pg_url=need("STAGE1_TEST_QUESTDB_PG"),
            auth_enabled=False, in_process_worker=False, _env_file=None, **LIMITS,
        )
    finally:
        migrate.drop_database(server, name)


def store_of(settings: Settings) -> str:
    return "embedded" if settings.timeseries == "duckdb" else "production"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings), timeout=60) as test_client:
        yield test_client


@pytest.fixture
async def bars(client: AsyncTestClient) -> str:  # type: ignore[type-arg]
    name = f"sqlbars_{uuid.uuid4().hex[:8]}"
    csv = "timestamp,x\n1704067200,1\n1704070800,2\n"
    response = await client.post("/api/questdb/import", json={"measurement": name, "data": csv})
    assert response.status_code == 200, response.text
    return name


async def timed_bars_read(client: AsyncTestClient, name: str) -> float:  # type: ignore[type-arg]
    started = time.perf_counter()
    rows = await client.get(f"/api/questdb/measurement/{name}", params={"sample": 2})
    assert rows.status_code == 200, rows.text
    assert len(rows.json()["sample"]) == 2
    return time.perf_counter() - started


async def test_a_statement_over_its_time_bound_stops_at_it_while_bars_keep_answering(
    client: AsyncTestClient, settings: Settings, bars: str  # type: ignore[type-arg]
) -> None:
    # A small default thread pool makes the old failure quick to show: client SQL used to hold its threads.
    limiter = anyio.to_thread.current_default_thread_limiter()
    tokens, limiter.total_tokens = limiter.total_tokens, 4
    try:
        await run_long_statements_and_read_bars(client, settings, bars)
    finally:
        limiter.total_tokens = tokens


async def run_long_statements_and_read_bars(
    client: AsyncTestClient, settings: Settings, bars: str  # type: ignore[type-arg]
) -> None:
    sql = LONG[store_of(settings)]
    answers: list[tuple[int, float]] = []
    reads: list[float] = []

    async def long_one() -> None:
        started = time.perf_counter()
        response = await client.post("/api/questdb/query", json={"sql": sql, "timeout": 2})
        answers.append((response.status_code, time.perf_counter() - started))

    async with anyio.create_task_group() as group:
        for _ in range(6):
            group.start_soon(long_one)
        await anyio.sleep(0.5)
        for _ in range(3):
            reads.append(await timed_bars_read(client, bars))
    assert [status for status, _ in answers] == [504] * 6
    assert all(seconds < 2 + 2 + 1.5 for _, seconds in answers)  # its own 2 s, at most 2 s in the queue
    assert max(reads) < 1.5, reads


# Only the embedded DuckDB takes `duckdb_memory_limit_mb`; QuestDB bounds its own memory, so this runs there alone.
@pytest.mark.parametrize("settings", ["embedded"], indirect=True)
async def test_a_statement_over_the_memory_bound_stops_at_it_on_the_embedded_store(
    client: AsyncTestClient, bars: str  # type: ignore[type-arg]
) -> None:
    started = time.perf_counter()
    response = await client.post("/api/questdb/query", json={"sql": HUGE_LIST, "timeout": 25})
    assert response.status_code == 400, response.text
    assert "memory" in response.json()["error"]
    assert time.perf_counter() - started < 10
    assert await timed_bars_read(client, bars) < 1.5


async def test_a_timeout_above_the_servers_bound_runs_only_to_the_bound(
    client: AsyncTestClient, settings: Settings  # type: ignore[type-arg]
) -> None:
    started = time.perf_counter()
    response = await client.post("/api/questdb/export", json={"sql": LONG[store_of(settings)], "timeout": 3600})
    assert response.status_code == 504, response.text
    assert response.json()["details"]["timeout"] <= 4.0
    assert time.perf_counter() - started < 4.0 + 3


MISTAKES = ["SELEC 1", "SELECT * FROM no_such_table_at_all", "SELECT no_such_column FROM {bars}"]


@pytest.mark.parametrize("sql", MISTAKES)
async def test_a_statement_the_store_rejects_as_a_mistake_is_a_400_with_its_message(
    client: AsyncTestClient, bars: str, sql: str  # type: ignore[type-arg]
) -> None:
    for route in ("/api/questdb/query", "/api/questdb/export"):
        response = await client.post(route, json={"sql": sql.format(bars=bars)})
        assert response.status_code == 400, (route, response.text)
        details = response.json()["details"]
        assert details.get("duckdb") or details.get("questdb"), details


READS_ONCE_REFUSED = ["(SELECT 1)", "SELECT $$a;b$$ AS x"]


@pytest.mark.parametrize("sql", READS_ONCE_REFUSED)
async def test_reads_the_text_rules_refused_are_answered_by_the_store(
    client: AsyncTestClient, settings: Settings, sql: str  # type: ignore[type-arg]
) -> None:
    response = await client.post("/api/questdb/query", json={"sql": sql})
    if settings.timeseries == "questdb" and "$$" in sql:
        assert response.status_code == 400, response.text  # QuestDB has no dollar quoting: its own verdict
    else:
        assert response.status_code == 200, response.text


LEAKY = [
    "SELECT * FROM duckdb_settings()",
    "SELECT current_setting('home_directory')",
    "SELECT * FROM read_csv('~/x.csv')",
    "SELECT * FROM duckdb_databases()",
]


@pytest.mark.parametrize("sql", LEAKY)
async def test_settings_files_and_databases_are_not_readable(client: AsyncTestClient, sql: str) -> None:  # type: ignore[type-arg]
    response = await client.post("/api/questdb/export", json={"sql": sql})
    assert response.status_code == 403, response.text


EDGES = [
    "SELECT 1 AS a, 2 AS a",
    "SELECT * FROM {bars} a JOIN {bars} b ON a.x = b.x",
    "SELECT TIMESTAMP '1000-01-01' AS t",
    "SELECT 'infinity'::TIMESTAMP AS t",
    "SELECT INTERVAL 1 DAY AS i",
    "SELECT [1, 2] AS l",
    "SELECT 1/0 AS z",
    "SELECT no_such_function(1)",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM read_parquet('" + str(Path.home()) + "/x.parquet')",
]


@pytest.mark.parametrize("sql", EDGES)
async def test_an_odd_result_is_a_correct_stream_or_a_400_in_every_format(
    client: AsyncTestClient, settings: Settings, bars: str, sql: str  # type: ignore[type-arg]
) -> None:
    for fmt in ("csv", "json", "ndjson", "arrow"):
        response = await client.post("/api/questdb/export", json={"sql": sql.format(bars=bars), "format": fmt})
        assert response.status_code in (200, 400, 403), (fmt, response.text)
        assert str(Path.home()) not in response.text and str(settings.data_dir) not in response.text
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "details"}


async def test_two_columns_of_one_name_come_out_numbered(client: AsyncTestClient, settings: Settings, bars: str) -> None:  # type: ignore[type-arg]
    response = await client.post(
        "/api/questdb/export",
        json={"sql": f"SELECT a.timestamp, a.x, b.timestamp FROM {bars} a JOIN {bars} b ON a.x = b.x ORDER BY a.x"},
    )
    assert response.status_code == 200, response.text
    header = response.text.splitlines()[0].split(",")
    assert header[0] == "timestamp" and len(set(header)) == 3
    if settings.timeseries == "duckdb":
        assert response.text.splitlines()[:2] == ["timestamp,x,timestamp_1", "1704067200000,1,1704067200000"]
