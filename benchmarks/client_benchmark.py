"""Python client benchmark: what `stage1_client` costs on top of the wire, on the embedded default and on
Postgres + QuestDB.

    python benchmarks/client_benchmark.py [--rows 1000000] [--rounds 5] [--store embedded|questdb|both]

For each store it starts `stage1 serve` on a free port (embedded: SQLite + DuckDB in a temp folder;
questdb: a fresh Postgres database migrated to head and the QuestDB of `scripts/services.sh up`, from
STAGE1_TEST_* or `.testenv/env.sh`), creates a dataset of `--rows` OHLCV bars, then times, rounds
interleaved:

  1. `datasets.bars(slug, as_="pandas")` — the client's Arrow-stream read into pandas with UTC timestamps —
     against (a) a plain read of the same Arrow stream bytes served by a minimal local HTTP server
     (`httpx.get` + `pyarrow.ipc` + `to_pandas`: the floor for this format over loopback) and, on QuestDB,
     (b) QuestDB's own `/exp` of the same table into pandas, as CSV through `pyarrow.csv` and as Parquet
     through `pyarrow.parquet` (the goal is against the faster of the two), and (c) ArcticDB's `lib.read`
     of the same frame from an LMDB library on local disk (ArcticDB runs in its own virtualenv,
     `benchmarks/.arcticdb/venv`, created with pip on first use; `--no-arcticdb` skips it);
  2. `runs.log(slug, predictions=<pandas frame of --rows rows>)` against the raw `POST /api/runs` of a
     multipart body prepared beforehand (the same Arrow bytes): the client's frame conversion and framing
     on top of the server's save.

For the bars read it also times a plain streamed GET of stage1's answer and of the minimal server's (when the
first and the last byte arrive) and the server process's CPU seconds per client read (Linux), so a report
says where the distance to the floor lies: before the first byte, or while the bytes flow. And it reads the
same URL three ways side by side, each round, through a transport that notes when the body's first and last
byte reach httpx: `datasets.bars`, a plain `httpx` stream of stage1's answer (`iter_raw` into a bytearray,
`pyarrow.ipc`, `to_pandas`) and the floor; per phase (first byte, last byte, done) the report shows where the
client spends beyond the plain read. These probed reads are extra: the goals use the unprobed ones.

Prints best / median / worst seconds and rows/s per path, then the goals as ratios of medians measured in
the same run (client ≥ 0.8x QuestDB's fastest export and ≥ 0.8x the plain local read; `runs.log` ≥ 0.8x
the raw POST; ArcticDB reported beside), with the load average at start and end (the machine may be
shared: compare paths within one report, not across reports). Drops what it created.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as papq
from stage1_client import Client
from stage1_client.frames import ipc_stream

ROOT = Path(__file__).resolve().parent.parent
ENV_FILE = ROOT / ".testenv" / "env.sh"
NEEDED = ("STAGE1_TEST_POSTGRES_URL", "STAGE1_TEST_QUESTDB_HTTP", "STAGE1_TEST_QUESTDB_PG")
BIN = Path(sys.executable).parent
ARCTICDB_VENV = ROOT / "benchmarks" / ".arcticdb" / "venv"  # git-ignored
ARCTICDB_SIDE = ROOT / "benchmarks" / "client_arcticdb_side.py"
CLIENT_READ = "bars → pandas: client datasets.bars"
LOCAL_READ = "bars → pandas: same Arrow bytes, minimal local server"
PLAIN_READ = "bars → pandas: plain httpx stream of stage1 + pyarrow"
EXP_CSV = "bars → pandas: QuestDB /exp CSV + pyarrow.csv"
EXP_PARQUET = "bars → pandas: QuestDB /exp Parquet + pyarrow.parquet"
ARCTICDB_READ = "bars → pandas: ArcticDB lib.read (LMDB, local disk)"
CLIENT_LOG = "predictions: client runs.log(pandas)"
RAW_LOG = "predictions: raw POST /api/runs, prepared Arrow body"
STAGE1_BYTES = "stage1 bars, format=arrow&ts_unit=ms"
LOCAL_BYTES = "the same bytes, minimal local server"
ARROW_PARAMS = {"format": "arrow", "ts_unit": "ms"}  # what `datasets.bars` asks for


def arcticdb_python() -> Path:
    """ArcticDB's own virtualenv, made with `python -m venv` and pip the first time (never Stage1's)."""
    python = ARCTICDB_VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import arcticdb"], capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ARCTICDB_VENV)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "arcticdb", "pyarrow", "pandas"], check=True)
    return python


def arcticdb_reads(frame: pd.DataFrame, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="stage1-client-bench-") as folder:
        path = Path(folder) / "bars.arrow"
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, pa.Schema.from_pandas(frame)) as writer:
            writer.write_table(pa.Table.from_pandas(frame))
        done = subprocess.run(
            [arcticdb_python(), ARCTICDB_SIDE, str(path), str(rounds)], check=True, capture_output=True, text=True
        )
    return [float(seconds) for seconds in msgspec.json.decode(done.stdout)]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min) / {five:.2f} (5 min)"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and all its threads so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def store_env() -> dict[str, str]:
    found = {name: os.environ[name] for name in NEEDED if os.environ.get(name)}
    if len(found) < len(NEEDED) and ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            name, _, value = line.removeprefix("export ").partition("=")
            if name.strip() in NEEDED:
                found.setdefault(name.strip(), value.strip().strip('"').strip("'"))
    missing = [name for name in NEEDED if name not in found]
    if missing:
        sys.exit(f"client_benchmark: {', '.join(missing)} not set; run `scripts/services.sh up` first")
    return found


@contextmanager
def serve(store: str) -> Iterator[tuple[str, dict[str, str], int]]:
    """`stage1 serve` on the chosen store; yields its URL, the store settings and its process id; cleans up
    after."""
    folder = Path(tempfile.mkdtemp(prefix="client-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env["STAGE1_AUTH_ENABLED"] = "false"
    database: tuple[str, str] | None = None
    if store == "questdb":
        from adapters.sql import migrate

        stores = store_env()
        name = f"client_bench_{uuid.uuid4().hex[:8]}"
        url = migrate.create_database(stores["STAGE1_TEST_POSTGRES_URL"], name)
        migrate.upgrade(url)
        database = (stores["STAGE1_TEST_POSTGRES_URL"], name)
        env.update(
            STAGE1_DATABASE_URL=url,
            STAGE1_TIMESERIES="questdb",
            STAGE1_QUESTDB_HTTP_URL=stores["STAGE1_TEST_QUESTDB_HTTP"],
            STAGE1_QUESTDB_PG_URL=stores["STAGE1_TEST_QUESTDB_PG"],
        )
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "stage1"), "serve", "--port", str(port)],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"client_benchmark: the {store} server did not start")
            time.sleep(0.3)
        yield base, env, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
        if database is not None:
            from adapters.sql import migrate

            migrate.drop_database(*database)


@contextmanager
def bytes_server(payload: bytes, content_type: str) -> Iterator[str]:
    """A minimal HTTP server answering every GET with the same bytes: the floor of a loopback read."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def bars(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    close = 100 + np.cumsum(rng.normal(0, 0.1, rows))
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2000-01-01", periods=rows, freq="1min", tz="UTC"),
            "open": close,
            "high": close + 0.05,
            "low": close - 0.05,
            "close": close,
            "volume": rng.uniform(1, 100, rows),
        }
    )


def predictions(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2000-01-01", periods=rows, freq="1min", tz="UTC"),
            "bar_index": np.arange(rows),
            "fold_number": np.arange(rows) // max(1, rows // 5),
            "prediction": rng.normal(size=rows),
            "target": rng.normal(size=rows),
        }
    )


class Probe(httpx.BaseTransport):
    """A transport noting when the first and the last byte of each answer's body reach httpx from `inner`."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self.first: float | None = None
        self.last: float | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.stream = _Noted(response.stream, self)
        return response

    def close(self) -> None:
        self._inner.close()


class _Noted(httpx.SyncByteStream):
    def __init__(self, inner: Any, probe: Probe) -> None:
        self._inner, self._probe = inner, probe

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if self._probe.first is None:
                self._probe.first = time.perf_counter()
            yield chunk
        self._probe.last = time.perf_counter()

    def close(self) -> None:
        self._inner.close()


def plain_read(http: httpx.Client, url: str, params: dict[str, str]) -> pd.DataFrame:
    """The least a streamed read of stage1's answer does: raw chunks into one buffer, pyarrow, pandas."""
    body = bytearray()
    with http.stream("GET", url, params=params) as answer:
        for piece in answer.iter_raw():
            body += piece
    return pa.ipc.open_stream(pa.py_buffer(body)).read_all().to_pandas()


class Timings:
    def __init__(self) -> None:
        self.paths: dict[str, list[float]] = {}
        self.server_cpu: list[float] = []  # the server process's CPU seconds per client read, all its threads
        self.arrivals: dict[str, list[tuple[float, float]]] = {}  # first and last byte of a raw read, seconds
        # First byte, last byte, done (seconds from the call) and this process's CPU seconds for the read.
        self.phases: dict[str, list[tuple[float, float, float, float]]] = {}

    def bytes_at(self, name: str, raw: httpx.Client, url: str, params: dict[str, str]) -> None:
        """When the first and the last byte of a plain streamed GET arrive: where a read's time goes."""
        began, first = time.perf_counter(), None
        with raw.stream("GET", url, params=params) as answer:
            for _ in answer.iter_raw():
                first = first or time.perf_counter()
        self.arrivals.setdefault(name, []).append(((first or began) - began, time.perf_counter() - began))

    def probed(self, name: str, probe: Probe, action: Callable[[], Any], check: Callable[[Any], None]) -> None:
        """One read through `probe`: when its first and last body byte reached httpx, and when it was done."""
        probe.first = probe.last = None
        began, cpu = time.perf_counter(), time.process_time()
        result = action()
        done, cpu = time.perf_counter() - began, time.process_time() - cpu
        check(result)
        first, last = ((probe.first or began) - began), ((probe.last or began) - began)
        self.phases.setdefault(name, []).append((first, last, done, cpu))

    def breakdown(self) -> list[str]:
        if not self.arrivals and not self.phases:
            return []
        lines = ["| raw read, median of rounds | first byte s | last byte s |", "|---|---:|---:|"]
        for name, samples in self.arrivals.items():
            first = statistics.median(sample[0] for sample in samples)
            last = statistics.median(sample[1] for sample in samples)
            lines.append(f"| {name} | {first:.3f} | {last:.3f} |")
        if self.phases:
            lines += [
                "",
                "| probed read into pandas, median of rounds | first byte s | last byte s | done s | after last s "
                "| client CPU s |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for name, phases in self.phases.items():
                first, last, done, cpu = (statistics.median(phase[at] for phase in phases) for at in range(4))
                after = statistics.median(phase[2] - phase[1] for phase in phases)
                lines.append(f"| {name} | {first:.3f} | {last:.3f} | {done:.3f} | {after:.3f} | {cpu:.3f} |")
            lines.append("\n(client CPU: this process; for the floor it includes the minimal server's thread.)")
        if self.server_cpu:
            used = statistics.median(self.server_cpu)
            lines.append(f"\nserver CPU per client read (all threads, median): {used:.3f} s")
        return ["", *lines]

    def time(self, name: str, action: Callable[[], Any], check: Callable[[Any], None]) -> None:
        began = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - began
        check(result)  # outside the clock: proves the path did the work
        self.paths.setdefault(name, []).append(elapsed)

    def report(self, rows: int) -> list[str]:
        lines = ["| path | best s | median s | worst s | rows/s (median) |", "|---|---:|---:|---:|---:|"]
        for name, samples in self.paths.items():
            median = statistics.median(samples)
            lines.append(f"| {name} | {min(samples):.3f} | {median:.3f} | {max(samples):.3f} | {rows / median:,.0f} |")
        return lines


def bench_store(store: str, rows: int, rounds: int, arcticdb: bool, log: bool) -> list[str]:
    timings, dropped = Timings(), []
    with (
        serve(store) as (base, env, server),
        Client(base, token="") as client,
        httpx.Client(timeout=600) as raw,
        Client(base, token="") as probed_client,
        httpx.Client(timeout=600, transport=Probe(httpx.HTTPTransport())) as probed_raw,
    ):
        # The client's own transport, as it made it, noted from outside.
        client_probe = probed_client._http._transport = Probe(probed_client._http._transport)
        raw_probe = probed_raw._transport
        assert isinstance(raw_probe, Probe)
        slug = f"bench_{uuid.uuid4().hex[:8]}"
        dataset = client.datasets.create(slug, "BENCH", "1m", ohlcv=bars(rows))
        dropped.append(dataset.ohlcv_measurement)
        bars_url = f"{base}/api/datasets/{slug}/ohlcv"
        stream = httpx.get(bars_url, params=ARROW_PARAMS, timeout=600).content  # the bytes the client reads
        frame = predictions(rows)
        run_part = msgspec.json.encode({"dataset_slug": slug}).decode()
        prepared = ipc_stream(pa.Table.from_pandas(frame, preserve_index=False))

        def has_rows(result: Any) -> None:
            assert len(result) == rows, f"{len(result)} rows, expected {rows}"

        def saved(result: Any) -> None:
            body = result if isinstance(result, dict) else msgspec.to_builtins(result)
            assert body["questdb_rows_written"] == rows, body
            dropped.append(body["prediction_measurement"])

        def raw_log() -> dict[str, Any]:
            answer = raw.post(
                f"{base}/api/runs",
                files={"predictions": ("p.arrows", prepared, "application/vnd.apache.arrow.stream")},
                data={"run": run_part},
                timeout=600,
            )
            answer.raise_for_status()
            return dict(answer.json())

        def local_read(url: str, http: httpx.Client = raw) -> pd.DataFrame:
            return pa.ipc.open_stream(http.get(url).content).read_all().to_pandas()

        def questdb_exp(fmt: str) -> pd.DataFrame:
            answer = raw.get(
                f"{env['STAGE1_QUESTDB_HTTP_URL']}/exp",
                params={"query": f"SELECT * FROM {dataset.ohlcv_measurement}", "fmt": fmt},
                timeout=600,
            )
            body = pa.py_buffer(answer.content)
            table = pacsv.read_csv(body) if fmt == "csv" else papq.read_table(body)
            return table.to_pandas()

        with bytes_server(stream, "application/vnd.apache.arrow.stream") as local:
            for _ in range(rounds):
                before = cpu_seconds(server)
                timings.time(CLIENT_READ, lambda: client.datasets.bars(slug), has_rows)
                after = cpu_seconds(server)
                if before is not None and after is not None:
                    timings.server_cpu.append(after - before)
                timings.bytes_at(STAGE1_BYTES, raw, bars_url, ARROW_PARAMS)
                timings.bytes_at(LOCAL_BYTES, raw, local, {})
                timings.time(LOCAL_READ, lambda: local_read(local), has_rows)
                timings.time(PLAIN_READ, lambda: plain_read(raw, bars_url, ARROW_PARAMS), has_rows)
                timings.probed(CLIENT_READ, client_probe, lambda: probed_client.datasets.bars(slug), has_rows)
                timings.probed(PLAIN_READ, raw_probe, lambda: plain_read(probed_raw, bars_url, ARROW_PARAMS), has_rows)
                timings.probed(LOCAL_READ, raw_probe, lambda: local_read(local, probed_raw), has_rows)
                if store == "questdb":
                    timings.time(EXP_CSV, lambda: questdb_exp("csv"), has_rows)
                    timings.time(EXP_PARQUET, lambda: questdb_exp("parquet"), has_rows)
                if log:
                    timings.time(CLIENT_LOG, lambda: client.runs.log(slug, predictions=frame), saved)
                    timings.time(RAW_LOG, raw_log, saved)
        if arcticdb and store == "embedded":
            timings.paths[ARCTICDB_READ] = arcticdb_reads(client.datasets.bars(slug), rounds)
    if store == "questdb":
        with httpx.Client(base_url=env["STAGE1_QUESTDB_HTTP_URL"], timeout=120) as questdb:
            for table in dropped:
                questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS '{table}'"})
    return [f"### {store}", "", *timings.report(rows), *timings.breakdown(), "", *goals(store, timings), ""]


def goals(store: str, timings: Timings) -> list[str]:
    """The goals as ratios of medians from this run: above 1 the client is faster than the other path."""
    median = {name: statistics.median(samples) for name, samples in timings.paths.items()}
    rows = ["| goal | ratio (median) | met |", "|---|---:|:---:|"]

    def ratio(name: str, other: str, goal: float | None) -> None:
        if name in median and other in median:
            value = median[other] / median[name]
            met = "-" if goal is None else "yes" if value >= goal else "NO"
            rows.append(f"| {name} vs {other} | {value:.2f}x | {met} |")

    if store == "questdb":
        fastest = min((EXP_CSV, EXP_PARQUET), key=lambda name: median.get(name, float("inf")))
        ratio(CLIENT_READ, fastest, 0.8)
    else:
        ratio(CLIENT_READ, LOCAL_READ, 0.8)
        ratio(CLIENT_READ, PLAIN_READ, None)
        ratio(CLIENT_READ, ARCTICDB_READ, None)
    ratio(CLIENT_LOG, RAW_LOG, 0.8)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--store", choices=["embedded", "questdb", "both"], default="both")
    parser.add_argument("--no-arcticdb", action="store_true", help="skip ArcticDB (no virtualenv made)")
    parser.add_argument("--no-log", action="store_true", help="skip the runs.log paths (reads only)")
    args = parser.parse_args()
    started, load_start = time.monotonic(), load()
    stores = ["embedded", "questdb"] if args.store == "both" else [args.store]
    lines = [
        f"## Python client benchmark: {args.rows:,} rows, {args.rounds} rounds",
        "",
        f"cores {os.cpu_count()}, load average at start {load_start}",
        "",
    ]
    for store in stores:
        lines += bench_store(store, args.rows, args.rounds, not args.no_arcticdb, not args.no_log)
    lines.append(f"load average at end {load()}; wall {time.monotonic() - started:.0f} s")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
