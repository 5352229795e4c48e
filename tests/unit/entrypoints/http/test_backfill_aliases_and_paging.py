"""Routes the flows do not reach: backfill, indicators, runs of a dataset, legacy aliases, paging."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

BARS = "timestamp,open,high,low,close,volume\n" + "".join(
    f"{1704067200 + i * 3600},{i},{i + 1},{i - 1},{i + 0.5},1\n" for i in range(24)
)
IND = "timestamp,rsi,ema\n" + "".join(f"{1704067200 + i * 3600},{i},{i * 2}\n" for i in range(24))


async def test_backfill_registers_a_dataset_over_existing_measurements_with_their_counts(
    client: AsyncTestClient,
) -> None:  # type: ignore[type-arg]
    for name, data, kind in (("old_bars", BARS, "ohlcv"), ("old_ind", IND, "indicators")):
        response = await client.post("/api/questdb/import", json={"measurement": name, "data": data, "kind": kind})
        assert response.status_code == 200, response.text
    backfilled = await client.post(
        "/api/datasets/backfill",
        json={
            "dataset_slug": "legacy",
            "symbol": "ETH",
            "granularity": "1h",
            "ohlcv_measurement": "old_bars",
            "indicator_measurement": "old_ind",
        },
    )
    assert backfilled.status_code == 201, backfilled.text
    body = backfilled.json()
    assert (body["ohlcv_rows"], body["indicator_rows"]) == (24, 24)
    assert body["ohlcv_first_ts"] == 1704067200 and body["indicator_last_ts"] == 1704067200 + 23 * 3600
    missing = await client.post(
        "/api/datasets/backfill",
        json={"dataset_slug": "ghost", "ohlcv_measurement": "nope", "indicator_measurement": "old_ind"},
    )
    assert missing.status_code == 404


async def test_indicators_stream_with_a_column_subset_time_window_and_limit(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "sol", "record_questdb": True, "indicator_csv": IND})
    response = await client.get(
        "/api/datasets/sol/indicators",
        params={
            "columns": "rsi",
            "from": "2024-01-01T02:00:00Z",
            "to": 1704067200 + 10 * 3600,
            "limit": 3,
            "format": "ndjson",
            "ts_unit": "s",
        },
    )
    assert response.status_code == 200, response.text
    rows = [line for line in response.text.splitlines() if line]
    assert rows == [
        '{"timestamp":1704074400,"rsi":2.0}',
        '{"timestamp":1704078000,"rsi":3.0}',
        '{"timestamp":1704081600,"rsi":4.0}',
    ]
    unknown = await client.get("/api/datasets/sol/indicators", params={"columns": "nope"})
    assert unknown.status_code == 400
    backwards = await client.get("/api/datasets/sol/indicators", params={"from": 1704081600, "to": 1704067200})
    assert backwards.status_code == 400


async def test_runs_of_a_dataset_and_the_legacy_aliases_answer_like_the_main_routes(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    dataset = (await client.post("/api/datasets", json={"dataset_slug": "ada"})).json()
    run = (await client.post("/api/runs", json={"dataset_id": dataset["dataset_id"], "fold_count": 4})).json()
    simulation = (await client.post("/api/simulations", json={"run_id": run["run_id"]})).json()
    by_dataset = (await client.get(f"/api/datasets/{dataset['dataset_id']}/runs")).json()
    assert [r["run_id"] for r in by_dataset["runs"]] == [run["run_id"]] and by_dataset["runs"][0]["fold_count"] == 4
    assert (await client.get("/api/indicators/datasets")).json()["datasets"][0]["dataset_id"] == dataset["dataset_id"]
    assert (await client.get("/api/indicators/datasets/ada")).json()["dataset_slug"] == "ada"
    assert (await client.get("/api/walkforward/runs")).json()["runs"][0]["run_id"] == run["run_id"]
    assert (await client.get(f"/api/walkforward/runs/{run['run_id']}")).json()["fold_count"] == 4
    assert (await client.get("/api/tradesim/runs")).json()["simulations"][0]["simulation_id"] == simulation[
        "simulation_id"
    ]
    detail = (await client.get(f"/api/tradesim/runs/{simulation['simulation_id']}")).json()
    assert detail["trade_count"] == 0 and [b["bucket"] for b in detail["trade_buckets"]] == ["all", "long", "short"]


async def test_paging_by_offset_and_by_cursor_walks_every_dataset_once(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    for i in range(7):
        assert (await client.post("/api/datasets", json={"dataset_slug": f"d{i}"})).status_code == 201
    by_offset = []
    for offset in range(0, 7, 3):
        page = (await client.get("/api/datasets", params={"limit": 3, "offset": offset})).json()
        assert page["total"] == 7
        by_offset += [d["dataset_slug"] for d in page["datasets"]]
    by_cursor, after = [], None
    while True:
        params = {"limit": 3} | ({"after": after} if after else {})
        page = (await client.get("/api/datasets", params=params)).json()
        by_cursor += [d["dataset_slug"] for d in page["datasets"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert by_offset == by_cursor and sorted(by_cursor) == [f"d{i}" for i in range(7)]
    assert by_cursor == [f"d{i}" for i in reversed(range(7))]  # newest first


async def test_frames_for_an_existing_dataset_need_no_slug_in_the_body(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    dataset = (await client.post("/api/datasets", json={"dataset_slug": "dot"})).json()
    response = await client.post(f"/api/datasets/{dataset['dataset_id']}/export", json={"ohlcv_csv": BARS})
    assert response.status_code == 200, response.text
    assert response.json()["ohlcv_rows"] == 24 and response.json()["indicator_rows"] == 0
    nothing = await client.post(f"/api/datasets/{dataset['dataset_id']}/export", json={})
    assert nothing.status_code == 400
