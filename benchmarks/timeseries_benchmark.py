"""Time-series benchmark: imports and exports through a real `stage1` server on Postgres + QuestDB,
side by side with QuestDB's own routes and the official client.

    python benchmarks/timeseries_benchmark.py [--rows-import 1000000] [--rows-export 10000000] [--repeats 2]

Needs the stores of `scripts/services.sh up` (STAGE1_TEST_POSTGRES_URL, STAGE1_TEST_QUESTDB_HTTP,
STAGE1_TEST_QUESTDB_PG from the environment or `.testenv/env.sh`). Creates and migrates a fresh Postgres
database, starts `benchmarks/ts_serve.py` (uvicorn on `create_app`, like `stage1 serve`) on a free port with
STAGE1_TIMESERIES=questdb, and measures, each path `--repeats` times, interleaved:

  1. import of a generated OHLCV CSV (epoch-second times): the service's `POST /api/questdb/import`
     (raw text/csv body streamed from the file) against (a) QuestDB's `/imp` of the same rows (with ISO
     times, which is all /imp takes for a timestamp) and (b) the official client's `Sender.dataframe()` of
     the file read with pyarrow, flushed over ILP/HTTP. Every path is timed until the rows are readable
     (the service answers only then; the others poll `count()`), into a fresh table of the service's DDL.
  2. export of a run's predictions: `GET /api/runs/{id}/predictions?format=csv` against QuestDB's `/exp`
     of the SELECT the store sends, for `limit=1000000` and for all rows, with the server's RSS sampled
     every 50 ms and the time until each answer starts (status and headers: the service sends them with
     its first chunk), apart from the time the rest takes;
  3. the same rows as `format=arrow`;
  4. `POST /api/questdb/export` (client SQL as the read-only user) of `SELECT *` over `--rows-export` OHLCV
     rows as CSV, Arrow and Parquet against `/exp` of the same statement (CSV and `fmt=parquet`), then
     `--sql-disconnects` clients that hang up mid-export and the store connections the server holds after
     them (benchmarks/ts_sql_export.py).

`--routes sql-csv,pred-csv` times only those export routes (each still against its `/exp`), to iterate on one.
Prints one markdown report and writes it to benchmarks/out/timeseries.md. Drops its tables and database.
`--profile FILE` runs the server under yappi and writes pstats there (timings are then not comparable).
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import ts_data
import ts_imp_forward
import ts_sql_export
from ts_questdb import ISO_PATTERN, QuestDB, read_csv_frame, send_frame, sender_conf
from ts_report import MB, RATIO_HEAD, Series, mb, rate, rate_table, ratio_row, verdict
from ts_server import CpuLedger, RssSampler, Server, listening_pid

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
ENV_FILE = ROOT / ".testenv" / "env.sh"
NEEDED = ("STAGE1_TEST_POSTGRES_URL", "STAGE1_TEST_QUESTDB_HTTP", "STAGE1_TEST_QUESTDB_PG")
EXPORT_SMALL = 1_000_000
DOWNLOAD_CHUNK = 1 << 20
# Export routes --routes can choose: a run's predictions (part 2/3) and SQL export (part 4), each by format.
ROUTES = ("pred-csv", "pred-arrow", "sql-csv", "sql-arrow", "sql-parquet")


def test_env() -> dict[str, str]:
    """STAGE1_TEST_* from the environment, else from .testenv/env.sh; exits clearly when absent."""
    found = {name: os.environ[name] for name in NEEDED if os.environ.get(name)}
    if len(found) < len(NEEDED) and ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name.strip() in NEEDED and name.strip() not in found:
                found[name.strip()] = value.strip().strip('"').strip("'")
    missing = [name for name in NEEDED if name not in found]
    if missing:
        sys.exit(
            f"timeseries_benchmark: {', '.join(missing)} not set and not in {ENV_FILE}; "
            "run `scripts/services.sh up` first"
        )
    return found


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min) / {five:.2f} (5 min)"


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str]) -> None:
        self.args = args
        self.env = env
        self.prefix = f"tsb_{secrets.token_hex(3)}"
        self.qdb = QuestDB(env["STAGE1_TEST_QUESTDB_HTTP"])
        self.work = Path(tempfile.mkdtemp(prefix="ts-bench-"))
        self.db_name = f"{self.prefix}_meta"
        self.db_url: str | None = None
        self.server: Server | None = None
        self.lines: list[str] = []
        self.counter = 0
        self.build = "QuestDB (unknown build)"

    def table(self, tag: str) -> str:
        self.counter += 1
        return f"{self.prefix}_{tag}_{self.counter}"

    # ------------------------------------------------------------ setup and cleanup

    def setup(self) -> None:
        from adapters.sql import migrate

        answer = str(self.qdb.exec("SELECT build()")["dataset"][0][0])
        self.build = answer.split(",")[0].replace("Build Information: ", "")

        self.db_url = migrate.create_database(self.env["STAGE1_TEST_POSTGRES_URL"], self.db_name)
        migrate.upgrade(self.db_url)
        settings = {
            "STAGE1_DATABASE_URL": self.db_url,
            "STAGE1_TIMESERIES": "questdb",
            "STAGE1_QUESTDB_HTTP_URL": self.env["STAGE1_TEST_QUESTDB_HTTP"],
            "STAGE1_QUESTDB_PG_URL": self.env["STAGE1_TEST_QUESTDB_PG"],
            "STAGE1_AUTH_ENABLED": "false",
            "STAGE1_RATE_LIMIT_PER_MINUTE": "100000",
            "STAGE1_IN_PROCESS_WORKER": "false",
            "STAGE1_DATA_DIR": str(self.work / "data"),
        }
        if self.args.profile:
            settings["STAGE1_BENCH_PROFILE"] = str(Path(self.args.profile).resolve())
        for pair in self.args.server_env:
            name, _, value = pair.partition("=")
            settings[name] = value
        if self.args.trace:
            settings["STAGE1_BENCH_TRACE"] = str(Path(self.args.trace).resolve())
        self.server = Server(settings, OUT / "timeseries-server.log")
        self.server.start()

    def cleanup(self) -> None:
        if self.server is not None:
            self.server.stop()
        for name in self.qdb.tables(self.prefix):
            self.qdb.drop(name)
        if self.db_url is not None:
            from adapters.sql import migrate

            migrate.drop_database(self.env["STAGE1_TEST_POSTGRES_URL"], self.db_name)
        self.qdb.close()
        shutil.rmtree(self.work, ignore_errors=True)

    @property
    def base(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def ledger(self) -> CpuLedger:
        assert self.server is not None
        port = httpx.URL(self.env["STAGE1_TEST_QUESTDB_HTTP"]).port or 9000
        return CpuLedger({"server": self.server.pid, "questdb": listening_pid(port)})

    # ------------------------------------------------------------ 1. import

    def run_import(self) -> None:
        rows = self.args.rows_import
        frame = ts_data.ohlcv_table(rows)
        csv_path, iso_path = self.work / "ohlcv.csv", self.work / "ohlcv_iso.csv"
        csv_bytes = ts_data.write_ohlcv_csv(csv_path, frame)
        iso_bytes = ts_data.write_ohlcv_iso_csv(iso_path, frame)
        del frame
        service = Series("service `POST /api/questdb/import` (text/csv body)", rows)
        imp = Series("(a) QuestDB `/imp` (same rows, ISO times)", rows)
        forwarded = Series("(c) `/imp` behind a forwarder: body checked by pyarrow, times rewritten, no server",
                           rows)
        client = Series("(b) `Sender.dataframe()` direct, auto-flush (client default)", rows)
        client_one = Series("(b') `Sender.dataframe()` direct, one flush", rows)
        server_ms: list[int] = []
        template: str | None = None
        schema = [{"name": "timestamp", "type": "TIMESTAMP", "pattern": ISO_PATTERN}] + [
            {"name": name, "type": "DOUBLE"} for name in ("open", "high", "low", "close", "volume")
        ]
        conf = sender_conf(self.env["STAGE1_TEST_QUESTDB_HTTP"])
        assert self.server is not None
        sampler_peaks: list[int] = []
        jvm = self._questdb_process()
        for _ in range(self.args.repeats):
            name = self.table("svc")
            store_before = _cpu_seconds(jvm)
            with RssSampler(self.server.pid) as sampler:
                seconds, body = self._service_import(csv_path, name)
            service.store_cpu.append(_cpu_seconds(jvm) - store_before)
            sampler_peaks.append(sampler.peak - sampler.idle)
            service.server_cpu.append(sampler.cpu_seconds)
            self._check_rows(name, rows)
            service.add(seconds, csv_bytes)
            server_ms.append(int(body["duration_ms"]))
            template = template or name

            name = self.table("imp")
            self.qdb.create_table_like(name, template)
            store_before = _cpu_seconds(jvm)
            started = time.perf_counter()
            answer = self.qdb.imp(name, iso_path, schema)
            self.qdb.wait_for_rows(name, rows)
            imp.add(time.perf_counter() - started, iso_bytes)
            imp.store_cpu.append(_cpu_seconds(jvm) - store_before)
            if int(answer["rowsImported"]) != rows:
                raise RuntimeError(f"/imp imported {answer['rowsImported']} of {rows} rows: {answer}")

            name = self.table("fwd")
            self.qdb.create_table_like(name, template)
            store_before = _cpu_seconds(jvm)
            started = time.perf_counter()
            imported = ts_imp_forward.forward(self.qdb.client, name, csv_path)
            self.qdb.wait_for_rows(name, rows)
            forwarded.add(time.perf_counter() - started, csv_bytes)
            forwarded.store_cpu.append(_cpu_seconds(jvm) - store_before)
            if imported != rows:
                raise RuntimeError(f"the forwarder's /imp imported {imported} of {rows} rows")
            self._check_rows(name, rows)

            for series, extra in ((client, ""), (client_one, f"auto_flush=off;max_buf_size={64 * csv_bytes};")):
                name = self.table("ilp")
                self.qdb.create_table_like(name, template)
                store_before = _cpu_seconds(jvm)
                started = time.perf_counter()
                send_frame(conf + extra, name, read_csv_frame(csv_path))
                self.qdb.wait_for_rows(name, rows)
                series.add(time.perf_counter() - started, csv_bytes)
                series.store_cpu.append(_cpu_seconds(jvm) - store_before)
                self._check_rows(name, rows)
            for name in self.qdb.tables(self.prefix):
                if name != template:
                    self.qdb.drop(name)
        limit = client if client.best_rate >= client_one.best_rate else client_one
        self.lines += [
            f"## 1. Import: {rows:,} OHLCV rows, CSV {mb(csv_bytes)} MB (epoch s), ISO variant {mb(iso_bytes)} MB",
            "",
            *rate_table([service, imp, forwarded, client, client_one], with_bytes=True, with_store_cpu=True),
            "",
            *RATIO_HEAD,
            ratio_row(f"service / (b) the limit (faster of b, b': {limit.name[:4].strip()})", service, limit, 0.8),
            ratio_row("service / (a) QuestDB /imp", service, imp, 0.8),
            ratio_row("(c) /imp behind a forwarder / (a) QuestDB /imp", forwarded, imp, 0.8),
            f"| service absolute rows/s | {rate(service.best_rate)} | {rate(service.median_rate)} | >= 1,000,000 "
            f"| {verdict(service.best_rate, 1_000_000)} |",
            "",
            "Every path writes into a fresh table with the DDL the service created for its first import "
            "(`SHOW CREATE TABLE`: WAL, PARTITION BY MONTH, DEDUP UPSERT KEYS(timestamp)) and is timed until a "
            "`count()` sees every row (the service answers only after its own WAL wait). (a) gets ISO times "
            "because /imp has no pattern for epoch numbers; (b)/(b') time pyarrow's `read_csv`, `to_pandas` with "
            "`pd.to_datetime(unit='s')`, `Sender.dataframe()` and the flush in the benchmark process. (c) is the "
            "least an `/imp`-based service path must do (benchmarks/ts_imp_forward.py), run in the benchmark "
            "process: if it misses the goal against (a), so would the service. QuestDB CPU s: what QuestDB's JVM "
            "used during the run, other users of the shared QuestDB included.",
            "",
            f"Server-side `duration_ms` of the service import (after the body is spooled): "
            f"{', '.join(str(ms) for ms in server_ms)}; server RSS growth during an import: "
            f"{', '.join(mb(peak) for peak in sampler_peaks)} MB.",
            "",
        ]

    def _questdb_process(self) -> psutil.Process | None:
        pid = listening_pid(httpx.URL(self.env["STAGE1_TEST_QUESTDB_HTTP"]).port or 9000)
        return None if pid is None else psutil.Process(pid)

    def _service_import(self, path: Path, measurement: str) -> tuple[float, dict[str, Any]]:
        with path.open("rb") as handle, httpx.Client(timeout=600.0) as client:
            started = time.perf_counter()
            response = client.post(
                f"{self.base}/api/questdb/import",
                params={"measurement": measurement, "kind": "ohlcv"},
                content=handle,
                headers={"Content-Type": "text/csv"},
            )
            seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"service import answered {response.status_code}: {response.text[:300]}")
        body: dict[str, Any] = response.json()
        return seconds, body

    def _check_rows(self, table: str, rows: int) -> None:
        found = self.qdb.count(table)
        if found != rows:
            raise RuntimeError(f"{table} holds {found} rows, expected {rows}")

    # ------------------------------------------------------------ 2./3. export

    def run_export(self) -> None:
        rows = self.args.rows_export
        measurement = f"{self.prefix}_pred"
        started = time.perf_counter()
        anyio.run(self._load_predictions, measurement, rows)
        load_seconds = time.perf_counter() - started
        self._check_rows(measurement, rows)
        run_id = self._register_run(measurement)
        sizes = sorted({min(EXPORT_SMALL, rows), rows})
        self._check_same_rows(run_id, measurement)
        section = [
            f"## 2./3. Export: a run with {rows:,} prediction rows (loaded over ILP in {load_seconds:.1f} s)",
            "",
        ]
        ratios = [*RATIO_HEAD]
        memory = [
            "| export (its run with the largest growth) | rows | idle RSS MB | peak RSS MB | peak - idle MB "
            "| goal | verdict |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        all_series: list[Series] = []
        for size in sizes:
            limit = size if size < rows else None
            csv = Series(f"service CSV, {size:,} rows", size)
            exp = Series(f"QuestDB `/exp` of the store's SELECT, {size:,} rows", size)
            arrow = Series(f"service Arrow IPC, {size:,} rows", size)
            select = self._store_select(measurement, limit)
            for _ in range(self.args.repeats):
                if "pred-csv" in self.args.routes:
                    self._service_export(run_id, "csv", limit, csv, expect_lines=size + 1)
                started = time.perf_counter()
                total, lines, first_byte = self.qdb.exp_bytes(select)
                exp.add(time.perf_counter() - started, total)
                exp.first_byte.append(first_byte)
                if lines != size + 1:
                    raise RuntimeError(f"/exp gave {lines} lines, expected {size + 1}")
                if "pred-arrow" in self.args.routes:
                    self._service_export(run_id, "arrow", limit, arrow, expect_lines=None)
            all_series += [csv, exp, arrow]
            ratios.append(ratio_row(f"service CSV / QuestDB /exp, {size:,} rows", csv, exp, 0.8))
            ratios.append(ratio_row(f"service Arrow / QuestDB /exp, {size:,} rows", arrow, exp, 0.8))
            ratios.append(ratio_row(f"service Arrow / service CSV, {size:,} rows", arrow, csv, 1.0))
            for item in (csv, arrow):
                if not item.seconds:
                    continue
                idle, peak = item.worst_rss
                growth = peak - idle
                memory.append(
                    f"| {item.name.split(',')[0]} | {size:,} | {mb(idle)} | {mb(peak)} "
                    f"| {mb(growth)} | <= 150 | {verdict(growth / MB, 150, higher_is_better=False)} |"
                )
        ratios = [line for line in ratios if line]
        self.lines += [*section, *rate_table(all_series, with_bytes=True), "", *ratios, "", *memory, ""]

    async def _load_predictions(self, measurement: str, rows: int) -> None:
        """Straight into QuestDB over ILP/HTTP with the store's own writer (its DDL, its pipelined flushes)."""
        from adapters.questdb.store import QuestDBTimeSeriesStore
        from application.series_ports import WriteOptions
        from domain.frames import FrameKind
        from domain.values import MeasurementName

        store = QuestDBTimeSeriesStore(self.env["STAGE1_TEST_QUESTDB_HTTP"], wal_timeout=600.0)
        try:
            batches = ts_data.prediction_batches(rows)
            await store.write(MeasurementName(measurement), batches, WriteOptions(kind=FrameKind.PREDICTIONS))
        finally:
            await store.close()

    def _register_run(self, measurement: str) -> str:
        with httpx.Client(base_url=self.base, timeout=60.0) as client:
            dataset = client.post(
                "/api/datasets",
                json={"dataset_slug": f"{self.prefix}_btc_1m", "symbol": "BTC", "granularity": "1m", "source": "bench"},
            )
            if dataset.status_code not in (200, 201):
                raise RuntimeError(f"POST /api/datasets answered {dataset.status_code}: {dataset.text[:300]}")
            run = client.post(
                "/api/runs",
                json={"dataset_id": dataset.json()["dataset_id"], "prediction_measurement": measurement,
                      "status": "COMPLETED", "fold_count": 10},
            )
            if run.status_code != 201:
                raise RuntimeError(f"POST /api/runs answered {run.status_code}: {run.text[:300]}")
            return str(run.json()["run_id"])

    def _store_select(self, measurement: str, limit: int | None) -> str:
        """The statement the store sends to /exp for a run's predictions (adapters/questdb/sql.py)."""
        from adapters.questdb import sql
        from domain.frames import prediction_column_order

        types = self.qdb.columns(measurement)
        columns = prediction_column_order(types)
        inner = sql.inner_range(measurement, columns, sql.RowFilter(types=types, limit=limit))
        return sql.outer(inner, {column: types[column] for column in columns}, "ms")

    def _check_same_rows(self, run_id: str, measurement: str) -> None:
        """The service's CSV and /exp of the store's SELECT carry the same rows (the header aside)."""
        with httpx.Client(timeout=60.0) as client:
            service = client.get(f"{self.base}/api/runs/{run_id}/predictions", params={"format": "csv", "limit": 5})
        theirs = self.qdb.client.get("/exp", params={"query": self._store_select(measurement, 5)}).content
        if service.content.splitlines()[1:] != theirs.splitlines()[1:] or len(theirs.splitlines()) != 6:
            raise RuntimeError(f"service CSV and /exp differ:\n{service.text}\n---\n{theirs.decode()}")

    def _service_export(self, run_id: str, fmt: str, limit: int | None, series: Series,
                        expect_lines: int | None) -> None:
        assert self.server is not None
        params: dict[str, Any] = {"format": fmt, "timeout": 600}
        if limit is not None:
            params["limit"] = limit
        size = lines = 0
        with RssSampler(self.server.pid) as sampler, httpx.Client(timeout=600.0) as client:
            started = time.perf_counter()
            with client.stream("GET", f"{self.base}/api/runs/{run_id}/predictions", params=params) as response:
                series.first_byte.append(time.perf_counter() - started)
                if response.status_code != 200:
                    response.read()
                    raise RuntimeError(f"export answered {response.status_code}: {response.text[:300]}")
                for chunk in response.iter_raw(DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if expect_lines is not None:
                        lines += chunk.count(b"\n")
            seconds = time.perf_counter() - started
        if expect_lines is not None and lines != expect_lines:
            raise RuntimeError(f"{fmt} export gave {lines} lines, expected {expect_lines}")
        series.add(seconds, size)
        series.idle_rss.append(sampler.idle)
        series.peak_rss.append(sampler.peak)
        series.server_cpu.append(sampler.cpu_seconds)

    # ------------------------------------------------------------ report

    def header(self, load_before: str, wall: float) -> list[str]:
        build = self.build
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("questdb", "pyarrow", "httpx", "uvicorn"))
        return [
            "# Time series on a real QuestDB",
            "",
            f"`python benchmarks/timeseries_benchmark.py --rows-import {self.args.rows_import} "
            f"--rows-export {self.args.rows_export} --repeats {self.args.repeats}` at {commit}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores ({platform.machine()}), "
            f"shared: load {load_before} before, {load()} after; {wall:.0f} s in all.",
            f"{build}; {versions}; Python {platform.python_version()}. Best and median of {self.args.repeats} "
            "runs per path, interleaved."
            + (f" Server environment: {', '.join(self.args.server_env)}." if self.args.server_env else ""),
            "",
        ]


def _cpu_seconds(process: psutil.Process | None) -> float:
    """User + system CPU seconds of `process` so far; 0 when it cannot be seen (the table shows 0.00 then)."""
    if process is None:
        return 0.0
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows-import", type=int, default=1_000_000)
    parser.add_argument("--rows-export", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs per path (at least 2)")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-sql-export", action="store_true")
    parser.add_argument("--routes", type=lambda text: set(text.split(",")), default=set(ROUTES),
                        help=f"export routes to time against /exp, comma-separated (default: {','.join(ROUTES)})")
    parser.add_argument("--sql-disconnects", type=int, default=100, help="clients that hang up mid SQL export")
    parser.add_argument("--profile", metavar="FILE", help="run the server under yappi; pstats to FILE")
    parser.add_argument("--server-env", metavar="NAME=VALUE", action="append", default=[],
                        help="an extra environment variable for the server (tuning experiments)")
    parser.add_argument("--trace", metavar="FILE", help="write a wall-clock timeline of the server's import path")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2")
    if not args.routes <= set(ROUTES):
        parser.error(f"--routes takes {', '.join(ROUTES)}")
    env = test_env()
    OUT.mkdir(parents=True, exist_ok=True)
    load_before = load()
    started = time.perf_counter()
    bench = Bench(args, env)
    steps: list[Callable[[], None]] = []
    if not args.skip_import:
        steps.append(bench.run_import)
    if not args.skip_export and args.routes & {"pred-csv", "pred-arrow"}:
        steps.append(bench.run_export)
    if not args.skip_sql_export and args.routes & {"sql-csv", "sql-arrow", "sql-parquet"}:
        steps.append(lambda: ts_sql_export.run(bench))
    try:
        bench.setup()
        for step in steps:
            with bench.ledger() as ledger:
                step()
            bench.lines += [f"CPU during this part, {ledger.summary()}.", ""]
    finally:
        bench.cleanup()
    report = "\n".join(bench.header(load_before, time.perf_counter() - started) + bench.lines)
    print(report)
    (OUT / "timeseries.md").write_text(report + "\n")


if __name__ == "__main__":
    main()
