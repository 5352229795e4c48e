"""`POST /api/runs/{id}/predictions` over the in-memory app: rows land in the run's measurement while it is
open, all or none of them, once per Idempotency-Key."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

START = 1704067200


def rows(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"timestamp": START + i * 3600, "bar_index": i, "fold_number": 1, "prediction": 0.5, "target": i % 2}
        for i in range(first, first + count)
    ]


async def open_run(client: AsyncTestClient, status: str = "RUNNING", **fields: Any) -> str:  # type: ignore[type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "btc_1h"})
    answer = await client.post("/api/runs", json={"dataset_slug": "btc_1h", "status": status, **fields})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["run_id"])


async def bar_indexes(client: AsyncTestClient, run_id: str) -> list[int]:  # type: ignore[type-arg]
    answer = await client.get(f"/api/runs/{run_id}/predictions", params={"format": "csv"})
    if answer.status_code == 404:
        return []
    assert answer.status_code == 200, answer.text
    return [int(line.split(",")[1]) for line in answer.text.splitlines()[1:]]


async def test_rows_appended_to_a_running_run_read_back_in_order_after_those_saved_on_create(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: Any,
) -> None:
    run_id = await open_run(client, predictions=rows(0, 3))
    first = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(3, 2)})
    assert first.status_code == 201, first.text
    detail = (await client.get(f"/api/runs/{run_id}")).json()
    assert first.json() == {
        "run_id": run_id,
        "prediction_measurement": detail["prediction_measurement"],
        "questdb_rows_written": 2,
        "checks": detail["checks"],
    }
    csv = "timestamp,bar_index,fold_number,prediction,target\n" + f"{START + 5 * 3600},5,1,0.5,1\n"
    second = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions_csv": csv})
    assert second.status_code == 201 and second.json()["questdb_rows_written"] == 1
    third = await client.post(
        f"/api/runs/{run_id}/predictions",
        files={
            "predictions": (
                "p.csv",
                f"timestamp,bar_index,fold_number,prediction,target\n{START + 6 * 3600},6,1,0.5,0\n",
            )
        },
    )
    assert third.status_code == 201, third.text
    assert await bar_indexes(client, run_id) == [0, 1, 2, 3, 4, 5, 6]
    assert world.leftover_uploads() == []


async def test_a_run_saved_without_predictions_gets_its_measurement_from_the_first_append(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    run_id = await open_run(client, status="PENDING")
    answer = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(0, 2)})
    assert answer.status_code == 201, answer.text
    assert await bar_indexes(client, run_id) == [0, 1]


async def test_appending_to_a_completed_run_is_a_409_naming_its_status_and_writes_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    run_id = await open_run(client, status="COMPLETED", predictions=rows(0, 2))
    answer = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(2, 2)})
    assert answer.status_code == 409
    assert answer.json()["details"] == {"status": "COMPLETED", "field": "predictions"}
    assert "COMPLETED" in answer.json()["error"]
    assert await bar_indexes(client, run_id) == [0, 1]


async def test_a_bad_row_is_a_400_naming_it_and_no_row_of_the_upload_is_written(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: Any,
) -> None:
    run_id = await open_run(client, predictions=rows(0, 2))
    csv = (
        "timestamp,bar_index,fold_number,prediction,target\n"
        f"{START + 2 * 3600},2,1,0.5,1\n"
        f"{START + 3 * 3600},3,1,not-a-number,1\n"
    )
    answer = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions_csv": csv})
    assert answer.status_code == 400, answer.text
    assert answer.json()["details"]["line"] == 3 and answer.json()["details"]["row"] == 2
    assert await bar_indexes(client, run_id) == [0, 1]
    assert world.leftover_uploads() == []


async def test_an_unknown_run_is_a_404_and_a_request_without_rows_a_400(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    unknown = "00000000-0000-0000-0000-000000000001"
    assert (await client.post(f"/api/runs/{unknown}/predictions", json={"predictions": rows(0, 1)})).status_code == 404
    run_id = await open_run(client)
    empty = await client.post(f"/api/runs/{run_id}/predictions", json={})
    assert empty.status_code == 400 and empty.json()["details"] == {"field": "predictions"}


async def test_a_retried_append_with_the_same_key_writes_once_and_answers_the_first_result(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: Any,
) -> None:
    run_id = await open_run(client, predictions=rows(0, 1))
    headers = {"Idempotency-Key": "append-1"}
    first = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(1, 2)}, headers=headers)
    retried = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(1, 2)}, headers=headers)
    assert first.status_code == retried.status_code == 201 and retried.json() == first.json()
    assert await bar_indexes(client, run_id) == [0, 1, 2]
    updated = [event.data for event in world.events.events if event.type == "run.updated"]
    assert [(data["run_id"], data["status"]) for data in updated] == [(run_id, "RUNNING")]  # one write, one event
    other = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": rows(3, 1)}, headers=headers)
    assert other.status_code == 409


async def test_the_predictions_of_a_run_with_none_stored_are_a_404_naming_the_run_in_every_format(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    run_id = await open_run(client)
    measurement = (await client.get(f"/api/runs/{run_id}")).json()["prediction_measurement"]

    for fmt in ("csv", "arrow", "ndjson"):
        answer = await client.get(f"/api/runs/{run_id}/predictions", params={"format": fmt})
        assert answer.status_code == 404, answer.text
        assert answer.json() == {
            "error": f"run {run_id} has no predictions stored",
            "details": {"prediction_measurement": measurement},
        }
    download = await client.get(f"/api/runs/{run_id}", params={"download_predictions": "true"})
    assert download.status_code == 404 and download.json()["error"] == f"run {run_id} has no predictions stored"


async def test_the_predictions_of_an_unknown_run_are_a_404_naming_the_ref(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    for ref in (str(uuid4()), "not-a-run"):
        answer = await client.get(f"/api/runs/{ref}/predictions", params={"format": "csv"})
        assert answer.status_code == 404
        assert answer.json() == {"error": f"run {ref!r} not found", "details": {"run_id": ref}}
