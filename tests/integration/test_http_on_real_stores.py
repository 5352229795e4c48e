"""The desktop's flows over HTTP on the real stores: the embedded default (SQLite + DuckDB) and
production (Postgres + QuestDB), each with its own worker running the async saves."""

from __future__ import annotations

import asyncio
import io
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from litestar.testing import AsyncTestClient

from adapters.sql import migrate
from entrypoints.http.app import create_app
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

BARS = 240
START = 1704067200


def ohlcv_csv() -> str:
    rows = "".join(
        f"{START + i * 3600},{100 + i % 7},{102 + i % 7},{99 + i % 7},{101 + i % 7},{1 + i % 3}\n" for i in range(BARS)
    )
    return "timestamp,open,high,low,close,volume\n" + rows


def indicators_csv() -> str:
    return "timestamp\trsi\n".replace("\t", ",") + "".join(f"{START + i * 3600},{40 + i % 20}\n" for i in range(BARS))


def predictions_csv() -> str:
    header = "timestamp,bar_index,fold_number,prediction,target,threshold_0,threshold_1\n"
    return header + "".join(
        f"{START + i * 3600},{i},{1 + i // 120},{(i % 10) / 10},{i % 2},0.55,0.45\n" for i in range(BARS)
    )


def need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the suite through scripts/test.sh, which starts the real stores")
    return value


@pytest.fixture(params=["embedded", "production"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "embedded":
        yield Settings(data_dir=tmp_path, auth_enabled=False, in_process_worker=True, _env_file=None)
        return
    server = need("STAGE1_TEST_POSTGRES_URL")
    name = f"stage1_http_{uuid.uuid4().hex[:10]}"
    url = migrate.create_database(server, name)
    migrate.upgrade(url)
    try:
        yield Settings(
            data_dir=tmp_path, database_url=url, timeseries="questdb",
            questdb_http_url=need("STAGE1_TEST_QUESTDB_HTTP"), questdb_pg_url=need("STAGE1_TEST_QUESTDB_PG"),
            auth_enabled=False, in_process_worker=True, _env_file=None,
        )
    finally:
        migrate.drop_database(server, name)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def wait_for_job(client: AsyncTestClient, poll_url: str) -> dict:  # type: ignore[type-arg]
    for _ in range(300):
        job = (await client.get(poll_url)).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise AssertionError(f"job did not finish: {job}")


async def test_the_desktop_flows_work_end_to_end(client: AsyncTestClient, settings: Settings) -> None:  # type: ignore[type-arg]
    slug = f"flow_{uuid.uuid4().hex[:8]}"
    created = await client.post("/api/datasets", files={
        "metadata": (None, f'{{"dataset_slug": "{slug}", "symbol": "BTC", "granularity": "1h"}}', "application/json"),
        "ohlcv": ("ohlcv.csv", ohlcv_csv(), "text/csv"),
        "indicators": ("ind.csv", indicators_csv(), "text/csv"),
    })
    assert created.status_code == 201, created.text
    dataset = created.json()
    assert (dataset["ohlcv_rows"], dataset["indicator_rows"]) == (BARS, BARS)
    assert (dataset["ohlcv_first_ts"], dataset["ohlcv_last_ts"]) == (START, START + (BARS - 1) * 3600)

    detail = (await client.get(f"/api/datasets/{dataset['dataset_id']}")).json()
    assert detail["questdb_state"]["ohlcv"]["in_sync"] and detail["questdb_state"]["indicator"]["in_sync"]
    assert detail["questdb_state"]["ohlcv"]["designated_timestamp"] == "timestamp"

    bars = await client.get(f"/api/datasets/{slug}/ohlcv", params={"sample_by": "1d", "format": "csv", "ts_unit": "s"})
    assert bars.status_code == 200, bars.text
    table = pacsv.read_csv(io.BytesIO(bars.content))
    assert table.num_rows == BARS // 24
    day = table.slice(0, 1).to_pylist()[0]
    assert day["timestamp"] == START and day["open"] == 100 and day["volume"] == sum(1 + i % 3 for i in range(24))

    queued = await client.post("/api/runs", params={"async": "true"}, json={
        "dataset_slug": slug, "target_column": "target", "feature_columns": ["rsi"],
        "folds": [{"fold_number": 1, "thresholds": {"t0": 0.55}}, {"fold_number": 2}],
        "predictions_csv": predictions_csv(),
    })
    assert queued.status_code == 202, queued.text
    job = await wait_for_job(client, queued.json()["poll_url"])
    assert job["status"] == "COMPLETED", job
    run_id = job["result"]["run_id"]
    assert job["result"]["questdb_rows_written"] == BARS

    run = (await client.get(f"/api/runs/{run_id}")).json()
    assert run["fold_count"] == 2 and run["folds"][0]["thresholds"] == {"t0": 0.55}
    csv = await client.get(f"/api/runs/{run_id}/predictions", params={"format": "csv"})
    lines = csv.text.splitlines()
    assert lines[0] == "timestamp,bar_index,fold_number,prediction,target,threshold_0,threshold_1"
    assert len(lines) == BARS + 1 and lines[1].startswith(f"{START * 1000},0,1,")
    download = await client.get(f"/api/runs/{run_id}", params={"download_predictions": "true", "format": "arrow"})
    assert pa.ipc.open_stream(download.content).read_all().num_rows == BARS

    trades = "bar_timestamp,side,entry_price,exit_price,quantity,pnl,return_pct,fees,fold_number\n" + "".join(
        f"{START + i * 7200},{'long' if i % 2 else 'short'},100,{100 + (i % 5) - 2},1,{(i % 5) - 2},{(i % 5) - 2},0.1,1\n"
        for i in range(50)
    )
    saved = await client.post("/api/simulations", json={"run_id": run_id, "trades_csv": trades,
                                                          "config": {"initial_capital": 100}})
    assert saved.status_code == 201, saved.text
    simulation_id = saved.json()["simulation_id"]
    assert saved.json()["questdb_rows_written"] == 50
    streamed = await client.get(f"/api/simulations/{simulation_id}/trades", params={"format": "ndjson"})
    assert len(streamed.text.strip().splitlines()) == 50
    equity = (await client.get(f"/api/simulations/{simulation_id}/equity")).json()
    assert len(equity["points"]) == 51 and equity["points"][0]["equity"] == 100.0
    assert equity["points"][-1]["equity"] == pytest.approx(100 + sum((i % 5) - 2 for i in range(50)))

    hierarchy = (await client.get(f"/api/datasets/{slug}/hierarchy")).json()
    assert hierarchy["runs"][0]["simulations"][0]["simulation_id"] == simulation_id
    health = await client.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"


async def test_an_import_job_reports_progress_and_lands_every_row(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    measurement = f"imp_{uuid.uuid4().hex[:8]}"
    queued = await client.post(
        "/api/questdb/import/async", params={"measurement": measurement, "kind": "ohlcv"},
        content=ohlcv_csv().encode(), headers={"content-type": "text/csv"},
    )
    assert queued.status_code == 202, queued.text
    job = await wait_for_job(client, queued.json()["poll_url"])
    assert job["status"] == "COMPLETED" and job["result"]["rows_written"] == BARS
    described = (await client.get(f"/api/questdb/measurement/{measurement}", params={"sample": 3})).json()
    assert described["row_count"] == BARS and len(described["sample"]) == 3
    listed = (await client.get("/api/questdb/measurements", params={"prefix": measurement})).json()
    assert [m["name"] for m in listed["measurements"]] == [measurement]
    result = (await client.post("/api/questdb/query", json={"sql": f"SELECT count(*) AS n FROM {measurement}"})).json()
    assert result["rows"] == [[BARS]]
    refused = await client.post("/api/questdb/query", json={"sql": f"DROP TABLE {measurement}"})
    assert refused.status_code == 403


async def test_a_retried_import_with_the_same_idempotency_key_writes_nothing_twice(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    measurement = f"idem_{uuid.uuid4().hex[:8]}"
    body = {"measurement": measurement, "data": ohlcv_csv(), "kind": "ohlcv"}
    first = await client.post("/api/questdb/import", json=body, headers={"Idempotency-Key": "k-1"})
    again = await client.post("/api/questdb/import", json=body, headers={"Idempotency-Key": "k-1"})
    plain_retry = await client.post("/api/questdb/import", json=body)
    assert first.status_code == again.status_code == plain_retry.status_code == 200
    assert again.json() == first.json()
    described = (await client.get(f"/api/questdb/measurement/{measurement}")).json()
    assert described["row_count"] == BARS  # the dedup keys absorb even a retry without a key
