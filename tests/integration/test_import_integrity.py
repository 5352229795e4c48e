"""Imports are all or nothing over HTTP, on DuckDB and on QuestDB: a bad row at 90% of a 200,000-row file is a
400 naming its row, line, column and value, and the measurement keeps its rows and schema — appending or
replacing. An async import's job knows its total once the file is checked. Empty frames follow the
contract: a 400 on an import or a dataset upload, a save with 0 rows for a run's predictions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tests.integration.served_app import store_client, store_settings

from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

START = 1_704_067_200
ROWS = 200_000
BAD_ROW = 180_001  # 1-based data row: 90% of the file
OHLCV_HEADER = "timestamp,open,high,low,close,volume"


def ohlcv_csv(rows: int, *, start: int = START, bad_row: int | None = None, extra: bool = False) -> bytes:
    header = OHLCV_HEADER + (",vwap" if extra else "")
    tail = ",1.5" if extra else ""
    lines = [header]
    lines.extend(
        f"{start + i * 60},{100 + i % 7},{102 + i % 7},{99 + i % 7},{'abc' if i + 1 == bad_row else 101 + i % 7},"
        f"{1 + i % 3}{tail}"
        for i in range(rows)
    )
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"  # one app per store for the whole module


@pytest.fixture(scope="module", params=["duckdb", "questdb"])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return store_settings(request.param, tmp_path_factory.mktemp(f"integrity_{request.param}"))


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with store_client(settings) as test_client:
        yield test_client


def fresh(client: AsyncTestClient) -> str:  # type: ignore[type-arg]
    name = f"aon_{uuid.uuid4().hex[:10]}"
    client.made.append(name)  # type: ignore[attr-defined]
    return name


async def import_csv(client: AsyncTestClient, measurement: str, body: bytes, mode: str = "append") -> Any:  # type: ignore[type-arg]
    return await client.post(
        "/api/questdb/import",
        params={"measurement": measurement, "kind": "ohlcv", "mode": mode},
        content=body,
        headers={"Content-Type": "text/csv"},
    )


async def state(client: AsyncTestClient, measurement: str) -> dict[str, Any]:  # type: ignore[type-arg]
    described = (await client.get(f"/api/questdb/measurement/{measurement}", params={"sample": 0})).json()
    counted = await client.post(
        "/api/questdb/query", json={"sql": f"SELECT count(*) AS n, sum(close) AS c FROM {measurement}"}
    )
    return {
        "rows": described["row_count"],
        "bounds": (described["first_ts"], described["last_ts"]),
        "columns": described["columns"],
        "dedup_keys": described["dedup_keys"],
        "counted": counted.json()["rows"],
    }


@pytest.mark.parametrize("mode", ["append", "replace"])
async def test_a_bad_row_at_90_percent_leaves_the_measurement_exactly_as_it_was(
    client: AsyncTestClient,
    mode: str,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    assert (await import_csv(client, measurement, ohlcv_csv(1_000))).status_code == 200
    before = await state(client, measurement)
    assert before["rows"] == 1_000

    later = START + 10_000 * 60
    answer = await import_csv(client, measurement, ohlcv_csv(ROWS, start=later, bad_row=BAD_ROW, extra=True), mode)

    assert answer.status_code == 400, answer.text
    details = answer.json()["details"]
    assert details == {"row": BAD_ROW, "line": BAD_ROW + 1, "column": "close", "value": "abc"}
    assert await state(client, measurement) == before


async def test_an_async_import_knows_its_total_and_a_bad_row_fails_the_job_before_any_write(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    good = await client.post(
        "/api/questdb/import/async",
        params={"measurement": measurement, "kind": "ohlcv"},
        content=ohlcv_csv(5_000),
        headers={"Content-Type": "text/csv"},
    )
    job = await wait_for_job(client, good.json()["poll_url"])
    assert job["status"] == "COMPLETED", job
    assert (job["progress"], job["total"]) == (5_000, 5_000)

    bad = await client.post(
        "/api/questdb/import/async",
        params={"measurement": measurement, "kind": "ohlcv", "mode": "replace"},
        content=ohlcv_csv(5_000, start=START + 10**6, bad_row=4_500),
        headers={"Content-Type": "text/csv"},
    )
    failed = await wait_for_job(client, bad.json()["poll_url"])
    assert failed["status"] == "FAILED" and "line 4501" in failed["error"]
    assert (await state(client, measurement))["rows"] == 5_000


async def test_an_empty_import_or_dataset_frame_is_a_400_and_empty_predictions_save_a_run_with_none(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    empty = (OHLCV_HEADER + "\n").encode()
    assert (await import_csv(client, fresh(client), empty)).status_code == 400

    slug = f"aon_{uuid.uuid4().hex[:8]}"
    client.made.append(f"{slug}_ohlcv")  # type: ignore[attr-defined]
    frame = {"dataset_slug": slug, "record_questdb": True}
    refused = await client.post("/api/datasets", json={**frame, "ohlcv_csv": OHLCV_HEADER + "\n"})
    assert refused.status_code == 400, refused.text
    created = await client.post("/api/datasets", json={**frame, "ohlcv_csv": ohlcv_csv(10).decode()})
    assert created.status_code == 201, created.text

    header = "timestamp,bar_index,fold_number,prediction,target\n"
    run = await client.post("/api/runs", json={"dataset_slug": slug, "predictions_csv": header})
    assert run.status_code == 201, run.text
    client.made.append(run.json()["prediction_measurement"])  # type: ignore[attr-defined]
    assert run.json()["questdb_rows_written"] == 0


async def wait_for_job(client: AsyncTestClient, poll_url: str) -> dict[str, Any]:  # type: ignore[type-arg]
    for _ in range(600):
        job: dict[str, Any] = (await client.get(poll_url)).json()
        if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job did not finish: {job}")
