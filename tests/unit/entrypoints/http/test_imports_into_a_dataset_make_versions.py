"""An import into a measurement a dataset owns is a change of the dataset's rows: it records a version as an
upload does (none for identical rows), and results saved before it turn stale when it changed bars they used."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio
Client = AsyncTestClient  # type: ignore[type-arg]
START = 1_704_067_200
HOUR = 3600


def bars(first: int, count: int, close: float = 101) -> str:
    rows = "".join(f"{START + i * HOUR},100,102,99,{close},1\n" for i in range(first, first + count))
    return "timestamp,open,high,low,close,volume\n" + rows


async def new_dataset(client: Client) -> dict[str, Any]:
    body = {
        "dataset_slug": "btc",
        "symbol": "BTC",
        "granularity": "1h",
        "record_questdb": True,
        "ohlcv_csv": bars(0, 10),
    }
    assert (await client.post("/api/datasets", json=body)).status_code == 201
    return dict((await client.get("/api/datasets/btc")).json())


async def import_sync(client: Client, measurement: str, csv: str, **params: str) -> None:
    answer = await client.post(
        "/api/questdb/import", params={"measurement": measurement, "kind": "ohlcv", **params}, content=csv,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text


async def import_queued(client: Client, measurement: str, csv: str, **params: str) -> None:
    answer = await client.post(
        "/api/questdb/import/async", params={"measurement": measurement, "kind": "ohlcv", **params}, content=csv,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 202, answer.text
    for _ in range(200):
        job = (await client.get(answer.json()["poll_url"])).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            assert job["status"] == "COMPLETED", job
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the queued import did not finish")


async def versions(client: Client, dataset_id: str) -> list[dict[str, Any]]:
    answer = await client.get(f"/api/datasets/{dataset_id}/versions")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["versions"])


@pytest.mark.parametrize("send", [import_sync, import_queued], ids=["sync", "async"])
async def test_an_import_of_new_bars_is_one_version_and_the_same_rows_again_are_none(client: Client, send: Any) -> None:
    dataset = await new_dataset(client)
    assert dataset["version"] == 1

    await send(client, dataset["ohlcv_measurement"], bars(10, 5))

    after = (await client.get("/api/datasets/btc")).json()
    listed = await versions(client, dataset["dataset_id"])
    assert after["version"] == 2 and [v["version"] for v in listed] == [2, 1]
    latest = listed[0]
    assert (latest["ohlcv_rows"], latest["ohlcv_first_ts"], latest["ohlcv_last_ts"]) == (15, START, START + 14 * HOUR)
    assert latest["changed_from_ts"] == START + 10 * HOUR and latest["ohlcv_checksum"] != listed[1]["ohlcv_checksum"]

    await send(client, dataset["ohlcv_measurement"], bars(0, 15), mode="replace")

    assert (await client.get("/api/datasets/btc")).json()["version"] == 2
    assert [v["version"] for v in await versions(client, dataset["dataset_id"])] == [2, 1]


async def test_a_run_saved_before_an_import_that_edits_an_earlier_bar_is_stale(client: Client) -> None:
    dataset = await new_dataset(client)
    run = (await client.post("/api/runs", json={"dataset_slug": "btc"})).json()
    before = (await client.get(f"/api/runs/{run['run_id']}")).json()
    assert before["dataset_version"] == 1 and before["stale"] is False

    await import_sync(client, dataset["ohlcv_measurement"], bars(3, 1, close=150))

    detail = (await client.get(f"/api/runs/{run['run_id']}")).json()
    assert detail["stale"] is True and "version 2" in detail["stale_reason"]
    assert (await versions(client, dataset["dataset_id"]))[0]["changed_from_ts"] == START + 3 * HOUR
