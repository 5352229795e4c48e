"""The desktop's view of a delete: a WebSocket subscriber follows a dataset on a real `stage1 serve` (Postgres +
QuestDB, in-process worker) while two runs and three simulations are saved on it and the dataset is deleted with
everything it owns in one call. Every measurement is then gone from QuestDB, the orphans route finds nothing, and
the subscriber saw every event about the dataset, in order."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from tests.integration.test_delete_survives_kills import Serve, dataset_with_two_runs_and_three_simulations, tables
from tests.integration.test_worker_killed_mid_import import production_stores

pytestmark = pytest.mark.anyio


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Serve, httpx.Client]]:
    with production_stores(tmp_path) as env:
        serve = Serve(env | {"STAGE1_IN_PROCESS_WORKER": "true"}, tmp_path).ready()
        try:
            yield serve, httpx.Client(base_url=env["STAGE1_QUESTDB_HTTP_URL"], timeout=30)
        finally:
            serve.process.terminate()
            serve.process.wait(timeout=30)


DELETED = {"dataset.deleted": 1, "run.deleted": 2, "simulation.deleted": 3}


async def events_until_deleted(url: str, timeout: float = 90) -> list[dict[str, Any]]:
    """Every message of the stream (from its first event) until the dataset and all it owned are deleted."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout), websockets.connect(url) as ws:
        while any(sum(e["type"] == kind for e in seen) < count for kind, count in DELETED.items()):
            seen.append(json.loads(await ws.recv()))
    return seen


async def test_a_subscriber_sees_a_dataset_and_everything_it_owns_made_and_deleted_in_order(
    served: tuple[Serve, httpx.Client],
) -> None:
    served, questdb = served
    slug = f"watch_{uuid.uuid4().hex[:8]}"
    try:
        owned = dataset_with_two_runs_and_three_simulations(served, slug)
        assert len(owned) == 6 and tables(questdb, slug) == owned
        runs = served.http.get("/api/runs", params={"dataset_slug": slug}).json()["runs"]
        simulations = served.http.get("/api/simulations", params={"dataset_slug": slug}).json()["simulations"]
        # From the first event on: what happened before the subscriber connected comes by resume.
        stream = f"{served.url.replace('http', 'ws', 1)}/ws/streams/{slug}?last_event_id=0"
        watching = asyncio.create_task(events_until_deleted(stream))
        await asyncio.sleep(0.5)

        deleted = served.http.delete(f"/api/datasets/{slug}", params={"cascade": "true"})
        assert deleted.status_code == 200, deleted.text
        assert set(deleted.json()["deleted"]["measurements"]) == owned
        seen = await watching

        ids = [event["id"] for event in seen]
        assert ids == sorted(ids) and len(set(ids)) == len(ids) and None not in ids
        kinds = [event["type"] for event in seen]
        assert kinds.count("run.created") == 2 and kinds.count("simulation.created") == 3
        assert {event["data"]["run_id"] for event in seen if event["type"] == "run.created"} == {
            run["run_id"] for run in runs
        }
        assert {e["data"]["simulation_id"] for e in seen if e["type"] == "simulation.created"} == {
            simulation["simulation_id"] for simulation in simulations
        }
        assert kinds[0] == "dataset.updated" and kinds.index("simulation.created") > kinds.index("run.created")
        # Every deletion event comes after every creation event, and each deleted record is one that was made.
        assert min(kinds.index(kind) for kind in DELETED) > max(i for i, k in enumerate(kinds) if k.endswith("created"))
        assert {e["data"]["run_id"] for e in seen if e["type"] == "run.deleted"} == {run["run_id"] for run in runs}
        assert {e["data"]["simulation_id"] for e in seen if e["type"] == "simulation.deleted"} == {
            simulation["simulation_id"] for simulation in simulations
        }

        deadline = asyncio.get_running_loop().time() + 120
        while tables(questdb, slug):
            assert asyncio.get_running_loop().time() < deadline, tables(questdb, slug)
            await asyncio.sleep(0.2)
        orphans = served.http.get("/api/maintenance/orphans").json()
        assert orphans["unowned_measurements"] == [] and orphans["missing_measurements"] == []
        assert not [name for name in orphans["free_measurements"] if name.startswith(slug)]
    finally:
        for table in tables(questdb, slug):
            questdb.get("/exec", params={"query": f"DROP TABLE IF EXISTS '{table}'"})
