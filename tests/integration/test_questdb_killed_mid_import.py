"""QuestDB killed with SIGKILL in the middle of an async import and started again 5 s later.

Real processes throughout: `stage1 serve` (no in-process worker) and `stage1 worker` on a fresh Postgres
database and a private QuestDB (tests/integration/private_stores.py; the shared one is never killed).
- The import in progress retries once QuestDB is back and exactly its N rows land (count and checksums).
- Meanwhile `GET /api/health` answers `degraded` and metadata routes keep answering.
- An import that fails for good while QuestDB is down (a worker with a short outage delay spends its
  attempts) keeps its spooled upload; `POST /api/jobs/{id}/retry` once QuestDB is back lands exactly N rows.
- No server path reaches a job field or an event.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from tests.integration.private_stores import PrivateQuestDB, private_questdb, wait_until
from tests.integration.serve_processes import BIN, free_port, stop, wait_healthy
from tests.jobs_support import fresh_postgres_database

from adapters.jobs.pg import asyncpg_dsn

ROWS = 300_000
REPEATS = 3
DOWN_SECONDS = 5.0
PATIENCE = "15"  # the patient worker's first wait after an outage: the hasty one is done well before it ends
FINISHED = ("COMPLETED", "FAILED", "CANCELLED")


@pytest.fixture(scope="module")
def questdb() -> Iterator[PrivateQuestDB]:
    with private_questdb() as server:
        yield server


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_postgres_database("stage1_qdbkill") as url:
        yield url


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bars") / "bars.csv"
    with path.open("w") as handle:
        handle.write("timestamp,open,high,low,close,volume\n")
        handle.writelines(
            f"{1_600_000_000 + i * 60},{i % 97},{i % 97 + 1},{i % 97 - 1},{i % 89},{i % 7}\n" for i in range(ROWS)
        )
    return path


EXPECTED = {
    "count": ROWS,
    "close": sum(i % 89 for i in range(ROWS)),
    "volume": sum(i % 7 for i in range(ROWS)),
    "first": 1_600_000_000 * 1_000_000,
    "last": (1_600_000_000 + (ROWS - 1) * 60) * 1_000_000,
}


class Service:
    """One `stage1 serve` and the workers started for it, all on the same settings but their own extras."""

    def __init__(self, root: Path, database: str, questdb: PrivateQuestDB) -> None:
        self.root = root
        self.uploads = root / "uploads"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("STAGE1_")}
        self.env |= {
            "STAGE1_DATABASE_URL": database,
            "STAGE1_TIMESERIES": "questdb",
            "STAGE1_QUESTDB_HTTP_URL": questdb.http_url,
            "STAGE1_QUESTDB_PG_URL": questdb.pg_url,
            "STAGE1_AUTH_ENABLED": "false",
            "STAGE1_IN_PROCESS_WORKER": "false",
            "STAGE1_UPLOAD_DIR": str(self.uploads),
            "STAGE1_DATA_DIR": str(root / "data"),
            "STAGE1_JOB_LEASE_SECONDS": "3",
            "STAGE1_PORT": str(port),
        }
        self.server = self.start("serve")
        self.workers: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str, log: str = "serve", **extra: str) -> subprocess.Popen[bytes]:
        env = self.env | {f"STAGE1_{key.upper()}": value for key, value in extra.items()}
        with (self.root / f"{log}.log").open("ab") as out:
            return subprocess.Popen([str(BIN / "stage1"), *args], env=env, cwd=self.root, stdout=out, stderr=out)

    def worker(self, name: str, **extra: str) -> subprocess.Popen[bytes]:
        """A worker that has started claiming (its start-up is slow on a busy machine, so each starts once)."""
        process = self.start("worker", "--concurrency", "1", log=name, **extra)
        self.workers.append(process)
        wait_until(lambda: "worker started" in (self.root / f"{name}.log").read_text(), 120, f"worker {name}")
        return process

    def job(self, job_id: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/api/jobs/{job_id}", timeout=30)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def wait(self, job_id: str, done: Any, seconds: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while not done(job := self.job(job_id)):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        return job

    def upload(self, csv: Path, measurement: str) -> str:
        with csv.open("rb") as body:
            accepted = httpx.post(
                f"{self.url}/api/questdb/import/async",
                params={"measurement": measurement, "kind": "ohlcv"},
                content=body,
                headers={"content-type": "text/csv"},
                timeout=120,
            )
        assert accepted.status_code == 202, accepted.text
        return str(accepted.json()["job_id"])

    def close(self) -> None:
        stop([*self.workers, self.server])

    def state(self, questdb: PrivateQuestDB, lines: int = 25) -> str:
        """The end of every log of this service and of QuestDB: what a failure message needs to be read."""
        parts = [questdb.state()]
        for log in sorted(self.root.glob("*.log")):
            parts.append(f"{log.name} tail:\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        return "\n\n".join(parts)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, database: str, questdb: PrivateQuestDB) -> Iterator[Service]:
    running = Service(tmp_path_factory.mktemp("qdbkill"), database, questdb)
    try:
        wait_healthy(running.url, running.server)
        yield running
    finally:
        running.close()


def landed(questdb: PrivateQuestDB, measurement: str) -> dict[str, int]:
    [[count, close, volume, first, last]] = questdb.sql(
        f"SELECT count(), sum(close), sum(volume), min(timestamp), max(timestamp) FROM {measurement}"
    )
    as_micros = {key: _micros(value) for key, value in (("first", first), ("last", last))}
    return {"count": int(count), "close": int(close), "volume": int(volume), **as_micros}  # type: ignore[call-overload]


def _micros(value: Any) -> int:
    from datetime import datetime

    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return int(parsed.timestamp()) * 1_000_000 + parsed.microsecond


async def event_texts(database: str) -> list[str]:
    connection = await asyncpg.connect(asyncpg_dsn(database))
    try:
        return [row[0] for row in await connection.fetch("SELECT data::text FROM stage1_events")]
    finally:
        await connection.close()


def assert_no_server_path(service: Service, texts: list[str]) -> None:
    for text in texts:
        for path in (str(service.uploads), str(service.root)):
            assert path not in text, text


def pause(process: subprocess.Popen[bytes]) -> None:
    """SIGSTOP: a paused worker claims nothing (it holds no job when paused here)."""
    process.send_signal(signal.SIGSTOP)


def resume(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGCONT)


def kill_mid_write(service: Service, questdb: PrivateQuestDB, job_id: str) -> None:
    """Kill QuestDB while the rows are being written: the upload is counted (the total is set, which the worker
    stores at once). Not "some but not all rows": the progress counts rows handed to the writer, which
    reaches the total while the last flush, the WAL and the rename are still to come, and it is
    rate-limited in between. QuestDB is paused while the job is read, so the write cannot end between the
    look and the kill.

    QuestDB is paused rather than the worker: a worker stopped and continued in the middle of a flush gets
    EINTR from the ILP client's socket call, which fails the attempt before any kill (seen in CI, where all
    three attempts of one import failed that way)."""
    deadline = time.monotonic() + 180
    while True:
        job = service.job(job_id)
        if job["status"] not in ("PENDING", "RUNNING") or time.monotonic() > deadline:
            raise AssertionError(f"the import ended or stalled before the kill: {job}\n{service.state(questdb)}")
        if job["status"] == "RUNNING":
            questdb.pause()
            job = service.job(job_id)
            if job["total"] == ROWS:  # counted, so being written: nothing of it can end while QuestDB is paused
                questdb.kill()
                return
            questdb.resume()
        time.sleep(0.05)


def restart_later(questdb: PrivateQuestDB, seconds: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), questdb.start()), daemon=True)
    thread.start()
    return thread


def test_an_import_survives_a_questdb_kill_and_one_that_failed_for_good_lands_on_retry(
    service: Service, questdb: PrivateQuestDB, database: str, csv: Path
) -> None:
    texts: list[str] = []
    # The hasty worker gives up on an outage at once; it is paused except while the doomed import runs.
    hasty = service.worker("hasty", job_outage_retry_seconds="0.1")
    pause(hasty)
    patient = service.worker("patient", job_outage_retry_seconds=PATIENCE)
    try:
        for repeat in range(REPEATS):
            texts += one_kill(service, questdb, csv, repeat, patient, hasty)
    finally:
        resume(hasty)
    assert_no_server_path(service, texts + asyncio.run(event_texts(database)))


def one_kill(
    service: Service,
    questdb: PrivateQuestDB,
    csv: Path,
    repeat: int,
    patient: subprocess.Popen[bytes],
    hasty: subprocess.Popen[bytes],
) -> list[str]:
    survivor, retried = f"kill_{repeat}_{uuid.uuid4().hex[:6]}", f"retry_{repeat}_{uuid.uuid4().hex[:6]}"
    assert questdb.healthy(), service.state(questdb)  # a QuestDB that died on its own since is named as such
    job_id = service.upload(csv, survivor)
    kill_mid_write(service, questdb, job_id)
    back = restart_later(questdb, DOWN_SECONDS)

    health = httpx.get(f"{service.url}/api/health", timeout=30)
    assert health.status_code == 200 and health.json()["status"] == "degraded", health.text
    for route in ("/api/datasets", "/api/runs", "/api/simulations", "/api/jobs"):
        assert httpx.get(f"{service.url}{route}", timeout=30).status_code == 200, route

    # The attempt the kill broke ends; the patient worker waits for QuestDB before the next one.
    first = service.wait(job_id, lambda job: job["status"] != "RUNNING", seconds=60)
    assert first["status"] == "PENDING" and first["attempts"] == 1, first

    # The import that fails for good: the hasty worker spends its attempts while QuestDB is down.
    pause(patient)
    doomed_id = service.upload(csv, retried)
    resume(hasty)
    failed = service.wait(doomed_id, lambda job: job["status"] in FINISHED, seconds=60)
    pause(hasty)
    resume(patient)
    assert failed["status"] == "FAILED" and failed["attempts"] == failed["max_attempts"], failed
    assert len(list(service.uploads.iterdir())) == 2  # both uploads are still spooled

    back.join(timeout=180)
    assert questdb.healthy()
    survived = service.wait(job_id, lambda job: job["status"] in FINISHED)
    assert survived["status"] == "COMPLETED" and survived["result"]["rows_written"] == ROWS, survived
    assert survived["attempts"] >= 2, survived  # 3 when QuestDB took longer than PATIENCE to come back
    assert landed(questdb, survivor) == EXPECTED
    assert httpx.get(f"{service.url}/api/health", timeout=30).json()["status"] == "ok"

    again = httpx.post(f"{service.url}/api/jobs/{doomed_id}/retry", timeout=30)
    assert again.status_code == 200, again.text
    finished = service.wait(doomed_id, lambda job: job["status"] in FINISHED)
    assert finished["status"] == "COMPLETED" and finished["result"]["rows_written"] == ROWS, finished
    assert landed(questdb, retried) == EXPECTED
    assert list(service.uploads.iterdir()) == []
    return [str(first), str(failed), str(survived), str(finished)]
