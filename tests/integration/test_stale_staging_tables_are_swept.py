"""A QuestDB write stages its rows in a `__stage1_staging_*` table; a process killed mid-write leaves that table
behind. `stage1 serve` drops such leftovers in its crash sweep (at start, then every STAGE1_SWEEP_SECONDS), not
each write: only those whose write started more than an hour ago, so a write still in progress keeps its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread
import pyarrow as pa
import pytest
from tests.contract.timeseries_fixtures import MINUTE_NS, START_NS, ohlcv, questdb_urls
from tests.integration.serve_processes import serve, stop, wait_healthy

from adapters.questdb import QuestDBTimeSeriesStore, sql
from adapters.questdb.http import QuestDBHttp
from application.series_ports import WriteOptions
from domain.frames import FrameKind
from domain.values import MeasurementName

pytestmark = [pytest.mark.anyio, pytest.mark.questdb]

BATCH_ROWS = 5_000


async def staging_tables(http: QuestDBHttp) -> set[str]:
    rows = await http.dataset(f"SELECT table_name FROM tables() WHERE table_name LIKE '{sql.STAGING_PREFIX}%'")
    return {str(name) for (name,) in rows}


async def leave_a_killed_writes_table(http: QuestDBHttp, started_seconds_ago: int) -> str:
    """A staging table with rows in it, named as a write that started `started_seconds_ago` names its own."""
    name = sql.staging_name(int(time.time()) - started_seconds_ago, uuid.uuid4().hex[:12])
    await http.exec(
        f"CREATE TABLE {sql.table(name)} (timestamp TIMESTAMP, close DOUBLE) TIMESTAMP(timestamp) PARTITION BY DAY WAL"
    )
    await http.exec(f"INSERT INTO {sql.table(name)} VALUES ('2024-01-01T00:00:00.000000Z', 1.5)")
    return name


async def wait_until_gone(http: QuestDBHttp, name: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if name not in await staging_tables(http):
            return True
        await anyio.sleep(0.2)
    return False


async def test_the_crash_sweep_drops_a_dead_writes_staging_table_and_keeps_the_one_of_a_write_in_progress(
    tmp_path: Path,
) -> None:
    http_url, pg_url = questdb_urls()
    http = QuestDBHttp(http_url)
    store = QuestDBTimeSeriesStore(http_url, pg_url=pg_url)
    measurement = MeasurementName(f"qi_swept_{uuid.uuid4().hex[:10]}")
    first_batch_taken, finish = anyio.Event(), anyio.Event()

    async def slow_upload() -> AsyncIterator[pa.RecordBatch]:
        yield ohlcv(BATCH_ROWS).to_batches()[0]
        first_batch_taken.set()
        await finish.wait()  # the write stays in progress while the server starts and sweeps
        yield ohlcv(BATCH_ROWS, start_ns=START_NS + BATCH_ROWS * MINUTE_NS).to_batches()[0]

    report = None
    process = None
    left = [await leave_a_killed_writes_table(http, started_seconds_ago=2 * 3600)]
    try:
        before = await staging_tables(http)
        async with anyio.create_task_group() as group:

            async def write() -> None:
                nonlocal report
                report = await store.write(measurement, slow_upload(), WriteOptions(kind=FrameKind.OHLCV))

            group.start_soon(write)
            await first_batch_taken.wait()
            in_progress = await staging_tables(http) - before
            assert len(in_progress) == 1  # the write's own, made when its first batch arrived
            process, url = serve(
                tmp_path, timeseries="questdb", questdb_http_url=http_url, questdb_pg_url=pg_url, sweep_seconds="1"
            )
            await anyio.to_thread.run_sync(wait_healthy, url, process)

            # The sweep at start has run before the server answers.
            tables = await staging_tables(http)
            assert left[0] not in tables
            assert in_progress <= tables

            # And it runs again every STAGE1_SWEEP_SECONDS, still sparing the write in progress.
            left.append(await leave_a_killed_writes_table(http, started_seconds_ago=3601 + 60))
            assert await wait_until_gone(http, left[1], seconds=30)
            assert in_progress <= await staging_tables(http)
            finish.set()

        assert report is not None and report.rows_written == 2 * BATCH_ROWS
        info = await store.describe(measurement)
        assert info is not None and info.row_count == 2 * BATCH_ROWS
        assert not in_progress & await staging_tables(http)  # swapped in, so gone
    finally:
        finish.set()
        if process is not None:
            stop([process])
        for name in left:
            await http.exec(f"DROP TABLE IF EXISTS {sql.table(name)}")
        await store.drop(measurement)
        await store.close()
        await http.close()
