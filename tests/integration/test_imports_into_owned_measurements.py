"""`POST /api/questdb/import` into a measurement a record owns, on both store pairs (SQLite + DuckDB, and
Postgres + QuestDB): the owner's kind and columns go through the owner (counts, bounds, event), as when the
desktop saves a dataset by importing into its measurement; anything else is a 409 naming the owner and
leaves the measurement exactly as it was."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.serve_processes import need
from tests.integration.served_app import questdb_settings, serve
from tests.jobs_support import fresh_postgres_database as postgres_database

pytestmark = pytest.mark.anyio

START = 1704067200
OHLCV = "timestamp,open,high,low,close,volume\n"
TRADES = "bar_timestamp,side,entry_price,exit_price,quantity,pnl,return_pct,fees,fold_number\n"
PREDICTIONS = "timestamp,bar_index,fold_number,prediction,target\n"


def bars(first: int, count: int) -> str:
    return OHLCV + "".join(f"{START + i * 3600},100,102,99,101,1\n" for i in range(first, first + count))


def trades(count: int) -> str:
    return TRADES + "".join(f"{START + i * 7200},long,100,101,1,1,1,0.1,1\n" for i in range(count))


def predictions(count: int) -> str:
    return PREDICTIONS + "".join(f"{START + i * 3600},{i},1,0.5,1\n" for i in range(count))


@pytest.fixture(scope="module", params=["embedded", "postgres+questdb"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with ExitStack() as stack:
        settings: dict[str, Any] = {}
        if request.param != "embedded":
            need("STAGE1_TEST_POSTGRES_URL")
            settings = questdb_settings() | {"database_url": stack.enter_context(postgres_database("stage1_owned"))}
        yield stack.enter_context(serve(Path(tmp_path_factory.mktemp("owned")), **settings))


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        yield client


async def new_dataset(http: httpx.AsyncClient, rows: int = 10) -> dict[str, Any]:
    slug = f"owned_{uuid.uuid4().hex[:10]}"
    body = {"dataset_slug": slug, "symbol": "BTC", "granularity": "1h", "record_questdb": True, "ohlcv_csv": bars(0, rows)}
    created = await http.post("/api/datasets", json=body)
    assert created.status_code == 201, created.text
    return dict((await http.get(f"/api/datasets/{slug}")).json())


async def send(http: httpx.AsyncClient, measurement: str, csv: str, **params: str) -> httpx.Response:
    return await http.post(
        "/api/questdb/import", params={"measurement": measurement, **params}, content=csv,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip


async def finished(http: httpx.AsyncClient, poll_url: str) -> dict[str, Any]:
    for _ in range(300):
        job = (await http.get(poll_url)).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return dict(job)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{poll_url} did not finish")


async def rows_in(http: httpx.AsyncClient, measurement: str) -> int:
    answer = await http.get(f"/api/questdb/measurement/{measurement}", params={"sample": 0})
    return int(answer.json()["row_count"]) if answer.status_code == 200 else 0


# (parameters, first bar, bars sent) -> the bars the dataset then has, one import after the other
DESKTOP_SAVES = [
    ({"kind": "ohlcv", "mode": "replace"}, 0, 24, 24),  # the desktop saves the whole frame again
    ({"mode": "replace"}, 0, 30, 30),  # kind left out: the owner's
    ({"kind": "ohlcv"}, 30, 5, 35),  # appended bars
]


async def test_the_desktop_saving_a_dataset_by_importing_into_its_measurement_goes_through_the_dataset(
    http: httpx.AsyncClient,
) -> None:
    dataset = await new_dataset(http)
    measurement = dataset["ohlcv_measurement"]
    for params, first, count, expected_rows in DESKTOP_SAVES:
        answer = await send(http, measurement, bars(first, count), **params)

        assert answer.status_code == 200, answer.text
        after = (await http.get(f"/api/datasets/{dataset['dataset_slug']}")).json()
        assert after["version"] == dataset["version"] + 1  # each save changed the rows: a new version
        dataset = after
        assert after["ohlcv_rows"] == expected_rows == await rows_in(http, measurement)
        assert after["ohlcv_first_ts"] == START and after["ohlcv_last_ts"] == START + (first + count - 1) * 3600
        assert after["questdb_state"]["ohlcv"]["in_sync"] is True


# (what is sent, why it is not the owner's) -> always a 409 naming the owner, the measurement untouched
REFUSED = {
    "junk columns, replace": ("timestamp,junk\n1704067200,1\n", {"mode": "replace"}),
    "junk columns, generic": ("timestamp,junk\n1704067200,1\n", {"kind": "generic", "mode": "replace"}),
    "indicators into ohlcv": ("timestamp,rsi\n1704067200,1\n", {"kind": "indicators"}),
    "trades into ohlcv": (trades(2), {"kind": "trades", "mode": "replace"}),
    "an extra column": (OHLCV.strip() + ",extra\n1704067200,1,2,0.5,1,1,9\n", {"kind": "ohlcv"}),
}


async def test_any_other_import_into_a_datasets_measurement_is_a_409_naming_it(http: httpx.AsyncClient) -> None:
    dataset = await new_dataset(http)
    measurement = dataset["ohlcv_measurement"]
    for case, (csv, params) in REFUSED.items():
        answer = await send(http, measurement, csv, **params)
        queued = await http.post(
            "/api/questdb/import/async", params={"measurement": measurement, **params}, content=csv,
            headers={"Content-Type": "text/csv"},
        )  # fmt: skip

        assert answer.status_code == 409, (case, answer.text)
        assert answer.json()["details"]["owner"] == {"kind": "dataset", "id": dataset["dataset_id"]}
        assert dataset["dataset_id"] in answer.json()["error"]
        assert queued.status_code in (202, 409)  # the kind is refused at once, the columns once a worker reads them
        if queued.status_code == 202:
            job = await finished(http, queued.json()["poll_url"])
            assert job["status"] == "FAILED" and job["attempts"] == 1 and dataset["dataset_id"] in job["error"]
    after = (await http.get(f"/api/datasets/{dataset['dataset_slug']}")).json()
    assert await rows_in(http, measurement) == 10 == after["ohlcv_rows"]
    assert after["questdb_state"]["ohlcv"]["in_sync"] is True


async def test_imports_into_a_runs_and_a_simulations_measurements_go_through_them(http: httpx.AsyncClient) -> None:
    dataset = await new_dataset(http)
    run = await http.post(
        "/api/runs", json={"dataset_slug": dataset["dataset_slug"], "status": "RUNNING", "predictions_csv": predictions(3)}
    )
    assert run.status_code == 201, run.text
    simulation = await http.post("/api/simulations", json={"run_id": run.json()["run_id"], "trades_csv": trades(4)})
    assert simulation.status_code == 201, simulation.text
    run_measurement = run.json()["prediction_measurement"]
    trades_measurement = simulation.json()["trades_measurement"]

    more_predictions = await send(http, run_measurement, predictions(6), kind="predictions")
    ohlcv_into_trades = await send(http, trades_measurement, bars(0, 3), kind="ohlcv")
    trades_again = await send(http, trades_measurement, trades(6), kind="trades", mode="replace")
    closed = await http.patch(f"/api/runs/{run.json()['run_id']}", json={"status": "COMPLETED"})
    into_a_closed_run = await send(http, run_measurement, predictions(8), kind="predictions")

    assert more_predictions.status_code == 200, more_predictions.text
    assert ohlcv_into_trades.status_code == 409
    assert ohlcv_into_trades.json()["details"]["owner"]["kind"] == "simulation"
    assert trades_again.status_code == 200, trades_again.text
    detail = (await http.get(f"/api/simulations/{simulation.json()['simulation_id']}")).json()
    assert detail["trade_count"] == 6 == await rows_in(http, trades_measurement)
    # The simulation follows its measurement whole: buckets, the trades it pages and its equity.
    simulation_id = simulation.json()["simulation_id"]
    buckets = {b["bucket"]: b["trade_count"] for b in detail["trade_buckets"]}
    assert buckets["all"] == 6 == buckets.get("long", 0) + buckets.get("short", 0)
    assert (await http.get(f"/api/simulations/{simulation_id}/trades", params={"limit": 100})).json()["total"] == 6
    equity = (await http.get(f"/api/simulations/{simulation_id}/equity")).json()["points"]
    assert len(equity) == 1 + 6  # the starting capital, then one point per trade
    assert closed.status_code == 200, closed.text
    assert into_a_closed_run.status_code == 409 and into_a_closed_run.json()["details"]["status"] == "COMPLETED"
    assert await rows_in(http, run_measurement) == 6


async def test_an_import_into_a_measurement_nobody_owns_is_as_before(http: httpx.AsyncClient) -> None:
    measurement = f"free_{uuid.uuid4().hex[:10]}"
    first = await send(http, measurement, "timestamp,junk\n1704067200,1\n", mode="replace")
    assert first.status_code == 200, first.text
    assert await rows_in(http, measurement) == 1
