"""The desktop's flows over HTTP, field names exactly as the contract has them."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

OHLCV_CSV = "timestamp,open,high,low,close,volume\n" + "".join(
    f"{1704067200 + i * 3600},{100 + i},{101 + i},{99 + i},{100.5 + i},{10 + i}\n" for i in range(48)
)
IND_CSV = "timestamp_unix,sma_5\n" + "".join(f"{1704067200 + i * 3600},{100 + i * 0.5}\n" for i in range(48))

TRIPLET_FIELDS = {
    "dataset_id",
    "dataset_slug",
    "symbol",
    "granularity",
    "source",
    "ohlcv_measurement",
    "indicator_measurement",
    "ohlcv_rows",
    "indicator_rows",
    "ohlcv_first_ts",
    "ohlcv_last_ts",
    "indicator_first_ts",
    "indicator_last_ts",
    "metadata",
    "created_at",
    "updated_at",
    "version",
}


async def create_dataset(client: AsyncTestClient, slug: str = "btc25_3") -> dict:  # type: ignore[type-arg]
    response = await client.post(
        "/api/datasets",
        json={
            "dataset_slug": slug,
            "symbol": "BTC",
            "granularity": "1h",
            "source": "desktop",
            "metadata": {"exchange": "kraken"},
            "record_questdb": True,
            "ohlcv_csv": OHLCV_CSV,
            "indicator_csv": IND_CSV,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_dataset_created_with_frames_reports_the_counts_and_bounds_the_server_computed(
    client: AsyncTestClient,
    world,  # type: ignore[type-arg, no-untyped-def]
) -> None:
    body = await create_dataset(client)
    assert set(body) == TRIPLET_FIELDS
    assert body["ohlcv_measurement"] == "btc25_3_ohlcv" and body["indicator_measurement"] == "btc25_3_ind"
    assert (body["ohlcv_rows"], body["ohlcv_first_ts"], body["ohlcv_last_ts"]) == (
        48,
        1704067200,
        1704067200 + 47 * 3600,
    )
    assert body["indicator_rows"] == 48
    assert body["version"] == 1
    assert body["created_at"].endswith("Z")
    assert world.leftover_uploads() == []

    detail = (await client.get(f"/api/datasets/{body['dataset_slug']}")).json()
    assert detail["questdb_state"]["ohlcv"]["in_sync"] is True
    assert detail["questdb_state"]["ohlcv"]["row_count"] == 48
    assert detail["links"]["ohlcv"] == f"/api/datasets/{body['dataset_id']}/ohlcv"
    assert (detail["related_runs"], detail["related_simulations"]) == (0, 0)


async def test_upserting_the_same_slug_updates_and_answers_200(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    first = await create_dataset(client)
    again = await client.post("/api/datasets", json={"dataset_slug": "btc25_3", "symbol": "XBT"})
    assert again.status_code == 200
    assert again.json()["dataset_id"] == first["dataset_id"] and again.json()["symbol"] == "XBT"
    listing = (await client.get("/api/datasets", params={"search": "btc"})).json()
    assert listing["total"] == 1 and listing["datasets"][0]["symbol"] == "XBT"
    assert set(listing) == {"datasets", "total", "limit", "offset", "next_cursor"}


async def test_bars_come_back_downsampled_with_open_first_high_max_low_min_close_last_volume_sum(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client)
    response = await client.get(
        "/api/datasets/btc25_3/ohlcv", params={"sample_by": "4h", "format": "csv", "ts_unit": "s"}
    )
    assert response.status_code == 200, response.text
    table = pacsv.read_csv(io.BytesIO(response.content))
    first = table.slice(0, 1).to_pylist()[0]
    assert first == {
        "timestamp": 1704067200,
        "open": 100.0,
        "high": 104.0,
        "low": 99.0,
        "close": 103.5,
        "volume": 10 + 11 + 12 + 13,
    }
    assert table.num_rows == 12


async def test_a_run_with_folds_and_predictions_reads_back_in_the_desktop_column_order(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    dataset = await create_dataset(client)
    predictions = [
        {
            "timestamp": 1704067200 + i * 3600,
            "threshold_hi": 0.7,
            "target": i % 2,
            "prediction": 0.1 * (i % 10),
            "fold_number": 1 + i // 24,
            "bar_index": i,
            "threshold_lo": 0.3,
        }
        for i in range(48)
    ]
    response = await client.post(
        "/api/runs",
        json={
            "dataset_id": dataset["dataset_id"],
            "target_column": "target",
            "feature_columns": ["sma_5"],
            "walk_config": {"train": 100},
            "hyperparameters": {"max_depth": 3},
            "summary_metrics": {"auc": 0.6},
            "folds": [
                {
                    "fold_number": 1,
                    "train_start": 0,
                    "train_end": 23,
                    "test_start": 24,
                    "test_end": 35,
                    "thresholds": {"hi": 0.7},
                    "metrics": {"auc": 0.61},
                },
                {"fold_number": 2, "thresholds": {}, "metrics": {}},
            ],
            "predictions": predictions,
        },
    )
    assert response.status_code == 201, response.text
    saved = response.json()
    # The contract's three fields, plus `checks` (added fields are allowed; none is renamed or removed).
    assert set(saved) == {"run_id", "prediction_measurement", "questdb_rows_written", "checks"}
    assert saved["questdb_rows_written"] == 48
    assert saved["prediction_measurement"].startswith("btc25_3_wf_")

    run = (await client.get(f"/api/runs/{saved['run_id']}")).json()
    assert run["fold_count"] == 2 and [f["fold_number"] for f in run["folds"]] == [1, 2]
    assert run["folds"][0]["thresholds"] == {"hi": 0.7}
    assert run["links"]["predictions"] == f"/api/runs/{saved['run_id']}/predictions"

    csv = await client.get(f"/api/runs/{saved['run_id']}/predictions", params={"format": "csv"})
    assert csv.status_code == 200
    header = csv.text.splitlines()[0].split(",")
    assert header == ["timestamp", "bar_index", "fold_number", "prediction", "target", "threshold_hi", "threshold_lo"]
    assert csv.text.splitlines()[1].split(",")[0] == str(1704067200 * 1000)

    fold2 = await client.get(f"/api/runs/{saved['run_id']}/predictions", params={"format": "ndjson", "fold_number": 2})
    assert len(fold2.text.strip().splitlines()) == 24

    arrow = await client.get(
        f"/api/runs/{saved['run_id']}/predictions", headers={"Accept": "application/vnd.apache.arrow.stream"}
    )
    table = pa.ipc.open_stream(arrow.content).read_all()
    assert table.num_rows == 48 and table.column_names[:2] == ["timestamp", "bar_index"]

    listed = (await client.get("/api/runs", params={"dataset_slug": "btc25_3"})).json()
    assert listed["total"] == 1 and listed["runs"][0]["run_id"] == saved["run_id"]


async def test_a_simulation_gets_server_side_buckets_trades_and_an_equity_curve(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    dataset = await create_dataset(client)
    run = (await client.post("/api/runs", json={"dataset_slug": dataset["dataset_slug"]})).json()
    trades = [
        {
            "bar_timestamp": "2024-01-01T02:00:00Z",
            "entry_timestamp": 1704074400,
            "exit_timestamp": 1704078000,
            "side": "short",
            "entry_price": 101,
            "exit_price": 103,
            "quantity": 1,
            "pnl": -2.0,
            "return_pct": -1.98,
            "fees": 0.1,
        },
        {
            "bar_timestamp": 1704067200000,
            "entry_timestamp": 1704067200,
            "exit_timestamp": 1704070800,
            "side": "long",
            "entry_price": 100,
            "exit_price": 105,
            "quantity": 1,
            "pnl": 5.0,
            "return_pct": 5.0,
            "fees": 0.1,
        },
    ]
    response = await client.post(
        "/api/simulations",
        json={
            "run_id": run["run_id"],
            "config": {"initial_capital": 1000},
            "summary_metrics": {"sharpe": 1.0},
            "trades": trades,
        },
    )
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["questdb_rows_written"] == 2

    detail = (await client.get(f"/api/simulations/{saved['simulation_id']}")).json()
    buckets = {b["bucket"]: b for b in detail["trade_buckets"]}
    assert (
        buckets["all"]["trade_count"] == 2
        and buckets["long"]["total_pnl"] == 5.0
        and buckets["short"]["loss_count"] == 1
    )
    assert detail["trade_count"] == 2

    page = (await client.get(f"/api/simulations/{saved['simulation_id']}/trades")).json()
    assert [t["side"] for t in page["trades"]] == ["long", "short"]
    # trade_id numbers the trades as sent; the page orders them by bar time.
    assert [t["trade_id"] for t in page["trades"]] == [2, 1]
    assert page["trades"][0]["bar_timestamp"] == 1704067200000

    csv = await client.get(f"/api/simulations/{saved['simulation_id']}/trades", params={"format": "csv"})
    assert csv.status_code == 200, csv.text
    lines = csv.text.splitlines()
    assert lines[0].split(",")[:2] == ["bar_timestamp", "trade_id"] and len(lines) == 3

    equity = (await client.get(f"/api/simulations/{saved['simulation_id']}/equity")).json()
    assert equity["initial_capital"] == 1000.0
    assert [p["equity"] for p in equity["points"]] == [1000.0, 1005.0, 1003.0]

    hierarchy = (await client.get(f"/api/datasets/{dataset['dataset_id']}/hierarchy")).json()
    assert hierarchy["runs"][0]["simulations"][0]["simulation_id"] == saved["simulation_id"]


async def test_a_repeated_idempotency_key_replays_the_first_save_and_a_reused_one_is_a_409_naming_the_header(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await create_dataset(client, "idem")
    headers = {"Idempotency-Key": "save-1"}
    first = await client.post("/api/runs", json={"dataset_slug": "idem"}, headers=headers)
    again = await client.post("/api/runs", json={"dataset_slug": "idem"}, headers=headers)
    other = await client.post("/api/runs", json={"dataset_slug": "idem", "target_column": "y"}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert (await client.get("/api/runs")).json()["total"] == 1
    assert other.status_code == 409
    assert other.json() == {
        "error": "Idempotency-Key was already used for a different request",
        "details": {"header": "Idempotency-Key"},
    }
