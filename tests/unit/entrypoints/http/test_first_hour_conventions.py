"""Conventions a client should not need special cases for: one wording for an unknown dataset, `row` and
`line` both 1-based, the trades error naming `bar_timestamp`, pandas' `1D` for `sample_by`, a chosen aggregate
for indicators, and the dataset slug accepted wherever a dataset is named."""

from __future__ import annotations

import io

import pyarrow.csv as pacsv
import pytest
from litestar.testing import AsyncTestClient
from tests.unit.entrypoints.http.test_desktop_flows_over_http import create_dataset

pytestmark = pytest.mark.anyio

Client = AsyncTestClient  # type: ignore[type-arg]


async def _bars(client: Client, path: str, **params: str) -> list[dict[str, float]]:
    response = await client.get(path, params={"format": "csv", "ts_unit": "s", **params})
    assert response.status_code == 200, response.text
    return pacsv.read_csv(io.BytesIO(response.content)).to_pylist()  # type: ignore[no-any-return]


async def test_an_unknown_dataset_is_called_that_on_a_read_and_on_a_run(client: Client) -> None:
    read = await client.get("/api/datasets/no_such_set")
    run = await client.post("/api/runs", json={"dataset_slug": "no_such_set", "folds": []})
    assert (read.status_code, run.status_code) == (404, 409)
    for answer in (read, run):
        assert answer.json()["error"].startswith("unknown dataset 'no_such_set'")
        assert answer.json()["details"]["reason"] == "unknown dataset"


@pytest.mark.parametrize(("pandas", "ours"), [("1D", "1d"), ("4H", "4h"), ("1W", "1w")])
async def test_sample_by_takes_the_upper_case_units_that_mean_one_thing(client: Client, pandas: str, ours: str) -> None:
    await create_dataset(client)
    path = "/api/datasets/btc25_3/ohlcv"
    assert await _bars(client, path, sample_by=pandas) == await _bars(client, path, sample_by=ours)


async def test_sample_by_keeps_m_a_minute_and_M_a_month(client: Client) -> None:
    await create_dataset(client)
    minutes = await _bars(client, "/api/datasets/btc25_3/ohlcv", sample_by="60m")
    months = await _bars(client, "/api/datasets/btc25_3/ohlcv", sample_by="1M")
    assert (len(minutes), len(months)) == (48, 1)


async def test_a_bad_sample_by_says_which_units_mean_what(client: Client) -> None:
    await create_dataset(client)
    response = await client.get("/api/datasets/btc25_3/ohlcv", params={"sample_by": "1X"})
    assert response.status_code == 400
    assert "m is a minute, M a month" in response.json()["error"]


@pytest.mark.parametrize(("aggregate", "expected"), [("first", 100.0), ("last", 101.5), ("min", 100.0),
                                                      ("max", 101.5), ("mean", 100.75)])
async def test_indicators_downsample_with_the_aggregate_asked_for(
    client: Client, aggregate: str, expected: float
) -> None:
    await create_dataset(client)  # sma_5 = 100 + 0.5 * hour
    rows = await _bars(client, "/api/datasets/btc25_3/indicators", sample_by="4h", aggregate=aggregate)
    assert rows[0]["sma_5"] == expected


async def test_simulations_are_listed_by_dataset_slug_like_runs(client: Client) -> None:
    dataset = await create_dataset(client)
    await create_dataset(client, "eth25_3")
    run = (await client.post("/api/runs", json={"dataset_slug": "btc25_3", "folds": []})).json()
    other = (await client.post("/api/runs", json={"dataset_slug": "eth25_3", "folds": []})).json()
    for owner in (run, other):
        saved = await client.post("/api/simulations", json={"run_id": owner["run_id"], "trades": []})
        assert saved.status_code == 201, saved.text
    expected = [run["run_id"]]
    for params in ({"dataset_slug": "btc25_3"}, {"dataset_id": "btc25_3"}, {"dataset_id": dataset["dataset_id"]}):
        listed = (await client.get("/api/simulations", params=params)).json()["simulations"]
        assert [item["run_id"] for item in listed] == expected, params
        runs = (await client.get("/api/runs", params=params)).json()["runs"]
        assert [item["run_id"] for item in runs] == expected, params


async def test_a_trade_without_its_bar_time_is_refused_naming_bar_timestamp(client: Client) -> None:
    await create_dataset(client)
    run = (await client.post("/api/runs", json={"dataset_slug": "btc25_3", "folds": []})).json()
    trade = {"side": "long", "entry_price": 1.0, "exit_price": 2.0, "pnl": 1.0}
    for body in (
        {"run_id": run["run_id"], "trades": [trade]},
        {"run_id": run["run_id"], "trades_csv": "side,entry_price,exit_price,pnl\nlong,1,2,1\n"},
    ):
        response = await client.post("/api/simulations", json=body)
        assert response.status_code == 400, response.text
        assert "bar_timestamp" in response.json()["error"], response.text


async def test_a_bad_cell_names_its_row_and_its_line_both_from_one(client: Client) -> None:
    await create_dataset(client)
    csv = "timestamp,open,high,low,close,volume\n1704067200,1,1,1,1,1\n1704070800,1,1,1,oops,1\n"
    response = await client.post(
        "/api/questdb/import", json={"measurement": "btc_bad", "data": csv, "kind": "ohlcv"}
    )
    assert response.status_code == 400
    details = response.json()["details"]
    assert (details["row"], details["line"], details["column"]) == (2, 3, "close")
    assert "row 2 (line 3)" in response.json()["error"]
