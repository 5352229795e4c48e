"""PATCH of runs and simulations over the in-memory app: the status machine, merges, idempotency, events."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio


async def pending_run(client: AsyncTestClient, **fields: Any) -> str:  # type: ignore[type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "btc_1h"})
    body = {"dataset_slug": "btc_1h", "status": "PENDING", **fields}
    answer = await client.post("/api/runs", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


async def test_a_run_moves_pending_running_completed_and_gets_its_completion_time(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    run_id = await pending_run(client)
    running = await client.patch(f"/api/runs/{run_id}", json={"status": "RUNNING"})
    assert running.status_code == 200 and running.json()["status"] == "RUNNING"
    assert running.json()["completed_at"] is None
    done = await client.patch(f"/api/runs/{run_id}", json={"status": "COMPLETED"})
    assert done.json()["status"] == "COMPLETED" and done.json()["completed_at"] is not None
    again = await client.patch(f"/api/runs/{run_id}", json={"status": "COMPLETED"})
    assert again.status_code == 200 and again.json() == done.json()
    back = await client.patch(f"/api/runs/{run_id}", json={"status": "RUNNING"})
    assert back.status_code == 409
    assert back.json()["details"] == {"from": "COMPLETED", "to": "RUNNING", "field": "status"}
    assert "COMPLETED" in back.json()["error"] and "RUNNING" in back.json()["error"]
    assert (await client.get(f"/api/runs/{run_id}")).json()["status"] == "COMPLETED"


async def test_tags_and_metrics_merge_and_null_removes_a_key(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    run_id = await pending_run(client, tags={"owner": "ana", "team": "fx"}, summary_metrics={"sharpe": 1.0, "dd": -0.2})
    answer = await client.patch(
        f"/api/runs/{run_id}",
        json={
            "tags": {"team": None, "stage": "final"},
            "summary_metrics": {"dd": None, "sortino": 2},
            "name": "n1",
            "notes": "ok",
        },
    )
    assert answer.status_code == 200, answer.text
    detail = (await client.get(f"/api/runs/{run_id}")).json()
    assert detail["tags"] == {"owner": "ana", "stage": "final"}
    assert detail["summary_metrics"] == {"sharpe": 1.0, "sortino": 2}
    assert (detail["name"], detail["notes"]) == ("n1", "ok")
    found = await client.get("/api/runs", params={"filter": "tags.stage = 'final' and name = 'n1'"})
    assert [r["run_id"] for r in found.json()["runs"]] == [run_id]


async def test_a_retried_patch_with_the_same_key_answers_the_first_result(client: AsyncTestClient, world: Any) -> None:  # type: ignore[type-arg]
    run_id = await pending_run(client)
    headers = {"Idempotency-Key": "patch-1"}
    first = await client.patch(f"/api/runs/{run_id}", json={"status": "RUNNING"}, headers=headers)
    await client.patch(f"/api/runs/{run_id}", json={"status": "FAILED"})
    retried = await client.patch(f"/api/runs/{run_id}", json={"status": "RUNNING"}, headers=headers)
    assert retried.status_code == 200 and retried.json() == first.json()
    assert (await client.get(f"/api/runs/{run_id}")).json()["status"] == "FAILED"
    other = await client.patch(f"/api/runs/{run_id}", json={"name": "x"}, headers=headers)
    assert other.status_code == 409


async def test_a_simulation_is_patched_the_same_way_and_bad_input_is_a_400(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    run_id = await pending_run(client)
    made = await client.post("/api/simulations", json={"run_id": run_id, "status": "RUNNING"})
    sim_id = made.json()["simulation_id"]
    failed = await client.patch(f"/api/simulations/{sim_id}", json={"status": "FAILED", "tags": {"why": "oom"}})
    assert failed.status_code == 200 and failed.json()["status"] == "FAILED" and failed.json()["tags"] == {"why": "oom"}
    assert (await client.patch(f"/api/simulations/{sim_id}", json={"status": "PENDING"})).status_code == 409
    assert (await client.patch(f"/api/simulations/{sim_id}", json={"status": "DONE"})).status_code == 400
    assert (await client.patch(f"/api/simulations/{sim_id}", json={"name": "x" * 201})).status_code == 400
    assert (await client.patch(f"/api/simulations/{sim_id}", json={"tags": {"k": 1}})).status_code == 400
    assert (await client.patch("/api/simulations/00000000-0000-0000-0000-000000000001", json={})).status_code == 404


async def test_folds_are_added_or_replaced_while_the_run_is_open_and_refused_once_it_is_final(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    run_id = await pending_run(client, folds=[{"fold_number": 1, "metrics": {"auc": 0.5}}])
    added = await client.post(
        f"/api/runs/{run_id}/folds",
        json={"folds": [{"fold_number": 2, "metrics": {"auc": 0.6}}, {"fold_number": 1, "metrics": {"auc": 0.55}}]},
    )
    assert added.status_code == 200, added.text
    detail = (await client.get(f"/api/runs/{run_id}")).json()
    assert [(f["fold_number"], f["metrics"]["auc"]) for f in detail["folds"]] == [(1, 0.55), (2, 0.6)]
    assert detail["fold_count"] == 2
    await client.patch(f"/api/runs/{run_id}", json={"status": "COMPLETED"})
    late = await client.post(f"/api/runs/{run_id}/folds", json={"folds": [{"fold_number": 3}]})
    assert late.status_code == 409 and late.json()["details"]["status"] == "COMPLETED"
    assert len((await client.get(f"/api/runs/{run_id}")).json()["folds"]) == 2
