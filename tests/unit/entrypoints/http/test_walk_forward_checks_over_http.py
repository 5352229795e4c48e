"""Walk-forward checks over HTTP: a leaking fold or a prediction for an undeclared fold is a 400 naming the
folds and saves nothing; predictions outside their test window are kept and counted in `checks`; empty fold
times come from the dataset's bars."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tests.unit.entrypoints.http.test_desktop_flows_over_http import create_dataset

pytestmark = pytest.mark.anyio
T0 = 1704067200  # bar i of the dataset is at T0 + i * 3600


def prediction(bar: int, fold: int) -> dict[str, Any]:
    return {"timestamp": T0 + bar * 3600, "bar_index": bar, "fold_number": fold, "prediction": 0.5, "target": 1}


async def nothing_saved(client: AsyncTestClient, world: Any) -> None:  # type: ignore[type-arg]
    """No run record, and no prediction measurement left behind."""
    assert (await client.get("/api/runs")).json()["total"] == 0
    assert [name for name in world.store._series if "_wf_" in name] == []


ONE_FOLD = [{"fold_number": 1, "train_start": 0, "train_end": 23, "test_start": 24, "test_end": 35}]


async def test_a_fold_trained_on_its_own_test_window_is_a_400_naming_it_and_nothing_is_saved(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: Any,
) -> None:
    await create_dataset(client)
    folds = [*ONE_FOLD, {"fold_number": 2, "train_start": 0, "train_end": 30, "test_start": 30, "test_end": 40}]
    response = await client.post(
        "/api/runs", json={"dataset_slug": "btc25_3", "folds": folds, "predictions": [prediction(30, 2)]}
    )
    assert response.status_code == 400, response.text
    assert response.json()["details"]["fold_numbers"] == [2]
    assert "fold 2" in response.json()["error"]
    await nothing_saved(client, world)


async def test_the_embargo_of_the_walk_config_widens_the_required_gap(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    refused = await client.post(
        "/api/runs", json={"dataset_slug": "btc25_3", "folds": ONE_FOLD, "walk_config": {"embargo_bars": 2}}
    )
    assert refused.status_code == 400 and refused.json()["details"]["embargo_bars"] == 2
    queued = await client.post(
        "/api/runs",
        params={"async": "true"},
        json={"dataset_slug": "btc25_3", "folds": ONE_FOLD, "walk_config": {"embargo_bars": 2}},
    )
    assert queued.status_code == 400  # refused before a job is queued
    assert (await client.get("/api/jobs")).json()["total"] == 0


async def test_predictions_for_an_undeclared_fold_are_a_400_naming_the_folds_and_nothing_is_saved(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: Any,
) -> None:
    await create_dataset(client)
    rows = [prediction(24, 1), prediction(25, 7), prediction(26, 9), prediction(27, 7)]
    response = await client.post("/api/runs", json={"dataset_slug": "btc25_3", "folds": ONE_FOLD, "predictions": rows})
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"field": "predictions", "fold_numbers": [7, 9]}
    await nothing_saved(client, world)


async def test_appending_predictions_for_an_undeclared_fold_is_a_400_and_leaves_the_rows_as_they_were(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    saved = await client.post(
        "/api/runs",
        json={"dataset_slug": "btc25_3", "status": "RUNNING", "folds": ONE_FOLD, "predictions": [prediction(24, 1)]},
    )
    run_id = saved.json()["run_id"]
    refused = await client.post(
        f"/api/runs/{run_id}/predictions", json={"predictions": [prediction(25, 1), prediction(26, 3)]}
    )
    assert refused.status_code == 400 and refused.json()["details"]["fold_numbers"] == [3]
    rows = await client.get(f"/api/runs/{run_id}/predictions", params={"format": "json"})
    assert [row["bar_index"] for row in rows.json()] == [24]


async def test_predictions_outside_their_test_window_are_stored_and_counted_in_checks(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    rows = [prediction(bar, 1) for bar in (20, 24, 35, 36, 40)]
    saved = await client.post(
        "/api/runs",
        json={"dataset_slug": "btc25_3", "status": "RUNNING", "folds": ONE_FOLD, "predictions": rows},
    )
    assert saved.status_code == 201, saved.text
    run_id = saved.json()["run_id"]
    assert saved.json()["questdb_rows_written"] == 5
    checks = (await client.get(f"/api/runs/{run_id}")).json()["checks"]
    assert checks == saved.json()["checks"] == {
        "predictions_outside_test_window": 3,
        "examples": [{"bar_index": b, "fold_number": 1} for b in (20, 36, 40)],
    }

    appended = await client.post(f"/api/runs/{run_id}/predictions", json={"predictions": [prediction(41, 1)]})
    assert appended.status_code == 201, appended.text
    checks = (await client.get(f"/api/runs/{run_id}")).json()["checks"]
    assert checks == appended.json()["checks"]
    assert checks["predictions_outside_test_window"] == 4 and checks["examples"][-1]["bar_index"] == 41

    # New bounds for fold 1 take every stored prediction again.
    wider = {"fold_number": 1, "train_start": 0, "train_end": 19, "test_start": 20, "test_end": 41}
    refolded = await client.post(f"/api/runs/{run_id}/folds", json={"folds": [wider]})
    assert refolded.status_code == 200, refolded.text
    assert refolded.json()["checks"] == {"predictions_outside_test_window": 0, "examples": []}


async def test_a_clean_run_answers_zero_outside_and_a_run_without_predictions_too(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    clean = await client.post(
        "/api/runs", json={"dataset_slug": "btc25_3", "folds": ONE_FOLD, "predictions": [prediction(30, 1)]}
    )
    bare = await client.post("/api/runs", json={"dataset_slug": "btc25_3"})
    for saved in (clean, bare):
        run = (await client.get(f"/api/runs/{saved.json()['run_id']}")).json()
        assert run["checks"] == {"predictions_outside_test_window": 0, "examples": []}


async def test_empty_fold_times_are_filled_from_the_dataset_bars_and_given_ones_kept(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)  # 48 hourly bars
    folds = [
        {"fold_number": 1, "train_start": 0, "train_end": 23, "test_start": 24, "test_end": 35, "test_end_ts": 42},
        {"fold_number": 2, "train_start": 12, "train_end": 35, "test_start": 36, "test_end": 60},
    ]
    saved = await client.post("/api/runs", json={"dataset_slug": "btc25_3", "folds": folds})
    run = (await client.get(f"/api/runs/{saved.json()['run_id']}")).json()
    first, second = run["folds"]
    assert (first["train_start_ts"], first["train_end_ts"], first["test_start_ts"], first["test_end_ts"]) == (
        T0,
        T0 + 23 * 3600,
        T0 + 24 * 3600,
        42,
    )
    assert (second["test_start_ts"], second["test_end_ts"]) == (T0 + 36 * 3600, None)  # bar 60 does not exist
