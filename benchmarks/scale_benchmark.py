"""Scale past one machine, shown on one: 2 `stage1 serve` + 3 `stage1 worker` processes on one Postgres and one
QuestDB run a mix of jobs, and every promise of the queue and the feed is checked.

    python benchmarks/scale_benchmark.py [--jobs 10000] [--rounds 3] [--servers 2] [--workers 3] [--questdb private]

Needs STAGE1_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE) and STAGE1_TEST_QUESTDB_JAR, or
with `--questdb shared` STAGE1_TEST_QUESTDB_HTTP and STAGE1_TEST_QUESTDB_PG (`. .testenv/env.sh` after
`scripts/services.sh up`). Each round works in a fresh Postgres database it drops afterwards. By default the
benchmark starts its own QuestDB with small append pages (see scale_questdb.py: a new table takes about 1 MB
of disk instead of about 95 MB, so 2,000 run saves fit) that closes idle tables after 5 s (else 2,000 tables
exceed the open-file limit), and deletes it at the end; it reports the disk the round's new tables took.
The mix, submitted by 8 client threads spread over the API processes:
  - imports (`POST /api/questdb/import/async`, 10 % of the jobs): 24 bars each, appended to 4 measurements;
  - run saves (`POST /api/runs?async=true`, 20 %): 24 predictions each, on one dataset;
  - no-ops (70 %): queued straight into the jobs table, as another service sharing the queue would.
Checked every round (the script exits 1 when one fails, so the CI test that runs it at a small size fails):
  - none lost: every submitted job is COMPLETED, and the jobs table holds exactly the submitted jobs;
  - none runs twice: every job was claimed once (`attempts` = 1) and reported `RUNNING` once on the feed;
  - every import's rows land (row count per measurement), every run save made one run;
  - one SSE client on each API process sees every kept event, in the same order (the same id sequence);
  - `GET /api/health` on every API process answered every probe (one every 200 ms) with 200.
With `--stall S`, the first worker process is stopped (SIGSTOP) for S seconds mid-round, as a starved machine
would stop it: its leases lapse (`--lease`, default 30 s), other workers take its jobs over, and it then wakes
up and finishes them late. Jobs may then run twice, but every other check must hold (no import's upload lost
to the late attempt, every job COMPLETED once in the store, identical feeds). Each process logs into the
round's folder; a failed round, or one with jobs run twice, prints what they logged about leases and the feed.
Prints jobs/s per round (best, median, worst) and the machine's load average at start and end. A round stops
(and fails) when the disk under the temp folder has less than --min-free-gb free.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from scale_questdb import CLOSE_IDLE, SMALL_PAGES, QuestDB, disk_bytes, private_questdb

from adapters.jobs.pg import asyncpg_dsn
from adapters.jobs.postgres_queue import PostgresJobQueue
from adapters.sql import migrate
from domain.jobs import Job, JobType

BIN = Path(sys.executable).parent
BARS_PER_IMPORT = 24
MEASUREMENTS = 4
START = 1_700_000_000


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set: source .testenv/env.sh after scripts/services.sh up")
    return value


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class Feed:
    """One SSE client: the kept events (those with an id) in the order it received them."""

    url: str
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    error: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def follow(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(10, read=30)) as client, client.stream(
                "GET", f"{self.url}/api/events", headers={"Last-Event-ID": "0"}
            ) as answer:
                answer.raise_for_status()
                event_id, kind, data = None, "", ""
                for line in answer.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("id:"):
                        event_id = int(line[3:].strip())
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data = line[5:].strip()
                    elif line == "" and data:
                        if event_id is not None:
                            self.events.append((event_id, kind, json.loads(data)))
                        event_id, kind, data = None, "", ""
        except Exception as exc:  # reported as a failed check, not a crash
            if not self.stop.is_set():
                self.error = repr(exc)


@dataclass
class Probe:
    """Health of one API process, asked every 200 ms."""

    url: str
    answered: int = 0
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(0.2):
                began = time.perf_counter()
                try:
                    answer = client.get(f"{self.url}/api/health")
                    if answer.status_code != 200:
                        self.failures.append(f"{answer.status_code} {answer.text[:200]}")
                    self.answered += 1
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                self.slowest = max(self.slowest, time.perf_counter() - began)


def environment(database_url: str, data_dir: Path, questdb: QuestDB, lease: float) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STAGE1_")}
    return env | {
        "STAGE1_JOB_LEASE_SECONDS": str(lease),
        "STAGE1_DATABASE_URL": database_url,
        "STAGE1_TIMESERIES": "questdb",
        "STAGE1_QUESTDB_HTTP_URL": questdb.http_url,
        "STAGE1_QUESTDB_PG_URL": questdb.pg_url,
        "STAGE1_AUTH_ENABLED": "false",
        "STAGE1_IN_PROCESS_WORKER": "false",
        "STAGE1_RATE_LIMIT_ENABLED": "false",
        # The processes stand for several machines sharing one upload volume.
        "STAGE1_UPLOAD_DIR": str(data_dir / "uploads"),
        "STAGE1_DATA_DIR": str(data_dir),
    }


@dataclass
class Started:
    """The round's processes: the API processes' URLs, the worker processes, and where each one logs."""

    urls: list[str]
    workers: list[subprocess.Popen[bytes]]
    logs: Path


@contextmanager
def processes(env: dict[str, str], servers: int, workers: int, concurrency: int, cwd: Path) -> Iterator[Started]:
    started: list[subprocess.Popen[bytes]] = []
    urls = []
    logs = cwd / "logs"
    logs.mkdir()

    def launch(command: list[str], name: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        started.append(process)
        return process

    try:
        for number in range(servers):
            port = free_port()
            urls.append(f"http://127.0.0.1:{port}")
            launch([str(BIN / "stage1"), "serve", "--port", str(port)], f"serve-{number}")
        worker_processes = [launch([str(BIN / "stage1"), "worker", "--concurrency", str(concurrency)], f"worker-{n}")
                            for n in range(workers)]
        deadline = time.monotonic() + 180
        for url in urls:
            while True:
                if any(process.poll() is not None for process in started):
                    raise SystemExit("a stage1 process exited during start-up")
                try:
                    if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not become healthy")
                time.sleep(0.2)
        yield Started(urls, worker_processes, logs)
    finally:
        for process in started:
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


# What the processes log about a job run twice or an event feed that skipped or waited: printed when a round fails.
NOTABLE = ("lease", "taken over", "heartbeat", "abandon", "skipping event", "listener failed", "attempt failed",
           "giving up", "crashed", "Traceback", "ERROR")


def notable_lines(logs: Path, limit: int = 40) -> list[str]:
    found = []
    for path in sorted(logs.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if any(word in line for word in NOTABLE):
                found.append(f"{path.stem}: {line[:400]}")
    return found[:limit] + ([f"... {len(found) - limit} more"] if len(found) > limit else [])


def stall(process: subprocess.Popen[bytes], after: float, seconds: float) -> None:
    """Stops a worker process mid-round for `seconds` (SIGSTOP, then SIGCONT), as a starved machine or a long
    pause would: its leases lapse, other workers take its jobs over, and then it wakes up and carries on."""
    time.sleep(after)
    if process.poll() is None:
        process.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        process.send_signal(signal.SIGCONT)


def bars(first: int) -> bytes:
    rows = "".join(f"{START + 3600 * (first + i)},1,2,0.5,1.5,10\n" for i in range(BARS_PER_IMPORT))
    return ("timestamp,open,high,low,close,volume\n" + rows).encode()


def predictions() -> str:
    rows = "".join(f"{START + 3600 * i},{i},1,0.5,1\n" for i in range(BARS_PER_IMPORT))
    return "timestamp,bar_index,fold_number,prediction,target\n" + rows


@dataclass
class Round:
    jobs: int
    seconds: float
    failures: list[str]
    events: int
    health_probes: int
    slowest_health_ms: float
    per_worker: list[int]
    tables: int = 0
    table_disk: int | None = None  # bytes the round's new QuestDB tables took, on a private QuestDB
    retaken: int = 0  # jobs claimed more than once (only allowed with --stall)


def check_disk(min_free_gb: float) -> None:
    free = shutil.disk_usage(tempfile.gettempdir()).free / 1e9
    if free < min_free_gb:
        raise RuntimeError(f"stopped: {free:.1f} GB free on disk, under --min-free-gb {min_free_gb}")


async def queue_noops(database_url: str, count: int) -> list[str]:
    queue = await PostgresJobQueue.connect(database_url, max_size=2)
    try:
        now = datetime.now(UTC)
        jobs = [Job.submit(uuid.uuid4(), JobType.NOOP, {}, now) for _ in range(count)]
        for start in range(0, count, 1000):
            await queue.enqueue_many(jobs[start:start + 1000])
        await queue.wake()
        return [str(job.job_id) for job in jobs]
    finally:
        await queue.close()


async def job_rows(database_url: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        sql = "SELECT job_id::text AS job_id, status, attempts, type, worker_id, result::text, error FROM stage1_jobs"
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def one_round(args: argparse.Namespace, server: str, questdb: QuestDB) -> Round:
    name = f"stage1_scale_{uuid.uuid4().hex[:10]}"
    database_url = migrate.create_database(server, name)
    tag = uuid.uuid4().hex[:8]
    measurements = [f"scale_{tag}_{number}" for number in range(MEASUREMENTS)]
    failures: list[str] = []
    questdb_http = questdb.http_url
    disk_before = disk_bytes(questdb.tables_folder) if questdb.tables_folder else 0
    try:
        migrate.upgrade(database_url)
        with tempfile.TemporaryDirectory(prefix="stage1-scale-") as folder, processes(
            environment(database_url, Path(folder), questdb, args.lease), args.servers, args.workers,
            args.concurrency, Path(folder)
        ) as started:
            urls = started.urls
            if args.stall:
                threading.Thread(target=stall, args=(started.workers[0], args.stall_after, args.stall),
                                 daemon=True).start()
            feeds = [Feed(url) for url in urls]
            probes = [Probe(url) for url in urls]
            threads = [threading.Thread(target=feed.follow, daemon=True) for feed in feeds]
            threads += [threading.Thread(target=probe.run, daemon=True) for probe in probes]
            for thread in threads:
                thread.start()
            slug = f"scale_{tag}"
            made = httpx.post(f"{urls[0]}/api/datasets", timeout=60, json={
                "dataset_slug": slug, "ohlcv_csv": bars(0).decode(), "record_questdb": True})
            if made.status_code != 201:
                raise SystemExit(f"the dataset for the run saves was refused: {made.status_code} {made.text}")
            imports = args.jobs // 10
            saves = args.jobs // 5
            noops = args.jobs - imports - saves

            def submit(number: int) -> str:
                if number % 100 == 0:
                    check_disk(args.min_free_gb)
                url = urls[number % len(urls)]
                if number < imports:
                    answer = httpx.post(f"{url}/api/questdb/import/async", content=bars(number * BARS_PER_IMPORT),
                                        params={"measurement": measurements[number % MEASUREMENTS], "kind": "ohlcv"},
                                        headers={"content-type": "text/csv"}, timeout=120)
                else:
                    answer = httpx.post(f"{url}/api/runs", params={"async": "true"}, timeout=120,
                                        json={"dataset_slug": slug, "predictions_csv": predictions()})
                if answer.status_code != 202:
                    raise RuntimeError(f"submission {number} answered {answer.status_code}: {answer.text[:300]}")
                return str(answer.json()["job_id"])

            began = time.perf_counter()
            order = list(range(imports + saves))
            random.shuffle(order)
            with ThreadPoolExecutor(8) as pool:
                noop_ids = pool.submit(asyncio.run, queue_noops(database_url, noops))
                queued = list(pool.map(submit, order))
                submitted = queued + noop_ids.result()
            job_of = dict(zip(order, queued, strict=True))
            deadline = time.monotonic() + args.max_seconds
            while True:
                rows = asyncio.run(job_rows(database_url))
                if all(row["status"] in ("COMPLETED", "FAILED", "CANCELLED") for row in rows):
                    break
                if time.monotonic() > deadline:
                    failures.append(f"not finished after {args.max_seconds} s")
                    break
                try:
                    check_disk(args.min_free_gb)
                except RuntimeError as exc:
                    failures.append(str(exc))
                    break
                time.sleep(0.2)
            seconds = time.perf_counter() - began

            by_id = {row["job_id"]: row for row in rows}
            if missing := set(submitted) - set(by_id):
                failures.append(f"{len(missing)} submitted jobs are not in the jobs table")
            if extra := set(by_id) - set(submitted):
                failures.append(f"{len(extra)} jobs in the table were never submitted")
            if bad := [row for row in rows if row["status"] != "COMPLETED"]:
                failures.append(f"{len(bad)} jobs did not complete, e.g. {dict(bad[0])}")
            # A stalled worker's jobs are taken over, so they run twice by design; their effects must not double.
            if (twice := [row for row in rows if row["attempts"] != 1]) and not args.stall:
                failures.append(f"{len(twice)} jobs were claimed more than once, e.g. {dict(twice[0])}")
            retaken = len(twice)

            with httpx.Client(base_url=questdb_http, timeout=60) as qdb:
                for number, measurement in enumerate(measurements):
                    expected = len(range(number, imports, MEASUREMENTS)) * BARS_PER_IMPORT
                    if not expected:
                        continue
                    # A finished job's rows are committed to QuestDB's WAL; the table shows them once applied.
                    settle = time.monotonic() + 30
                    while True:
                        query = {"query": f"SELECT count() FROM '{measurement}'"}
                        landed = qdb.get("/exec", params=query).json().get("dataset", [[None]])[0][0]
                        if landed == expected or time.monotonic() > settle:
                            break
                        time.sleep(0.2)
                    if landed != expected:
                        query = {"query": f"SELECT DISTINCT cast(timestamp AS long) / 1000000 FROM '{measurement}'"}
                        seen = {row[0] for row in qdb.get("/exec", params=query).json().get("dataset", [])}
                        lost = [n for n in range(number, imports, MEASUREMENTS)
                                if START + 3600 * n * BARS_PER_IMPORT not in seen]
                        results = [by_id[job_of[n]]["result"] for n in lost if job_of[n] in by_id]
                        failures.append(f"{measurement}: {landed} rows landed, {expected} expected; "
                                        f"imports {lost} missing, their jobs' results {results}")
            runs = httpx.get(f"{urls[1 % len(urls)]}/api/runs", timeout=60,
                             params={"dataset_slug": slug, "limit": 1, "count": "true"}).json()
            if runs.get("total") != saves:
                failures.append(f"{runs.get('total')} runs saved, {saves} expected")

            # Each feed has the final event of every job by now, or within a few seconds.
            wanted = len(submitted)
            settle = time.monotonic() + 30
            while time.monotonic() < settle:
                if all(len({e[2].get("job_id") for e in feed.events if e[2].get("status") == "COMPLETED"}) >= wanted
                       for feed in feeds):
                    break
                time.sleep(0.2)
            time.sleep(1)
            for probe in probes:
                probe.stop.set()
            for feed in feeds:
                feed.stop.set()
            for feed in feeds:
                if feed.error:
                    failures.append(f"the feed of {feed.url} broke: {feed.error}")
            first, *others = [[event[0] for event in feed.events] for feed in feeds]
            if first != sorted(first) or len(set(first)) != len(first):
                failures.append("the first feed's ids are not strictly increasing")
            for other in others:
                shared = min(len(first), len(other))
                if first[:shared] != other[:shared] or abs(len(first) - len(other)) > 0:
                    at = next((i for i in range(shared) if first[i] != other[i]), shared)
                    failures.append(f"the feeds differ: {len(first)} and {len(other)} events, first at {at}: "
                                    f"{first[max(0, at - 2):at + 3]} and {other[max(0, at - 2):at + 3]}")
            for feed in feeds:
                # Progress events repeat RUNNING; a second claim shows as a second start time or attempt.
                starts: dict[str, set[tuple[Any, Any]]] = {}
                completed: set[str] = set()
                for _, kind, data in feed.events:
                    if kind == "job.updated" and data.get("status") == "RUNNING":
                        starts.setdefault(data["job_id"], set()).add((data.get("started_at"), data.get("attempts")))
                    if kind == "job.updated" and data.get("status") == "COMPLETED":
                        completed.add(data["job_id"])
                if (twice_running := [job for job, seen in starts.items() if len(seen) > 1]) and not args.stall:
                    failures.append(f"{feed.url}: {len(twice_running)} jobs were started more than once")
                if unseen := set(submitted) - completed:
                    failures.append(f"{feed.url}: {len(unseen)} jobs never seen COMPLETED")
            for probe in probes:
                if probe.failures:
                    failures.append(f"{probe.url}/api/health failed {len(probe.failures)} times: {probe.failures[0]}")
            # A finished job no longer names its worker; its RUNNING event on the feed does.
            holders = {data["job_id"]: data.get("worker_id") for _, kind, data in feeds[0].events
                       if kind == "job.updated" and data.get("status") == "RUNNING"}
            per_worker: dict[str, int] = {}
            for holder in holders.values():
                per_worker[str(holder)] = per_worker.get(str(holder), 0) + 1
            with httpx.Client(base_url=questdb_http, timeout=60) as qdb:
                listed = qdb.get("/exec", params={"query": "SELECT table_name FROM tables()"}).json()
            tables = sum(1 for (table,) in listed.get("dataset", []) if table.startswith(f"scale_{tag}"))
            table_disk = disk_bytes(questdb.tables_folder) - disk_before if questdb.tables_folder else None
            if failures or retaken:
                failures_seen = "\n    ".join(notable_lines(started.logs)) or "(none)"
                print(f"  {retaken} jobs ran more than once; what the processes logged:\n    {failures_seen}",
                      flush=True)
            return Round(len(submitted), seconds, failures, len(first), sum(p.answered for p in probes),
                         1000 * max(p.slowest for p in probes), sorted(per_worker.values(), reverse=True),
                         tables, table_disk, retaken)
    finally:
        # Every measurement of the round (the imports' and the dataset's and runs' own) starts with its tag. The
        # database goes even when QuestDB does not answer (a stopped or stuck QuestDB must not leave it behind).
        try:
            with httpx.Client(base_url=questdb_http, timeout=60) as qdb:
                listed = qdb.get("/exec", params={"query": "SELECT table_name FROM tables()"}).json()
                for (table,) in listed.get("dataset", []):
                    if table.startswith(f"scale_{tag}"):
                        qdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS '{table}'"})
        finally:
            migrate.drop_database(server, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker process")
    parser.add_argument("--max-seconds", type=float, default=900)
    parser.add_argument("--out", type=Path, default=None, help="also write the report to OUT/scale.md")
    parser.add_argument("--questdb", choices=["private", "shared"], default="private",
                        help="start a QuestDB with small append pages for the run (default), or use the shared one")
    parser.add_argument("--default-pages", action="store_true",
                        help="the private QuestDB keeps its default page sizes (to measure a table's disk)")
    parser.add_argument("--min-free-gb", type=float, default=15, help="stop a round when the disk has less free")
    parser.add_argument("--lease", type=float, default=30.0, help="the workers' job lease in seconds")
    parser.add_argument("--stall", type=float, default=0.0,
                        help="stop the first worker process for this many seconds mid-round (a fault: its jobs are "
                             "taken over and run twice; every other check must still hold)")
    parser.add_argument("--stall-after", type=float, default=5.0, help="seconds into the round the stall begins")
    args = parser.parse_args()
    server = need("STAGE1_TEST_POSTGRES_URL")
    with contextlib.ExitStack() as stack:
        if args.questdb == "private":
            settings = CLOSE_IDLE | ({} if args.default_pages else SMALL_PAGES)
            questdb = stack.enter_context(private_questdb(need("STAGE1_TEST_QUESTDB_JAR"), settings))
            where = "a private QuestDB with " + ("default pages" if args.default_pages else "64 KB append pages")
        else:
            questdb = QuestDB(need("STAGE1_TEST_QUESTDB_HTTP"), need("STAGE1_TEST_QUESTDB_PG"), None)
            where = "the shared QuestDB"
        return run(args, server, questdb, where)


def run(args: argparse.Namespace, server: str, questdb: QuestDB, where: str) -> int:
    lines = [f"# Scale-out: {args.servers} serve + {args.workers} worker processes, {args.jobs} jobs a round, "
             f"on {where}", "", f"Load average at start: {load()} (1 / 5 / 15 min), {os.cpu_count()} cores", ""]
    rounds = []
    for number in range(args.rounds):
        result = one_round(args, server, questdb)
        rounds.append(result)
        verdict = "all checks passed" if not result.failures else "FAILED: " + "; ".join(result.failures)
        disk = ""
        if result.table_disk is not None and result.tables:
            disk = (f"QuestDB disk +{result.table_disk / 1e6:,.0f} MB for {result.tables} new tables "
                    f"({result.table_disk / result.tables / 1e6:.2f} MB each); ")
        lines.append(f"- round {number + 1}: {result.jobs} jobs in {result.seconds:.1f} s = "
                     f"{result.jobs / result.seconds:,.0f} jobs/s; {result.events} kept events on each feed; "
                     f"{result.health_probes} health probes, slowest {result.slowest_health_ms:.0f} ms; "
                     f"jobs per worker process {result.per_worker}; {result.retaken} jobs claimed more than once; "
                     f"{disk}{verdict}")
        print(lines[-1], flush=True)
    rates = sorted(r.jobs / r.seconds for r in rounds)
    lines += ["", "| jobs/s | best | median | worst |", "|---|---:|---:|---:|",
              f"| stage1 ({args.servers} serve + {args.workers} workers x {args.concurrency}) | {rates[-1]:,.0f} | "
              f"{statistics.median(rates):,.0f} | {rates[0]:,.0f} |", "",
              f"Load average at end: {load()}"]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.md").write_text(report)
    return 1 if any(r.failures for r in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
