"""The run and simulation lists narrow by dataset (id or slug) and status the same way, with and without a
search filter, and refuse a bad narrowing with a 400 that names the field."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

Client = AsyncTestClient  # type: ignore[type-arg]
BARS = "timestamp,open,high,low,close,volume\n1700000000,1,2,0.5,1.5,10\n"


async def two_datasets_with_a_run_and_a_simulation_each(client: Client) -> dict[str, Any]:
    made: dict[str, Any] = {}
    for slug in ("ada_1h", "eth_1h"):
        dataset = await client.post("/api/datasets", json={"dataset_slug": slug, "ohlcv_csv": BARS})
        assert dataset.status_code == 201, dataset.text
        run = await client.post("/api/runs", json={"dataset_slug": slug, "status": "RUNNING"})
        assert run.status_code == 201, run.text
        sim = await client.post("/api/simulations", json={"run_id": run.json()["run_id"], "status": "RUNNING"})
        assert sim.status_code == 201, sim.text
        made[slug] = {"dataset": dataset.json(), "run": run.json(), "simulation": sim.json()}
    return made


# Each list answers the old filters alone, and with a search filter (the search path of the same list).
SEARCHES: list[dict[str, str]] = [{}, {"filter": "status = 'RUNNING'"}]


async def test_a_list_narrowed_to_a_dataset_by_slug_or_id_answers_only_its_records(client: Client) -> None:
    made = await two_datasets_with_a_run_and_a_simulation_each(client)
    ada = made["ada_1h"]
    for search in SEARCHES:
        for ref in ("ada_1h", ada["dataset"]["dataset_id"]):
            runs = (await client.get("/api/runs", params={"dataset_id": ref, **search})).json()["runs"]
            assert [r["run_id"] for r in runs] == [ada["run"]["run_id"]]
            sims = (await client.get("/api/simulations", params={"dataset_id": ref, **search})).json()["simulations"]
            assert [s["simulation_id"] for s in sims] == [ada["simulation"]["simulation_id"]]
        assert (await client.get("/api/runs", params={"status": "FAILED", **search})).json()["runs"] == []
        assert (await client.get("/api/simulations", params={"status": "FAILED", **search})).json()["simulations"] == []


async def test_a_bad_narrowing_is_a_400_that_names_its_field(client: Client) -> None:
    for search in SEARCHES:
        for path in ("/api/runs", "/api/simulations"):
            answer = await client.get(path, params={"dataset_id": "ada_1h", "dataset_slug": "eth_1h", **search})
            assert answer.status_code == 400, answer.text
            assert answer.json()["details"]["field"] == "dataset_id"
        answer = await client.get("/api/simulations", params={"run_id": "nope", **search})
        assert answer.status_code == 400, answer.text
        assert answer.json()["details"]["field"] == "run_id"
