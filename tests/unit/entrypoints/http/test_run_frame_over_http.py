"""`GET /api/runs/{id}/frame`: one row per bar of the run's span, indicators and predictions on exactly
their bar, null elsewhere (never carried forward)."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio
T0 = 1704067200
HOUR = 3600


async def dataset(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    bars = "timestamp,open,high,low,close,volume\n" + "".join(
        f"{T0 + i * HOUR},{100 + i},{101 + i},{99 + i},{100.5 + i},{10 + i}\n" for i in range(10)
    )
    # bar 2 has no indicator row; a row half an hour after bar 0 lies between bars and must not show.
    indicators = "timestamp,sma_5,rsi\n" + "".join(
        f"{T0 + i * HOUR},{50 + i},{30 + i}\n" for i in (0, 1, 3, 4, 5, 6, 7, 8, 9)
    )
    indicators += f"{T0 + HOUR // 2},999,999\n"
    response = await client.post(
        "/api/datasets",
        json={
            "dataset_slug": "frame1",
            "symbol": "ETH",
            "granularity": "1h",
            "record_questdb": True,
            "ohlcv_csv": bars,
            "indicator_csv": indicators,
        },
    )
    assert response.status_code == 201, response.text


def prediction(bar: int) -> dict[str, Any]:
    return {
        "timestamp": T0 + bar * HOUR,
        "bar_index": bar,
        "fold_number": 1,
        "prediction": bar / 10,
        "target": 1,
        "threshold_hi": 0.7,
    }


async def saved_run(client: AsyncTestClient, folds: list[dict[str, Any]], bars: list[int]) -> str:  # type: ignore[type-arg]
    response = await client.post(
        "/api/runs", json={"dataset_slug": "frame1", "folds": folds, "predictions": [prediction(b) for b in bars]}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["run_id"])


FOLD = {"fold_number": 1, "train_start": 1, "train_end": 3, "test_start": 4, "test_end": 7}


async def test_each_bar_of_the_span_gets_its_own_indicator_and_prediction_or_null(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await dataset(client)
    run_id = await saved_run(client, [FOLD], [4, 5, 7])
    response = await client.get(f"/api/runs/{run_id}/frame", params={"format": "json", "ts_unit": "s"})
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [row["timestamp"] for row in rows] == [T0 + i * HOUR for i in range(1, 8)]  # train start .. test end
    assert list(rows[0]) == [
        "timestamp", "open", "high", "low", "close", "volume",
        "sma_5", "rsi",
        "bar_index", "fold_number", "prediction", "target", "threshold_hi",
    ]  # fmt: skip
    by_bar = {(row["timestamp"] - T0) // HOUR: row for row in rows}
    assert by_bar[2]["sma_5"] is None and by_bar[3]["sma_5"] == 53.0  # a hole stays a hole
    assert [by_bar[b]["prediction"] for b in range(1, 8)] == [None, None, None, 0.4, 0.5, None, 0.7]
    assert by_bar[6]["bar_index"] is None and by_bar[6]["threshold_hi"] is None  # never carried forward
    assert by_bar[7]["bar_index"] == 7 and by_bar[7]["open"] == 107.0


async def test_from_to_and_the_indicator_choice_narrow_the_frame(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await dataset(client)
    run_id = await saved_run(client, [FOLD], [4, 5])
    response = await client.get(
        f"/api/runs/{run_id}/frame",
        params={"format": "csv", "indicators": "rsi", "from": T0 + 4 * HOUR, "to": T0 + 5 * HOUR, "ts_unit": "s"},
    )
    lines = response.text.splitlines()
    assert lines[0] == "timestamp,open,high,low,close,volume,rsi,bar_index,fold_number,prediction,target,threshold_hi"
    assert [line.split(",")[0] for line in lines[1:]] == [str(T0 + 4 * HOUR), str(T0 + 5 * HOUR)]

    unknown = await client.get(f"/api/runs/{run_id}/frame", params={"indicators": "rsi,macd"})
    assert unknown.status_code == 400 and unknown.json()["details"]["unknown"] == ["macd"]


async def test_a_run_without_fold_bounds_spans_its_first_to_last_prediction_and_downloads_as_parquet(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await dataset(client)
    run_id = await saved_run(client, [], [2, 3, 5])
    response = await client.get(f"/api/runs/{run_id}/frame", params={"format": "parquet", "download": "true"})
    assert response.headers["content-disposition"] == f'attachment; filename="run_{run_id}_frame.parquet"'
    table = pq.read_table(io.BytesIO(response.content))
    assert table.num_rows == 4 and table.column("bar_index").to_pylist() == [2, 3, None, 5]
    assert table.schema.field("timestamp").type.tz == "UTC"


async def test_a_run_without_predictions_still_has_the_prediction_columns_all_null(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await dataset(client)
    response = await client.post("/api/runs", json={"dataset_slug": "frame1", "folds": [FOLD]})
    frame = await client.get(f"/api/runs/{response.json()['run_id']}/frame", params={"format": "json"})
    rows = frame.json()
    assert len(rows) == 7 and all(row["prediction"] is None and row["bar_index"] is None for row in rows)


async def test_an_unknown_run_is_a_404(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await client.get("/api/runs/00000000-0000-0000-0000-000000000000/frame")
    assert response.status_code == 404
