"""DELETE of datasets, runs, simulations, measurements and jobs over the in-memory app: cascade, dry run, the
409s, idempotency, events, the drop job, and the orphans check."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from litestar.testing import AsyncTestClient
from tests.unit.application.test_worker_runs_jobs import eventually

pytestmark = pytest.mark.anyio

Client = AsyncTestClient  # type: ignore[type-arg]
BARS = "timestamp,open,high,low,close,volume\n" + "".join(
    f"{1_700_000_000 + 3600 * i},1,2,0.5,1.5,10\n" for i in range(5)
)


async def dataset_with_two_runs_and_three_simulations(client: Client, slug: str = "btc_1h") -> dict[str, Any]:
    made = await client.post(
        "/api/datasets", json={"dataset_slug": slug, "symbol": "BTC", "record_questdb": True, "ohlcv_csv": BARS}
    )
    assert made.status_code == 201, made.text
    runs, sims = [], []
    for r in range(2):
        predictions = [
            {"timestamp": 1_700_000_000 + 3600 * i, "bar_index": i, "fold_number": 0, "prediction": 0.1, "target": 1}
            for i in range(3)
        ]
        run = await client.post("/api/runs", json={"dataset_slug": slug, "predictions": predictions})
        assert run.status_code == 201, run.text
        runs.append(run.json())
        for _ in range(2 if r == 0 else 1):
            trades = [
                {"bar_timestamp": 1_700_000_000, "side": "long", "entry_price": 1.0, "exit_price": 1.1, "pnl": 0.1}
            ]
            sim = await client.post("/api/simulations", json={"run_id": run.json()["run_id"], "trades": trades})
            assert sim.status_code == 201, sim.text
            sims.append(sim.json())
    measurements = {f"{slug}_ohlcv"} | {r["prediction_measurement"] for r in runs}
    measurements |= {s["trades_measurement"] for s in sims}
    return {"runs": runs, "simulations": sims, "measurements": measurements}


async def settled(world: Any, gone: set[str]) -> None:
    """Waits for the in-process worker to run the drop job."""

    async def dropped() -> bool:
        return not gone & set(await world.store.names())

    await eventually(dropped, timeout=5)


async def test_a_dataset_goes_with_its_runs_simulations_and_every_measurement_in_one_call(
    client: Client, world: Any
) -> None:
    made = await dataset_with_two_runs_and_three_simulations(client)
    refused = await client.delete("/api/datasets/btc_1h")
    assert refused.status_code == 409
    assert refused.json()["details"] == {"runs": 2, "simulations": 3}
    preview = await client.delete("/api/datasets/btc_1h", params={"cascade": "true", "dry_run": "true"})
    assert preview.status_code == 200
    assert set(preview.json()["deleted"]["measurements"]) == made["measurements"]
    assert (await client.get("/api/datasets/btc_1h")).status_code == 200
    done = await client.delete("/api/datasets/btc_1h", params={"cascade": "true"})
    assert done.status_code == 200, done.text
    assert done.json() == preview.json()
    assert done.json()["deleted"] | {"measurements": None} == {
        "datasets": 1,
        "runs": 2,
        "simulations": 3,
        "measurements": None,
    }
    await settled(world, made["measurements"])
    assert (await client.get("/api/datasets/btc_1h")).status_code == 404
    assert (await client.get("/api/runs")).json()["total"] == 0
    assert (await client.get("/api/simulations")).json()["total"] == 0
    assert (await client.delete("/api/datasets/btc_1h", params={"cascade": "true"})).status_code == 404
    orphans = (await client.get("/api/maintenance/orphans")).json()
    assert orphans == {"unowned_measurements": [], "missing_measurements": [], "free_measurements": []}
    assert world.metadata.measurement_names == {}


async def test_a_run_without_cascade_is_a_409_naming_its_simulations_and_a_simulation_goes_alone(
    client: Client, world: Any
) -> None:
    made = await dataset_with_two_runs_and_three_simulations(client)
    run = made["runs"][0]
    refused = await client.delete(f"/api/runs/{run['run_id']}")
    assert refused.status_code == 409 and refused.json()["details"] == {"runs": 0, "simulations": 2}
    sim = made["simulations"][0]
    gone = await client.delete(f"/api/simulations/{sim['simulation_id']}")
    assert gone.json()["deleted"] == {
        "datasets": 0,
        "runs": 0,
        "simulations": 1,
        "measurements": [sim["trades_measurement"]],
    }
    cascaded = await client.delete(f"/api/runs/{run['run_id']}", params={"cascade": "true"})
    assert cascaded.json()["deleted"]["runs"] == 1 and cascaded.json()["deleted"]["simulations"] == 1
    await settled(world, {sim["trades_measurement"], run["prediction_measurement"]})
    detail = (await client.get("/api/datasets/btc_1h")).json()
    assert (detail["related_runs"], detail["related_simulations"]) == (1, 1)


async def test_a_retried_delete_with_its_key_answers_the_first_result_and_events_are_sent(
    client: Client, world: Any
) -> None:
    made = await dataset_with_two_runs_and_three_simulations(client)
    seen: list[str] = []

    async def follow() -> None:
        async for event in world.events.subscribe({"dataset.deleted", "run.deleted", "simulation.deleted"}):
            seen.append(event.type)

    async with anyio.create_task_group() as group:
        group.start_soon(follow)
        await anyio.sleep(0.05)
        headers = {"Idempotency-Key": "del-1"}
        first = await client.delete("/api/datasets/btc_1h", params={"cascade": "true"}, headers=headers)
        again = await client.delete("/api/datasets/btc_1h", params={"cascade": "true"}, headers=headers)
        assert again.status_code == 200 and again.json() == first.json()
        await eventually(lambda: len(seen) >= 6, timeout=5)
        group.cancel_scope.cancel()
    assert sorted(seen) == ["dataset.deleted"] + ["run.deleted"] * 2 + ["simulation.deleted"] * 3
    await settled(world, made["measurements"])


async def test_a_free_measurement_can_be_dropped_and_an_owned_one_is_a_409(client: Client, world: Any) -> None:
    await dataset_with_two_runs_and_three_simulations(client)
    imported = await client.post("/api/questdb/import", json={"measurement": "my_table", "data": BARS, "kind": "ohlcv"})
    assert imported.status_code == 200, imported.text
    orphans = (await client.get("/api/maintenance/orphans")).json()
    assert orphans["free_measurements"] == ["my_table"] and orphans["unowned_measurements"] == []
    owned = await client.delete("/api/questdb/measurement/btc_1h_ohlcv")
    assert owned.status_code == 409 and owned.json()["details"]["owner_kind"] == "dataset"
    dropped = await client.delete("/api/questdb/measurement/my_table")
    assert dropped.status_code == 200 and dropped.json()["deleted"]["measurements"] == ["my_table"]
    assert "my_table" not in await world.store.names()
    assert (await client.delete("/api/questdb/measurement/my_table")).status_code == 404
    assert "my_table" not in world.metadata.measurement_names


async def test_a_finished_job_can_be_deleted_and_a_pending_one_is_a_409(client: Client, world: Any) -> None:
    made = await dataset_with_two_runs_and_three_simulations(client)
    await client.delete("/api/datasets/btc_1h", params={"cascade": "true"})
    await settled(world, made["measurements"])
    jobs = (await client.get("/api/jobs", params={"type": "measurement_drop"})).json()["jobs"]
    assert len(jobs) == 1

    async def completed() -> bool:
        return (await client.get(f"/api/jobs/{jobs[0]['job_id']}")).json()["status"] == "COMPLETED"

    await eventually(completed, timeout=5)
    deleted = await client.delete(f"/api/jobs/{jobs[0]['job_id']}")
    assert deleted.status_code == 200 and deleted.json()["job_id"] == jobs[0]["job_id"]
    assert (await client.get(f"/api/jobs/{jobs[0]['job_id']}")).status_code == 404
    assert (await client.delete(f"/api/jobs/{jobs[0]['job_id']}")).status_code == 404
