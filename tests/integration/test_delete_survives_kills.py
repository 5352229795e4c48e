"""A cascade delete survives SIGKILL at each step: real `stage1 serve` and worker processes on a fresh Postgres
database and the shared QuestDB.

Each repeat: a dataset with two runs and three simulations (six measurements) is deleted in one call, and the
server that committed the delete is killed at once. A worker that hangs after its first drop (dropped, name
not yet freed) is killed in the middle of the job. A new server re-creates the slug, which gets a `_2` name
because the old one is still held. Then one real
worker (`stage1 worker`'s, in drop_worker_process.py) finishes it: every measurement of the deleted records is gone, the re-created dataset's rows
are intact, and the orphans route finds nothing unowned or missing.

Each repeat starts two processes a repeat ahead, so their start-ups (tens of seconds each on a loaded machine)
overlap work: a server, and a worker that finishes its repeat's drop job (it waits for a `go` on its stdin)
and, armed, is the one killed mid-drop in the repeat after."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.test_worker_killed_mid_import import free_port, production_stores

BIN = Path(sys.executable).parent
HANGING_WORKER = Path(__file__).with_name("drop_worker_process.py")
REPEATS = int(os.environ.get("STAGE1_KILL_REPEATS", "3"))
BARS = "timestamp,open,high,low,close,volume\n" + "".join(
    f"{1_700_000_000 + 3600 * i},1,2,0.5,1.5,10\n" for i in range(20)
)


@pytest.fixture
def production_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    with production_stores(tmp_path) as env:
        yield env


class Serve:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.process = subprocess.Popen(
            [str(BIN / "stage1"), "serve", "--port", port], env=env, cwd=cwd, stdout=subprocess.DEVNULL
        )
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def ready(self) -> Serve:
        deadline = time.monotonic() + 180
        while True:
            assert self.process.poll() is None and time.monotonic() < deadline, "serve did not start"
            try:
                if self.http.get("/api/health").status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self.http.post(path, json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())


def dataset_with_two_runs_and_three_simulations(serve: Serve, slug: str) -> set[str]:
    """The six measurements it owns."""
    made = serve.post("/api/datasets", {"dataset_slug": slug, "record_questdb": True, "ohlcv_csv": BARS})
    names = {made["ohlcv_measurement"]}
    predictions = [
        {"timestamp": 1_700_000_000 + 3600 * i, "bar_index": i, "fold_number": 0, "prediction": 0.1, "target": 1}
        for i in range(5)
    ]
    trades = [{"bar_timestamp": 1_700_000_000, "side": "long", "entry_price": 1.0, "exit_price": 1.1, "pnl": 0.1}]
    for simulations in (2, 1):
        run = serve.post("/api/runs", {"dataset_slug": slug, "predictions": predictions})
        names.add(run["prediction_measurement"])
        for _ in range(simulations):
            names.add(serve.post("/api/simulations", {"run_id": run["run_id"], "trades": trades})["trades_measurement"])
    return names


def tables(questdb: httpx.Client, prefix: str) -> set[str]:
    rows = questdb.get("/exec", params={"query": "SELECT table_name FROM tables()"}).json()["dataset"]
    return {row[0] for row in rows if row[0].startswith(prefix)}


def step(started: float, what: str) -> None:
    print(f"{time.monotonic() - started:7.1f} s  {what}", file=sys.stderr, flush=True)


def drop_job(serve: Serve) -> dict[str, Any]:
    (job,) = serve.http.get("/api/jobs", params={"type": "measurement_drop", "limit": 1}).json()["jobs"]
    return dict(job)


def test_killed_after_the_commit_and_in_the_middle_of_dropping_nothing_is_left_behind(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    questdb = httpx.Client(base_url=production_env["STAGE1_QUESTDB_HTTP_URL"], timeout=30)
    started = time.monotonic()
    prefixes: list[str] = []
    serve = Serve(production_env, tmp_path).ready()
    hanging = subprocess.Popen(
        [sys.executable, str(HANGING_WORKER)], env=production_env, cwd=tmp_path, stdout=subprocess.PIPE
    )
    processes: list[subprocess.Popen[Any]] = [serve.process, hanging]

    def spare() -> tuple[Serve, subprocess.Popen[Any]]:
        """A server and a worker waiting for its `go`, for a later repeat."""
        worker = subprocess.Popen(
            [sys.executable, str(HANGING_WORKER), "--on-go"], env=production_env, cwd=tmp_path,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )
        restarted = Serve(production_env, tmp_path)
        processes.extend([restarted.process, worker])
        return restarted, worker

    try:
        spares = [spare()]
        for repeat in range(REPEATS):
            # The server that takes over after the kill and the worker that finishes this repeat were started a
            # repeat ahead, so their start-up overlaps work rather than waiting for it. The worker killed mid-drop
            # is the one that finished the repeat before (armed now), or, in the first repeat, one that hangs from
            # the start; the drop job is the first job there is.
            if repeat + 1 < REPEATS:
                spares.append(spare())
            restarted, worker = spares.pop(0)
            if repeat:
                assert hanging.stdin is not None and hanging.stdout is not None
                hanging.stdin.write(b"hang\n")
                hanging.stdin.flush()
                assert select.select([hanging.stdout], [], [], 60)[0], "the worker did not arm"
                assert hanging.stdout.readline() == b"armed\n"
            slug = f"kill_{uuid.uuid4().hex[:8]}"
            prefixes.append(slug)
            owned = dataset_with_two_runs_and_three_simulations(serve, slug)
            step(started, "records made")
            assert tables(questdb, slug) == owned and len(owned) == 6

            deleted = serve.http.delete(f"/api/datasets/{slug}", params={"cascade": "true"})
            assert deleted.status_code == 200, deleted.text
            assert set(deleted.json()["deleted"]["measurements"]) == owned
            serve.process.send_signal(signal.SIGKILL)  # the delete has committed
            serve.process.wait(timeout=10)
            step(started, "serve killed after the commit")

            assert hanging.stdout is not None
            assert select.select([hanging.stdout], [], [], 180)[0], "the hanging worker never dropped"
            line = hanging.stdout.readline().decode()
            assert line.startswith("dropped "), line
            hanging.send_signal(signal.SIGKILL)  # one measurement dropped, its name not yet freed
            hanging.wait(timeout=10)
            step(started, "worker killed mid-drop")
            assert len(tables(questdb, slug) & owned) == 5

            serve = restarted.ready()
            again = serve.post("/api/datasets", {"dataset_slug": slug, "record_questdb": True, "ohlcv_csv": BARS})
            assert again["ohlcv_measurement"] == f"{slug}_ohlcv_2"  # the old name is held until its drop is done

            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
            worker.stdin.flush()
            deadline = time.monotonic() + 180  # a loaded machine starts a worker in tens of seconds
            while (job := drop_job(serve))["status"] != "COMPLETED":
                assert time.monotonic() < deadline and job["status"] in ("PENDING", "RUNNING"), job
                time.sleep(0.1)
            hanging = worker  # armed, it is the worker killed mid-drop in the next repeat
            step(started, "drop completed by a new worker")

            assert tables(questdb, slug) == {f"{slug}_ohlcv_2"}, repeat
            count = questdb.get("/exec", params={"query": f"SELECT count() FROM '{slug}_ohlcv_2'"}).json()
            assert count["dataset"] == [[20]]
            orphans = serve.http.get("/api/maintenance/orphans").json()
            assert orphans["unowned_measurements"] == [] and orphans["missing_measurements"] == []
            assert not {name for name in orphans["free_measurements"] if name.startswith(slug)}
            assert serve.http.delete(f"/api/jobs/{job['job_id']}").status_code == 200
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        for prefix in prefixes:
            for table in tables(questdb, prefix):
                questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS '{table}'"})
    print(f"{REPEATS} repeats in {time.monotonic() - started:.1f} s")
