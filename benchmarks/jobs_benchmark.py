"""Job queue benchmark: pickup latency and throughput of no-op jobs on Postgres, several ways.

    python benchmarks/jobs_benchmark.py [--jobs 20000] [--latency-jobs 150] [--workers 2]

Needs STAGE1_TEST_POSTGRES_URL (a server where the user may CREATE DATABASE; starts nothing itself).
Works in a fresh database it drops afterwards. Each system gets the same treatment, one after the other:
`--workers` worker OS processes, then

  1. pickup latency: `--latency-jobs` jobs enqueued one at a time, 50-150 ms apart (so the workers are
     idle when each arrives); latency = handler start - moment the enqueue call began;
  2. throughput: `--jobs` jobs enqueued in batches of 2000; throughput = jobs / (time from the first
     enqueue until the store shows every job done).

Each system runs `--rounds` times, alternating; the table pools the latencies and shows the median
throughput, because the machine is shared and one round can catch someone else's load; below it, each
system's best, median and worst round, stage1's ratio to pgqueuer round by round, stage1's pickup p50/p99
in each round (the pickup goal counts each round as one run), and the load average at start and end.

Then, per round, what Postgres did in the throughput phase (see Sampler): row versions, CPU per 1,000 jobs,
wait events and which statements were running; for stage1 also the plan column: the indexes each hot
statement's generic plan reads at the start of the phase (what a worker connection would cache if the queue
did not plan each call; "(whole)" marks an index read from end to end), the claim's plan and cost timed
from the side (EXPLAIN ANALYZE, rolled back) and, from the workers, their claims, waits and finishes with
their latencies. `--auto-explain-ms N` also logs the plan of each statement slower than
N ms in this database to the server's log (auto_explain; N = 0 logs every statement's duration instead).

Systems:
  stage1    this project's queue (adapters/jobs/postgres_queue.py + application/worker.py): LISTEN/NOTIFY
            wake-ups, SKIP LOCKED batch claims, events rows for SSE, leases and heartbeats.
  polling   a re-implementation of the previous backend's model: each worker claims one job
            (UPDATE .. WHERE job_id = (SELECT .. ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)),
            runs it, marks it COMPLETED, sleeps 100 ms; with nothing to do it sleeps 500 ms. It cannot
            finish 20,000 jobs in a bounded run, so its throughput is measured over `--polling-window` s.
  pgqueuer  the pgqueuer library's own QueueManager worker (batch_size=`--batch`), same no-op jobs.
  pgqueuer_tuned  the same, with the planner settings stage1's queue pool uses (adapters/jobs/pg.py
            QUEUE_SESSION), to tell the two queue designs apart from those settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg

from adapters.jobs.pg import QUEUE_SESSION, asyncpg_dsn
from adapters.jobs.postgres_queue import _CLAIM_ANY, _FINISH_MANY, _HEARTBEAT, _PROGRESS, PostgresJobQueue
from adapters.sql import migrate
from application.job_registry import JobHandlers, ProgressReporter
from application.worker import Worker
from domain.jobs import Job

SYSTEMS = ("stage1", "polling", "pgqueuer", "pgqueuer_tuned")
BULK_CHUNK = 2000


# ---------------------------------------------------------------- worker processes


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Recorder:
    """Handler start times by job token, written to a JSON file when the worker stops, with the worker's
    counters (claims, short claims, waits for work and the seconds spent in them)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.started: dict[str, float] = {}
        self.calls: dict[str, list[tuple[float, float, int]]] = {}  # (wall time began, seconds, jobs) per call

    def mark(self, token: str) -> None:
        self.started[token] = time.time()

    def call(self, name: str, began: float, jobs: int = 0) -> None:
        self.calls.setdefault(name, []).append((began, time.time() - began, jobs))

    def save(self) -> None:
        Path(self.path).write_text(json.dumps({"started": self.started, "calls": self.calls}))


class CountingQueue(PostgresJobQueue):
    """stage1's queue, counting what the worker asks of it: where a slow round's time goes on the worker side."""

    recorder: Recorder

    async def claim_batch(self, worker_id: str, types: Any, lease: timedelta, limit: int) -> list[Job]:
        began = time.time()
        batch = await super().claim_batch(worker_id, types, lease, limit)
        self.recorder.call("claim" if len(batch) == limit else "short claim", began, len(batch))
        return batch

    async def wait_for_work(self, timeout: float) -> None:
        began = time.time()
        await super().wait_for_work(timeout)
        self.recorder.call("wait", began)

    async def finish(self, job: Job, worker_id: str) -> bool:
        began = time.time()
        try:
            return await super().finish(job, worker_id)
        finally:
            self.recorder.call("finish", began, 1)


async def stage1_worker(args: argparse.Namespace, recorder: Recorder) -> None:
    queue = await CountingQueue.connect(args.url, max_size=4)
    assert isinstance(queue, CountingQueue)
    queue.recorder = recorder
    handlers = JobHandlers()

    @handlers.register("noop")
    async def noop(job: Job, progress: ProgressReporter) -> dict[str, Any]:
        recorder.mark(job.payload["k"])
        return {}

    worker = Worker(
        queue, handlers, f"bench-{os.getpid()}", clock=_Clock(), concurrency=args.concurrency,
        lease=timedelta(seconds=30), grace=5,
    )
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.stop)
    await queue.wait_for_work(0)
    print("ready", flush=True)
    await worker.run()
    await queue.close()


POLL_CLAIM = """
UPDATE stage1_jobs SET status = 'RUNNING', started_at = now(), updated_at = now(), worker_id = $1,
    attempts = attempts + 1
WHERE job_id = (
    SELECT job_id FROM stage1_jobs WHERE status = 'PENDING' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED
)
RETURNING job_id, payload::text
"""
POLL_COMPLETE = """
UPDATE stage1_jobs SET status = 'COMPLETED', completed_at = now(), updated_at = now(), result = '{}'
WHERE job_id = $1
"""


async def polling_worker(args: argparse.Namespace, recorder: Recorder) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(args.url))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    name = f"poll-{os.getpid()}"
    print("ready", flush=True)
    while not stop.is_set():
        row = await conn.fetchrow(POLL_CLAIM, name)
        if row is not None:
            recorder.mark(json.loads(row["payload"])["k"])
            await conn.execute(POLL_COMPLETE, row["job_id"])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1 if row is not None else 0.5)
    await conn.close()


async def pgqueuer_worker(args: argparse.Namespace, recorder: Recorder) -> None:
    from pgqueuer import Queries, QueueManager
    from pgqueuer.db import AsyncpgDriver

    settings = dict(QUEUE_SESSION) if args.worker == "pgqueuer_tuned" else {}
    conn = await asyncpg.connect(asyncpg_dsn(args.url), server_settings=settings)
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("noop")
    async def noop(job: Any) -> None:
        recorder.mark(json.loads(job.payload)["k"])

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, qm.shutdown.set)
    print("ready", flush=True)
    await qm.run(batch_size=args.batch)
    await conn.close()


def worker_main(args: argparse.Namespace) -> None:
    recorder = Recorder(args.out)
    run: Callable[[argparse.Namespace, Recorder], Awaitable[None]] = {
        "stage1": stage1_worker, "polling": polling_worker, "pgqueuer": pgqueuer_worker,
        "pgqueuer_tuned": pgqueuer_worker,
    }[args.worker]
    try:
        asyncio.run(run(args, recorder))
    finally:
        recorder.save()


# ---------------------------------------------------------------- producers and progress checks


class Producer:
    """Enqueues no-op jobs into one system and tells when all of them are done."""

    def __init__(self, system: str, url: str) -> None:
        self.system = system
        self.url = url
        self.queue: PostgresJobQueue | None = None
        self.conn: asyncpg.Connection | None = None
        self.pgq: Any = None

    async def open(self) -> None:
        self.conn = await asyncpg.connect(asyncpg_dsn(self.url))
        if self.system == "stage1":
            self.queue = await PostgresJobQueue.connect(self.url, max_size=2)
        elif self.system.startswith("pgqueuer"):
            from pgqueuer import Queries
            from pgqueuer.db import AsyncpgDriver

            self.pgq_conn = await asyncpg.connect(asyncpg_dsn(self.url))
            self.pgq = Queries(AsyncpgDriver(self.pgq_conn))

    async def close(self) -> None:
        if self.queue is not None:
            await self.queue.close()
        if self.conn is not None:
            await self.conn.close()
        if self.pgq is not None:
            await self.pgq_conn.close()

    async def enqueue(self, tokens: list[str]) -> None:
        if self.system == "stage1":
            assert self.queue is not None
            jobs = [Job.submit(uuid4(), "noop", {"k": t}, datetime.now(UTC)) for t in tokens]
            if len(jobs) == 1:
                await self.queue.enqueue(jobs[0])
            else:
                await self.queue.enqueue_many(jobs)
        elif self.system.startswith("pgqueuer"):
            payloads = [json.dumps({"k": t}).encode() for t in tokens]
            if len(tokens) == 1:
                await self.pgq.enqueue("noop", payloads[0])
            else:
                await self.pgq.enqueue(["noop"] * len(tokens), payloads, [0] * len(tokens))
        else:
            assert self.conn is not None
            now = datetime.now(UTC)
            await self.conn.execute(
                "INSERT INTO stage1_jobs (job_id, type, status, payload, created_at, updated_at, run_after) "
                "SELECT id, 'noop', 'PENDING', p::jsonb, $3, $3, $3 FROM unnest($1::uuid[], $2::text[]) AS t(id, p)",
                [uuid4() for _ in tokens], [json.dumps({"k": t}) for t in tokens], now,
            )

    async def remaining(self) -> int:
        assert self.conn is not None
        if self.system.startswith("pgqueuer"):
            return int(await self.conn.fetchval("SELECT count(*) FROM pgqueuer"))
        return int(await self.conn.fetchval(
            "SELECT count(*) FROM stage1_jobs WHERE status IN ('PENDING', 'RUNNING')"
        ))

    async def done(self) -> int:
        assert self.conn is not None
        if self.system.startswith("pgqueuer"):
            return -1
        return int(await self.conn.fetchval("SELECT count(*) FROM stage1_jobs WHERE status = 'COMPLETED'"))


# ---------------------------------------------------------------- one system's run


@dataclass
class Result:
    system: str
    workers: int
    latencies_ms: list[float]
    throughput: float
    completed: int
    elapsed: float
    enqueue_s: float
    note: str = ""
    rates: tuple[float, ...] = ()  # each round's jobs/s, in round order
    pickups: tuple[tuple[float, float], ...] = ()  # each round's pickup (p50, p99) in ms, in round order
    stats: str = ""  # what Postgres did during the throughput phase (see Sampler)

    def pct(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def merge(rounds: list[Result]) -> Result:
    """Latencies pooled over the rounds; throughput their median (each round's in the note)."""
    rates = [r.throughput for r in rounds]
    pickups = tuple((r.pct(0.5), r.pct(0.99)) for r in rounds)
    if len(rounds) == 1:
        rounds[0].rates, rounds[0].pickups = tuple(rates), pickups
        return rounds[0]
    note = "rounds: " + ", ".join(f"{rate:.0f}" for rate in rates) + " jobs/s"
    notes = "; ".join(r.note for r in rounds if r.note)
    return Result(
        rounds[0].system, rounds[0].workers, [ms for r in rounds for ms in r.latencies_ms],
        statistics.median(rates), min(r.completed for r in rounds),
        statistics.median(r.elapsed for r in rounds), statistics.median(r.enqueue_s for r in rounds),
        f"{note}; {notes}" if notes else note, tuple(rates), pickups,
    )


class Sampler:
    """What Postgres did while one throughput phase ran, to tell a slow round's cause from the others:
    the tables' row versions (updates, how many were heap-only, dead ones left, autovacuum and autoanalyze
    runs), checkpoints and the buffers written by them and by backends, and the wait events of this
    database's backends sampled every `every` seconds (share of samples, CPU when none), beside the number
    of active backends in other databases (the outside load)."""

    TABLES = """
        SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, autovacuum_count, autoanalyze_count
        FROM pg_stat_user_tables"""
    BGWRITER = "SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend FROM pg_stat_bgwriter"
    ACTIVITY = """
        SELECT datname = current_database() AS ours, backend_type, wait_event_type, wait_event,
            left(query, 400) AS query
        FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
            AND backend_type IN ('client backend', 'autovacuum worker')"""

    BACKENDS = """
        SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'
            AND pid <> pg_backend_pid()"""

    # Transactions (nearly all one statement each) per job: how well claims and finishes were batched.
    COMMITS = "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"

    def __init__(self, url: str, worker_pids: list[int], every: float = 0.05, explain: str | None = None) -> None:
        self.url = url
        self.explain = explain  # a read-only twin of the system's claim, timed with EXPLAIN ANALYZE now and then
        # (plan shape, buffers touched, ms, own ms per node) per EXPLAIN
        self.plans: list[tuple[str, int, float, dict[str, float]]] = []
        self.explain_task: asyncio.Task[None] | None = None
        self.generic = ""
        self.worker_pids = worker_pids
        self.every = every
        # CPU seconds used so far by each worker process and each of this database's backends (when Postgres runs
        # on this machine): the cost per job, which outside load does not change as it changes the wall time.
        self.cpu_before: dict[int, float] = {}
        self.commits_before = 0
        self.conn: asyncpg.Connection | None = None
        self.task: asyncio.Task[None] | None = None
        self.waits: dict[str, int] = {}
        self.statements: dict[str, int] = {}  # active backends per statement kind, summed over the samples
        self.samples = 0
        self.busy = 0  # samples with at least one of our backends active
        self.vacuuming = 0  # samples with an autovacuum worker in our database
        self.outside = 0  # active backends in other databases, summed over the samples
        self.tables_before: dict[str, asyncpg.Record] = {}
        self.bgwriter_before: asyncpg.Record | None = None

    async def start(self) -> None:
        self.conn = await asyncpg.connect(asyncpg_dsn(self.url))
        if self.explain is not None:
            self.generic = await generic_plans(self.url)
        self.tables_before = await self._tables()
        self.bgwriter_before = await self.conn.fetchrow(self.BGWRITER)
        self.cpu_before = {pid: cpu_seconds(pid) for pid in self.worker_pids + await self._backends()}
        self.commits_before = await self.conn.fetchval(self.COMMITS)
        self.task = asyncio.create_task(self._sample())
        if self.explain is not None:
            self.explain_task = asyncio.create_task(self._explain(self.explain))

    async def _backends(self) -> list[int]:
        assert self.conn is not None
        return [row["pid"] for row in await self.conn.fetch(self.BACKENDS)]

    async def _tables(self) -> dict[str, asyncpg.Record]:
        assert self.conn is not None
        await self.conn.execute("SELECT pg_stat_clear_snapshot()")
        return {row["relname"]: row for row in await self.conn.fetch(self.TABLES)}

    async def _sample(self) -> None:
        assert self.conn is not None
        while True:
            rows = await self.conn.fetch(self.ACTIVITY)
            self.samples += 1
            ours = [row for row in rows if row["ours"]]
            self.busy += bool(ours)
            self.vacuuming += any(row["backend_type"] == "autovacuum worker" for row in ours)
            self.outside += sum(1 for row in rows if not row["ours"])
            for row in ours:
                if row["backend_type"] == "client backend":
                    what = f"{row['wait_event_type']}:{row['wait_event']}" if row["wait_event"] else "CPU"
                    self.waits[what] = self.waits.get(what, 0) + 1
                    kind = statement_kind(row["query"] or "")
                    self.statements[kind] = self.statements.get(kind, 0) + 1
            await asyncio.sleep(self.every)

    async def _explain(self, sql: str) -> None:
        # Its own connection with the queue's planner settings: the plan the workers' claim gets now. The
        # claim runs for real (it locks and updates up to 10 jobs) in a transaction that is rolled back.
        conn = await asyncpg.connect(asyncpg_dsn(self.url), server_settings=dict(QUEUE_SESSION))
        try:
            while True:
                await asyncio.sleep(0.25)
                tx = conn.transaction()
                await tx.start()
                try:
                    found = await conn.fetchval(
                        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", "bench-probe", timedelta(seconds=30), 10
                    )
                finally:
                    await tx.rollback()
                plan = json.loads(found)[0]
                self.plans.append((plan_shape(plan["Plan"]), plan_buffers(plan["Plan"]), plan["Execution Time"],
                                   plan_times(plan["Plan"])))
        finally:
            await conn.close()

    def plan_summary(self) -> str:
        if not self.plans:
            return ""
        shapes: dict[str, list[tuple[int, float, dict[str, float]]]] = {}
        for shape, buffers, ms, times in self.plans:
            shapes.setdefault(shape, []).append((buffers, ms, times))
        parts = []
        for shape, seen in shapes.items():
            nodes = sorted({name for _, _, times in seen for name in times})
            own = ", ".join(
                f"{name} {statistics.median(times.get(name, 0.0) for _, _, times in seen):.2f}" for name in nodes
            )
            parts.append(
                f"{len(seen)}x {shape}, buffers median {statistics.median(b for b, _, _ in seen):.0f} max "
                f"{max(b for b, _, _ in seen)}, ms median {statistics.median(ms for _, ms, _ in seen):.2f} max "
                f"{max(ms for _, ms, _ in seen):.2f}; median own ms per node: {own}"
            )
        return "claim plans (the claim, rolled back, EXPLAIN ANALYZE every 0.25 s): " + "; ".join(parts)

    async def stop(self, jobs: int) -> str:
        assert self.conn is not None and self.task is not None and self.bgwriter_before is not None
        for task in (self.task, self.explain_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        workers_cpu = sum(cpu_seconds(pid) - self.cpu_before.get(pid, 0.0) for pid in self.worker_pids)
        backends = set(await self._backends()) | (set(self.cpu_before) - set(self.worker_pids))
        postgres_cpu = sum(cpu_seconds(pid) - self.cpu_before.get(pid, 0.0) for pid in backends)
        await asyncio.sleep(1.1)  # backends flush their counters at most once a second (PG 15)
        await self.conn.execute("SELECT pg_stat_clear_snapshot()")
        commits = await self.conn.fetchval(self.COMMITS) - self.commits_before
        after = await self._tables()
        bgwriter = await self.conn.fetchrow(self.BGWRITER)
        await self.conn.close()
        parts = []
        for name, row in sorted(after.items()):
            was = self.tables_before.get(name)
            delta = {key: value - (was[key] if was else 0) for key, value in row.items() if key != "relname"}
            if not delta["n_tup_ins"] and not delta["n_tup_upd"]:
                continue
            hot = delta["n_tup_hot_upd"] / delta["n_tup_upd"] if delta["n_tup_upd"] else 0.0
            parts.append(f"{name} +{delta['n_tup_ins']} ins +{delta['n_tup_upd']} upd ({hot:.0%} HOT), "
                         f"{row['n_dead_tup']} dead, autovacuum +{delta['autovacuum_count']}, "
                         f"autoanalyze +{delta['autoanalyze_count']}")
        checkpoints = {key: value - self.bgwriter_before[key] for key, value in bgwriter.items()}
        parts.append(f"checkpoints +{checkpoints['checkpoints_timed']} timed +{checkpoints['checkpoints_req']} "
                     f"requested, buffers written by checkpoints +{checkpoints['buffers_checkpoint']}, "
                     f"by backends +{checkpoints['buffers_backend']}")
        per_job = 1000 / max(jobs, 1)
        parts.append(f"CPU per 1,000 jobs: worker processes {workers_cpu * per_job:.2f} s, this database's "
                     f"backends {postgres_cpu * per_job:.2f} s; {commits * per_job:,.0f} transactions (with the "
                     "benchmark's own two polls every 50 ms)")
        samples = max(self.samples, 1)
        waits = sorted(self.waits.items(), key=lambda item: -item[1])[:6]
        parts.append(f"{self.samples} samples: our backends active in {self.busy / samples:.0%}, autovacuum "
                     f"in {self.vacuuming / samples:.0%}; waits per sample " + ", ".join(
                         f"{what} {count / samples:.2f}" for what, count in waits)
                     + "; active statements per sample " + ", ".join(
                         f"{what} {count / samples:.2f}"
                         for what, count in sorted(self.statements.items(), key=lambda item: -item[1])[:6])
                     + f"; other databases' active backends {self.outside / samples:.1f}")
        if self.generic:
            parts.append(self.generic)
        if self.plans:
            parts.append(self.plan_summary())
        return "; ".join(parts)


# stage1's claim of up to 10 jobs, timed from the side in a transaction that is rolled back.
CLAIM_TWIN = _CLAIM_ANY

STATEMENT_KINDS = (
    # (words in the statement, its name): the first that matches names it; stage1's and pgqueuer's
    ("SET status = 'RUNNING'", "claim"),
    ("AS i(job_id", "finish"),
    ("SET progress", "progress"),
    ("INSERT INTO stage1_jobs", "enqueue"),
    ("min(run_after)", "next-due"),
    ("lease_expires_at = now() +", "heartbeat"),
    ("count(*) FROM stage1_jobs", "bench-poll"),
    ("count(*) FROM pgqueuer", "bench-poll"),
    ("available AS", "pgq-dequeue"),
    ("job_status AS", "pgq-finish"),
    ("WITH input AS MATERIALIZED", "pgq-enqueue"),
)


def plan_shape(node: dict[str, Any]) -> str:
    """`Limit > LockRows > Index Scan ix_claim`: the nodes of a plan, outermost first (children in brackets)."""
    name = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "")
    children = [plan_shape(child) for child in node.get("Plans", [])]
    if not children:
        return name
    return f"{name} > {children[0]}" if len(children) == 1 else f"{name} > ({', '.join(children)})"


# stage1's hot statements by a job's id, with the argument count each is prepared with.
BY_ID = {"claim": (_CLAIM_ANY, 3), "finish": (_FINISH_MANY, 15), "heartbeat": (_HEARTBEAT, 3),
         "progress": (_PROGRESS, 5)}


async def generic_plans(url: str) -> str:
    """The indexes of `stage1_jobs` each hot statement's generic plan reads, planned with the statistics of now
    (the start of a throughput phase, right after the pickup phase), as a worker connection would cache it if
    the queue did not plan each call (adapters/jobs/pg.py QUEUE_SESSION)."""
    settings = dict(QUEUE_SESSION, plan_cache_mode="force_generic_plan")
    conn = await asyncpg.connect(asyncpg_dsn(url), server_settings=settings)
    try:
        found = []
        for name, (sql, count) in BY_ID.items():
            await conn.execute(f"PREPARE bench_{name} AS {sql}")
            plan = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) EXECUTE bench_{name}({', '.join(['NULL'] * count)})"
            )
            indexes = sorted(set(plan_indexes(json.loads(plan)[0]["Plan"])))
            found.append(f"{name} {'+'.join(indexes) or 'no index'}")
        return "indexes a generic plan made now reads: " + ", ".join(found)
    finally:
        await conn.close()


def plan_indexes(node: dict[str, Any]) -> list[str]:
    """The scans of `stage1_jobs` in a plan by index; `(whole)` after one read from end to end (no condition)."""
    own = []
    if node.get("Relation Name") == "stage1_jobs" and node["Node Type"].endswith("Scan"):
        own = [node.get("Index Name", node["Node Type"]) + ("" if "Index Cond" in node else " (whole)")]
    return own + [name for child in node.get("Plans", []) for name in plan_indexes(child)]


def plan_times(node: dict[str, Any], into: dict[str, float] | None = None) -> dict[str, float]:
    """Milliseconds spent in each node itself (its time less its children's), by node name."""
    into = {} if into is None else into
    children = node.get("Plans", [])
    own = node.get("Actual Total Time", 0.0) * node.get("Actual Loops", 1) - sum(
        child.get("Actual Total Time", 0.0) * child.get("Actual Loops", 1) for child in children
    )
    name = node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else "")
    into[name] = into.get(name, 0.0) + max(own, 0.0)
    for child in children:
        plan_times(child, into)
    return into


def plan_buffers(node: dict[str, Any]) -> int:
    return int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))


def statement_kind(query: str) -> str:
    return next((name for words, name in STATEMENT_KINDS if words in query), "other")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process on this machine so far (0 when it is gone or elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latency_phase(producer: Producer, count: int, rng: random.Random) -> dict[str, float]:
    began: dict[str, float] = {}
    for i in range(count):
        token = f"L{i}"
        began[token] = time.time()
        await producer.enqueue([token])
        await asyncio.sleep(rng.uniform(0.05, 0.15))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not await producer.remaining():
            break
        await asyncio.sleep(0.05)
    print(f"  latency phase done, {await producer.remaining()} left", file=sys.stderr, flush=True)
    return began


async def throughput_phase(
    producer: Producer, jobs: int, window: float, sampler: Sampler
) -> tuple[float, int, float, str, tuple[float, float]]:
    """(elapsed seconds, jobs done, seconds spent enqueueing, what Postgres did meanwhile, wall clock span)."""
    tokens = [f"T{i}" for i in range(jobs)]
    await sampler.start()
    wall_start = time.time()
    started = time.monotonic()
    for start in range(0, jobs, BULK_CHUNK):
        await producer.enqueue(tokens[start : start + BULK_CHUNK])
    enqueue_s = time.monotonic() - started
    while await producer.remaining():
        if time.monotonic() - started > window:
            break
        await asyncio.sleep(0.05)
    elapsed = time.monotonic() - started
    span = (wall_start, time.time())
    left = await producer.remaining()
    stats = await sampler.stop(jobs - left)
    return elapsed, jobs - left, enqueue_s, stats, span


def worker_calls(calls: dict[str, list[list[float]]], span: tuple[float, float]) -> str:
    """What stage1's workers asked of the queue within the throughput phase, summed over the workers."""
    parts = []
    for name in ("claim", "short claim", "wait", "finish"):
        inside = [(dt, jobs) for began, dt, jobs in calls.get(name, []) if span[0] <= began <= span[1]]
        if not inside:
            continue
        seconds = [dt for dt, _ in inside]
        jobs = f", {sum(n for _, n in inside):.0f} jobs" if name.endswith("claim") else ""
        parts.append(f"{len(inside)} {name}s{jobs}, {sum(seconds):.2f} s in all, median "
                     f"{statistics.median(seconds) * 1000:.1f} ms")
    return "workers: " + "; ".join(parts) if parts else ""


def run_system(system: str, url: str, args: argparse.Namespace, workdir: Path) -> Result:
    asyncio.run(_reset(url))
    procs: list[tuple[subprocess.Popen[str], Path]] = []
    try:
        return _drive_system(system, url, args, workdir, procs)
    finally:
        # Also when the driver failed: no worker process outlives the run (or its dropped database).
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _drive_system(
    system: str, url: str, args: argparse.Namespace, workdir: Path, procs: list[tuple[subprocess.Popen[str], Path]]
) -> Result:
    for i in range(args.workers):
        out = workdir / f"{system}-{i}.json"
        cmd = [
            sys.executable, __file__, "--worker", system, "--url", url, "--out", str(out),
            "--concurrency", str(args.concurrency), "--batch", str(args.batch),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"{system} worker did not start: {line}{proc.stdout.read()}")
        procs.append((proc, out))
    time.sleep(1.0)  # let every worker reach its first wait

    async def drive() -> tuple[dict[str, float], tuple[float, int, float, str, tuple[float, float]]]:
        producer = Producer(system, url)
        await producer.open()
        try:
            began = await latency_phase(producer, args.latency_jobs, random.Random(7))
            window = args.polling_window if system == "polling" else args.max_seconds
            sampler = Sampler(url, [p.pid for p, _ in procs], explain=CLAIM_TWIN if system == "stage1" else None)
            return began, await throughput_phase(producer, args.jobs, window, sampler)
        finally:
            await producer.close()

    load = "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    began, (elapsed, completed, enqueue_s, stats, span) = asyncio.run(drive())
    print(f"  {system}: {completed} jobs in {elapsed:.1f} s = {completed / elapsed:.0f} jobs/s ({load}); {stats}",
          file=sys.stderr, flush=True)
    started: dict[str, float] = {}
    calls: dict[str, list[list[float]]] = {}
    for proc, _ in procs:
        proc.send_signal(signal.SIGTERM)
    for proc, out in procs:
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        if out.exists():
            saved = json.loads(out.read_text())
            started.update(saved["started"])
            for name, seen in saved["calls"].items():
                calls.setdefault(name, []).extend(seen)
    if calls:
        stats = f"{stats}; {worker_calls(calls, span)}"
    latencies = [(started[t] - began[t]) * 1000 for t in began if t in started]
    note = "" if completed == args.jobs else f"{completed} of {args.jobs} done in the {elapsed:.0f} s window"
    return Result(system, args.workers, latencies, completed / elapsed, completed, elapsed, enqueue_s, note,
                  stats=f"{load} at start; {stats}")


async def _reset(url: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("TRUNCATE stage1_jobs, stage1_events RESTART IDENTITY")
        await conn.execute("VACUUM ANALYZE stage1_jobs")
        if await conn.fetchval("SELECT to_regclass('pgqueuer') IS NOT NULL"):
            await conn.execute("TRUNCATE pgqueuer, pgqueuer_log")
            await conn.execute("VACUUM ANALYZE pgqueuer")
    finally:
        await conn.close()


# ---------------------------------------------------------------- database setup and report


async def _create_database(server: str, name: str) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = server.rpartition("/")
    return f"{base}/{name}"


async def _drop_database(server: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(server))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _install_pgqueuer(url: str) -> None:
    from pgqueuer import Queries
    from pgqueuer.db import AsyncpgDriver

    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await Queries(AsyncpgDriver(conn)).install()
    finally:
        await conn.close()


async def _auto_explain(url: str, name: str, ms: float) -> None:
    """The plan of each statement slower than `ms` (every statement's duration when `ms` is 0) goes to the
    server's log, for this benchmark's database only."""
    settings = [("session_preload_libraries", "auto_explain"), ("auto_explain.log_min_duration", f"{ms}ms"),
                ("auto_explain.log_analyze", "on"), ("auto_explain.log_timing", "off"),
                ("auto_explain.log_buffers", "on")]
    if ms == 0:
        settings = [("log_min_duration_statement", "0")]
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for setting, value in settings:
            await conn.execute(f'ALTER DATABASE "{name}" SET {setting} = \'{value}\'')
    finally:
        await conn.close()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def report(results: list[Result], args: argparse.Namespace) -> str:
    base = next(r for r in results if r.system == "stage1")
    lines = [
        f"{args.rounds} round(s); per round {args.latency_jobs} latency jobs (one at a time, 50-150 ms apart), "
        f"{args.jobs} throughput jobs, "
        f"{args.workers} worker processes each; pgqueuer {_version('pgqueuer')}, "
        f"stage1 concurrency {args.concurrency}, pgqueuer batch_size {args.batch}",
        "",
        f"{'system':<14} | {'p50 ms':>8} | {'p99 ms':>8} | {'jobs/s':>8} | {'done':>6} | {'p50 x':>7} | "
        f"{'p99 x':>7} | {'jobs/s x':>8} | note",
        "-" * 100,
    ]
    for r in results:
        lines.append(
            f"{r.system:<14} | {r.pct(0.5):8.2f} | {r.pct(0.99):8.2f} | {r.throughput:8.0f} | {r.completed:>6} | "
            f"{r.pct(0.5) / base.pct(0.5):7.1f} | {r.pct(0.99) / base.pct(0.99):7.1f} | "
            f"{r.throughput / base.throughput:8.3f} | {r.note}"
        )
    lines.append("(x columns: the system's value divided by stage1's)")
    lines.append(
        f"goal p50 < 5 ms: {'met' if base.pct(0.5) < 5 else 'MISSED'} ({base.pct(0.5):.2f} ms); "
        f"goal p99 < 50 ms: {'met' if base.pct(0.99) < 50 else 'MISSED'} ({base.pct(0.99):.2f} ms)"
    )
    # The goal is per run: each round's latency phase is one run of `--latency-jobs` pickups.
    runs_met = sum(1 for p50, p99 in base.pickups if p50 < 5 and p99 < 50)
    lines.append(
        "stage1 pickup per run (p50/p99 ms): " + ", ".join(f"{p50:.2f}/{p99:.2f}" for p50, p99 in base.pickups)
        + f"; goal p50 < 5 and p99 < 50 met in {runs_met} of {len(base.pickups)} runs"
    )
    for r in results:
        if r.rates:
            lines.append(f"{r.system}: jobs/s best {max(r.rates):.0f}, median {statistics.median(r.rates):.0f}, "
                         f"worst {min(r.rates):.0f}")
    for pgq in (r for r in results if r.system.startswith("pgqueuer")):
        # Rounds alternate the systems, so round i of each ran under about the same outside load.
        per_round = [own / other for own, other in zip(base.rates, pgq.rates, strict=False)]
        lowest = min(per_round) if per_round else float("nan")
        met = "met" if base.throughput >= pgq.throughput else "MISSED"
        lines.append(
            f"goal throughput >= {pgq.system} in the median: {met} "
            f"({base.throughput:.0f} vs {pgq.throughput:.0f} jobs/s); goal no round below 0.8x: "
            f"{'met' if lowest >= 0.8 else 'MISSED'} (round ratios "
            + ", ".join(f"{ratio:.2f}" for ratio in per_round) + ")"
        )
    for r in results:
        lines.append(f"{r.system}: enqueue of {args.jobs} took {r.enqueue_s:.2f} s, whole phase {r.elapsed:.2f} s, "
                     f"latency samples {len(r.latencies_ms)}, mean {statistics.fmean(r.latencies_ms or [0]):.2f} ms")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--latency-jobs", type=int, default=150)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=10, help="stage1 jobs in flight per worker")
    parser.add_argument("--batch", type=int, default=10, help="pgqueuer batch_size")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--polling-window", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each system, alternated")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap on one throughput phase")
    parser.add_argument("--auto-explain-ms", type=float, default=None,
                        help="log the plan of every statement slower than this to the server's log (auto_explain)")
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return

    server = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    if not server:
        raise SystemExit("set STAGE1_TEST_POSTGRES_URL (e.g. source .testenv/env.sh after scripts/services.sh up)")
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    name = f"stage1_bench_{secrets.token_hex(4)}"
    url = asyncio.run(_create_database(server, name))
    try:
        migrate.upgrade(url)
        if args.auto_explain_ms is not None:
            asyncio.run(_auto_explain(url, name, args.auto_explain_ms))
        if any(system.startswith("pgqueuer") for system in args.systems.split(",")):
            asyncio.run(_install_pgqueuer(url))  # pip install pgqueuer: only this benchmark uses it
        runs: dict[str, list[Result]] = {}
        with tempfile.TemporaryDirectory() as tmp:
            # Rounds alternate the systems, so a burst of load from elsewhere on the machine hits
            # each of them rather than one; the polling model is too slow to be worth a second round.
            for round_ in range(args.rounds):
                for system in args.systems.split(","):
                    if system == "polling" and round_ > 0:
                        continue
                    print(f"round {round_ + 1}: {system} ...", file=sys.stderr, flush=True)
                    runs.setdefault(system, []).append(run_system(system, url, args, Path(tmp)))
        print(report([merge(rounds) for rounds in runs.values()], args))
        print("what Postgres did in each throughput phase:")
        for round_ in range(args.rounds):
            for system, rounds in runs.items():
                if round_ < len(rounds):
                    print(f"  round {round_ + 1} {system}: {rounds[round_].throughput:.0f} jobs/s; "
                          f"{rounds[round_].stats}")
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    finally:
        asyncio.run(_drop_database(server, name))


if __name__ == "__main__":
    main()
