"""Postgres restarts (`pg_ctl restart -m fast`) while 8 clients save runs and simulations in a loop through
a real `stage1 serve`: every save answered 2xx is there afterwards; every other one is a 503 in the error
envelope (never a 500), and a retry with its Idempotency-Key either returns the save it committed before
its answer was lost or makes it now, never a second copy; the service recovers without being restarted.

The Postgres is a private one (tests/integration/private_stores.py): the shared one is never restarted."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from tests.integration.private_stores import PrivatePostgres, private_postgres
from tests.integration.serve_processes import started

from adapters.sql import migrate

pytestmark = pytest.mark.anyio

CLIENTS = 8
REPEATS = 3
LOAD_SECONDS = 4.0
RESTART_AFTER = 1.0
START = 1704067200


def predictions_csv(bars: int = 20) -> str:
    header = "timestamp,bar_index,fold_number,prediction,target\n"
    return header + "".join(f"{START + i * 3600},{i},1,{(i % 10) / 10},{i % 2}\n" for i in range(bars))


def trades_csv(count: int = 5) -> str:
    header = "bar_timestamp,side,entry_price,exit_price,quantity,pnl,return_pct,fees,fold_number\n"
    return header + "".join(f"{START + i * 7200},long,100,101,1,1,1,0.1,1\n" for i in range(count))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def served(postgres: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `stage1 serve` on the private Postgres, with DuckDB for the rows (the fault is Postgres's)."""
    url = migrate.create_database(postgres.server_url, "stage1_restarts")
    migrate.upgrade(url)
    with started(tmp_path_factory.mktemp("restarts"), [{"database_url": url}]) as urls:
        yield urls[0]


@dataclass
class Save:
    path: str
    body: dict[str, Any]
    key: str
    status: int = 0
    answer: Any = None

    @property
    def record_id(self) -> str:
        return str(self.answer["run_id" if self.path == "/api/runs" else "simulation_id"])


async def save(http: httpx.AsyncClient, url: str, write: Save) -> None:
    answer = await http.post(url + write.path, json=write.body, headers={"Idempotency-Key": write.key})
    write.status = answer.status_code
    write.answer = answer.json()


async def client_loop(http: httpx.AsyncClient, url: str, slug: str, run_id: str, until: float) -> list[Save]:
    writes: list[Save] = []
    while time.monotonic() < until:
        if len(writes) % 2 == 0:
            write = Save("/api/runs", {"dataset_slug": slug, "predictions_csv": predictions_csv()}, uuid.uuid4().hex)
        else:
            write = Save("/api/simulations", {"run_id": run_id, "trades_csv": trades_csv()}, uuid.uuid4().hex)
        writes.append(write)
        await save(http, url, write)
        if write.status >= 500:
            await asyncio.sleep(0.05)  # as a client backing off; the loop goes on through the restart
    return writes


async def ids_stored(http: httpx.AsyncClient, url: str, slug: str) -> tuple[set[str], set[str]]:
    runs = (await http.get(f"{url}/api/runs", params={"dataset_slug": slug, "limit": 500})).json()
    simulations = (await http.get(f"{url}/api/simulations", params={"dataset_slug": slug, "limit": 500})).json()
    assert len(runs["runs"]) == runs["total"] and len(simulations["simulations"]) == simulations["total"]
    return {item["run_id"] for item in runs["runs"]}, {item["simulation_id"] for item in simulations["simulations"]}


async def test_writes_through_a_postgres_restart_are_kept_when_answered_and_refused_with_503_otherwise(
    postgres: PrivatePostgres, served: str
) -> None:
    url = served
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CLIENTS * 2)) as http:
        for repeat in range(REPEATS):
            slug = f"restart_{repeat}_{uuid.uuid4().hex[:6]}"
            made = await http.post(
                f"{url}/api/datasets", json={"dataset_slug": slug, "symbol": "BTC", "granularity": "1h"}
            )
            assert made.status_code == 201, made.text
            base = await http.post(f"{url}/api/runs", json={"dataset_slug": slug, "predictions_csv": predictions_csv()})
            assert base.status_code == 201, base.text
            run_id = base.json()["run_id"]

            until = time.monotonic() + LOAD_SECONDS
            loops = [client_loop(http, url, slug, run_id, until) for _ in range(CLIENTS)]

            async def restart() -> None:
                await asyncio.sleep(RESTART_AFTER)
                await asyncio.to_thread(postgres.ctl, "restart", "-m", "fast")

            *per_client, _ = await asyncio.gather(*loops, restart())
            writes = [write for client in per_client for write in client]

            statuses = sorted({write.status for write in writes})
            assert set(statuses) <= {200, 201, 503}, [
                (w.status, w.answer) for w in writes if w.status not in (200, 201, 503)
            ]
            failed = [write for write in writes if write.status == 503]
            assert failed, f"the restart refused no write (statuses {statuses}): the test did not hit it"
            assert all(set(write.answer) == {"error", "details"} for write in failed), failed[0].answer
            answered = [write for write in writes if write.status in (200, 201)]

            runs, simulations = await ids_stored(http, url, slug)
            kept = {write.record_id for write in answered}
            assert kept <= runs | simulations, "a save answered 2xx is missing"
            committed_unanswered = (runs | simulations) - kept - {run_id}

            print(
                f"repeat {repeat}: {len(answered)} saves answered 2xx, {len(failed)} answered 503, "
                f"{len(committed_unanswered)} of those had committed"
            )
            for write in failed:
                await save(http, url, write)
                assert write.status in (200, 201), write.answer
            runs_after, simulations_after = await ids_stored(http, url, slug)
            retried = {write.record_id for write in failed}
            # Each failed save is now there exactly once: what it had committed was returned, not copied.
            assert committed_unanswered <= retried
            assert runs_after | simulations_after == kept | retried | {run_id}
            assert len(runs_after) + len(simulations_after) == len(answered) + len(failed) + 1

            orphans = (await http.get(f"{url}/api/maintenance/orphans")).json()
            assert [name for name in orphans["unowned_measurements"] if name.startswith(slug)] == [], orphans

            health = await http.get(f"{url}/api/health")
            assert health.status_code == 200 and health.json()["status"] == "ok", health.text
