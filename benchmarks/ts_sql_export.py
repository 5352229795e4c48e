"""Part 4 of the time-series benchmark: `POST /api/questdb/export` (client SQL, read-only user) in CSV, Arrow
and Parquet against QuestDB's own `/exp` of the same statement (CSV, and `fmt=parquet` for Parquet), and the
disconnect check: clients that start a large export and hang up, after which the server must hold no
connection to QuestDB's Postgres port (the full-size version of tests/integration/test_export_disconnects.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pyarrow as pa
import pyarrow.compute as pc
import ts_data
from ts_report import RATIO_HEAD, Series, rate_table, ratio_row, verdict
from ts_server import RssSampler

WRITE_ROWS = 1_000_000
DOWNLOAD_CHUNK = 1 << 20


async def load_ohlcv(http_url: str, measurement: str, rows: int) -> None:
    """Minute bars straight into QuestDB with the store's own writer, a million at a time."""
    from adapters.questdb.store import QuestDBTimeSeriesStore
    from application.series_ports import WriteOptions
    from domain.frames import FrameKind
    from domain.values import MeasurementName

    async def batches() -> AsyncIterator[pa.RecordBatch]:
        for start in range(0, rows, WRITE_ROWS):
            table = ts_data.ohlcv_table(min(WRITE_ROWS, rows - start), seed=start)
            seconds = pc.add(table.column("timestamp"), start * ts_data.BAR_S)
            stamps = pc.cast(pc.multiply(seconds, 1_000_000_000), pa.timestamp("ns"))
            for batch in table.set_column(0, "timestamp", stamps).to_batches(250_000):
                yield batch

    store = QuestDBTimeSeriesStore(http_url, wal_timeout=600.0)
    try:
        await store.write(MeasurementName(measurement), batches(), WriteOptions(kind=FrameKind.OHLCV))
    finally:
        await store.close()


def service_export(base: str, pid: int, sql: str, fmt: str, series: Series) -> None:
    size = 0
    with RssSampler(pid) as sampler, httpx.Client(timeout=600.0) as client:
        started = time.perf_counter()
        with client.stream("POST", f"{base}/api/questdb/export",
                           json={"sql": sql, "format": fmt, "timeout": 600}) as response:
            if response.status_code != 200:
                response.read()
                raise RuntimeError(f"{fmt} export answered {response.status_code}: {response.text[:300]}")
            for chunk in response.iter_raw(DOWNLOAD_CHUNK):
                size += len(chunk)
        series.add(time.perf_counter() - started, size)
    series.idle_rss.append(sampler.idle)
    series.peak_rss.append(sampler.peak)
    series.server_cpu.append(sampler.cpu_seconds)


def exp_export(client: httpx.Client, sql: str, fmt: str, series: Series) -> None:
    params = {"query": sql, **({"fmt": "parquet"} if fmt == "parquet" else {})}
    size = 0
    started = time.perf_counter()
    with client.stream("GET", "/exp", params=params, headers={"Accept-Encoding": "identity"}) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(DOWNLOAD_CHUNK):
            size += len(chunk)
    series.add(time.perf_counter() - started, size)


def run(bench: Any) -> None:
    """Appends part 4 to the report of `bench` (timeseries_benchmark.Bench)."""
    rows = bench.args.rows_export
    measurement = bench.table("sqlbars")
    started = time.perf_counter()
    anyio.run(load_ohlcv, bench.env["STAGE1_TEST_QUESTDB_HTTP"], measurement, rows)
    load_seconds = time.perf_counter() - started
    bench._check_rows(measurement, rows)
    sql = f"SELECT * FROM {measurement}"
    paths = {
        "csv": Series(f"service CSV, {rows:,} rows", rows),
        "exp": Series(f"QuestDB `/exp` CSV, {rows:,} rows", rows),
        "arrow": Series(f"service Arrow IPC, {rows:,} rows", rows),
        "parquet": Series(f"service Parquet, {rows:,} rows", rows),
        "exp_parquet": Series(f"QuestDB `/exp?fmt=parquet`, {rows:,} rows", rows),
    }
    with httpx.Client(base_url=bench.env["STAGE1_TEST_QUESTDB_HTTP"], timeout=600.0) as qdb:
        routes = bench.args.routes
        for _ in range(bench.args.repeats):
            if "sql-csv" in routes:
                service_export(bench.base, bench.server.pid, sql, "csv", paths["csv"])
            exp_export(qdb, sql, "csv", paths["exp"])
            if "sql-arrow" in routes:
                service_export(bench.base, bench.server.pid, sql, "arrow", paths["arrow"])
            if "sql-parquet" in routes:
                service_export(bench.base, bench.server.pid, sql, "parquet", paths["parquet"])
                exp_export(qdb, sql, "parquet", paths["exp_parquet"])
    csv, exp, arrow, parquet = paths["csv"], paths["exp"], paths["arrow"], paths["parquet"]
    leaked = disconnects(bench, sql, bench.args.sql_disconnects)
    ratios = [
        ratio_row("service CSV / `/exp` CSV", csv, exp, 0.8),
        ratio_row("service Arrow / `/exp` CSV", arrow, exp, 0.8),
        ratio_row("service Parquet / `/exp` CSV", parquet, exp, 0.8),
        ratio_row("service Parquet / `/exp?fmt=parquet`", parquet, paths["exp_parquet"], 0.8),
        ratio_row("service Arrow / service CSV", arrow, csv, 1.0),
        ratio_row("service Parquet / service CSV", parquet, csv, 1.0),
    ]
    bench.lines += [
        f"## 4. SQL export: `POST /api/questdb/export` of `SELECT *` over {rows:,} OHLCV rows "
        f"(loaded in {load_seconds:.1f} s)",
        "",
        *rate_table(list(paths.values()), with_bytes=True),
        "",
        *RATIO_HEAD,
        *[line for line in ratios if line],  # a route left out with --routes has no row
        "",
        f"Disconnects: {bench.args.sql_disconnects} clients started this export and hung up after its first "
        f"megabyte; connections to QuestDB's Postgres port the server held a second later, beyond those before: "
        f"{leaked} "
        f"(goal 0: {verdict(-leaked, 0)}).",
        "",
    ]


def disconnects(bench: Any, sql: str, count: int) -> int:
    """Starts `count` exports, hangs up on each after its first megabyte; answers how many more connections to
    QuestDB's Postgres port the server holds a second after the last one than before the first."""
    port = pg_port(bench.env["STAGE1_TEST_QUESTDB_PG"])
    before = len(store_connections(bench.server.pid, port))
    for _ in range(count):
        with httpx.Client(timeout=60.0) as client, client.stream(
            "POST", f"{bench.base}/api/questdb/export", json={"sql": sql, "format": "csv"}
        ) as response:
            next(response.iter_raw(DOWNLOAD_CHUNK))
    time.sleep(1.0)
    return len(store_connections(bench.server.pid, port)) - before


def pg_port(dsn: str) -> int:
    return httpx.URL(dsn.replace("postgresql://", "http://", 1)).port or 8812


def store_connections(pid: int, port: int) -> list[str]:
    """The established TCP connections of process `pid` to `port` (from /proc, Linux)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as lines:
            next(lines)
            for line in lines:
                parts = line.split()
                remote, state, inode = parts[2], parts[3], parts[9]
                if inode in inodes and state == "01" and int(remote.rsplit(":", 1)[1], 16) == port:
                    found.append(remote)
    return found

