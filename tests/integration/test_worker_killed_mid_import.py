"""A worker killed with SIGKILL in the middle of a 1M-row import: another worker takes the job over once
the lease runs out and QuestDB ends with exactly 1M rows (the dedup keys absorb the half-written attempt).

Real processes throughout: `stage1 serve` (no in-process worker) and two `stage1 worker` processes on one
Postgres queue, writing to one QuestDB."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from adapters.sql import migrate

BIN = Path(sys.executable).parent
ROWS = 1_000_000


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def production_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with production_stores(tmp_path) as env:
        yield env


@contextmanager
def production_stores(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of `stage1` processes on a fresh Postgres database (dropped after) and the shared
    QuestDB, with no in-process worker and a 3 s lease."""
    server = need("STAGE1_TEST_POSTGRES_URL")
    name = f"stage1_kill_{uuid.uuid4().hex[:10]}"
    url = migrate.create_database(server, name)
    migrate.upgrade(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGE1_")}
    env.update(
        STAGE1_DATABASE_URL=url,
        STAGE1_TIMESERIES="questdb",
        STAGE1_QUESTDB_HTTP_URL=need("STAGE1_TEST_QUESTDB_HTTP"),
        STAGE1_QUESTDB_PG_URL=need("STAGE1_TEST_QUESTDB_PG"),
        STAGE1_AUTH_ENABLED="false",
        STAGE1_IN_PROCESS_WORKER="false",
        STAGE1_UPLOAD_DIR=str(tmp_path / "uploads"),
        STAGE1_JOB_LEASE_SECONDS="3",
        STAGE1_DATA_DIR=str(tmp_path / "data"),
    )
    try:
        yield env
    finally:
        migrate.drop_database(server, name)


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "stage1"), *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def test_a_job_whose_worker_was_killed_mid_import_lands_exactly_one_million_rows(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    csv = tmp_path / "bars.csv"
    with csv.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        handle.writelines(
            f"{1_600_000_000 + i},{i % 97},{i % 97 + 1},{i % 97 - 1},{i % 89},{i % 7}\n" for i in range(ROWS)
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    measurement = f"killed_{uuid.uuid4().hex[:8]}"
    processes = [start(["serve", "--port", str(port)], production_env, tmp_path)]
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with csv.open("rb") as body:
            accepted = httpx.post(
                f"{base}/api/questdb/import/async",
                params={"measurement": measurement, "kind": "ohlcv"},
                content=body,
                headers={"content-type": "text/csv"},
                timeout=120,
            )
        assert accepted.status_code == 202, accepted.text
        poll = f"{base}{accepted.json()['poll_url']}"

        doomed = start(["worker", "--concurrency", "1"], production_env, tmp_path)
        processes.append(doomed)
        deadline = time.monotonic() + 120
        while True:
            job = httpx.get(poll, timeout=10).json()
            if job["status"] == "RUNNING" and 0 < (job["progress"] or 0) < ROWS:
                break
            assert job["status"] in ("PENDING", "RUNNING"), f"the import ended before the kill: {job}"
            assert time.monotonic() < deadline, job
            time.sleep(0.01)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        half = job["progress"]

        processes.append(start(["worker", "--concurrency", "1"], production_env, tmp_path))
        deadline = time.monotonic() + 180
        while job["status"] not in ("COMPLETED", "FAILED", "CANCELLED"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
            job = httpx.get(poll, timeout=10).json()
        assert job["status"] == "COMPLETED", job
        assert job["attempts"] == 2 and job["result"]["rows_written"] == ROWS
        count = httpx.post(f"{base}/api/questdb/query", json={"sql": f"SELECT count(*) FROM {measurement}"}, timeout=60)
        assert count.json()["rows"] == [[ROWS]], (half, count.text)
        assert list((tmp_path / "uploads").glob("*")) == []
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        httpx.get(
            f"{production_env['STAGE1_QUESTDB_HTTP_URL']}/exec", params={"query": f"DROP TABLE IF EXISTS {measurement}"}
        )
