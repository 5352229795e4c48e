"""A dry run previews an import without writing it, and `on_error=skip` imports the good rows and reports the
rest, over HTTP on the embedded default store (DuckDB) and on QuestDB."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tests.integration.served_app import store_client, store_settings

from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

HOUR = 3600
START = 1_704_067_200
HEADER = "timestamp,open,high,low,close,volume"


def hourly_csv(hours: int, *, holes: set[int] = frozenset(), bad: dict[int, str] | None = None) -> bytes:  # type: ignore[assignment]
    """An hourly OHLCV file; `bad` puts a raw line in place of an hour's bar."""
    lines = [HEADER]
    for hour in range(hours):
        if hour in holes:
            continue
        lines.append((bad or {}).get(hour, f"{START + hour * HOUR},100,102,99,101,5"))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["duckdb", "questdb"])
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return store_settings(request.param, tmp_path_factory.mktemp(f"preview_{request.param}"))


@pytest.fixture(scope="module")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with store_client(settings) as test_client:
        yield test_client


def fresh(client: AsyncTestClient) -> str:  # type: ignore[type-arg]
    name = f"pre_{uuid.uuid4().hex[:10]}"
    client.made.append(name)  # type: ignore[attr-defined]
    return name


async def post_csv(client: AsyncTestClient, body: bytes, route: str = "/api/questdb/import", **params: Any) -> Any:  # type: ignore[type-arg]
    return await client.post(
        route, params={"kind": "ohlcv", **params}, content=body, headers={"Content-Type": "text/csv"}
    )


async def test_a_dry_run_of_an_hourly_file_with_three_holes_reports_those_gaps_and_writes_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    holes = {5, 10, 11, 30, 31, 32}  # three holes: 1, 2 and 3 bars
    answer = await post_csv(
        client, hourly_csv(48, holes=holes), measurement=measurement, dry_run="true", granularity="1h"
    )

    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["measurement"] == measurement
    assert preview["rows"] == 42
    assert [c["name"] for c in preview["columns"]] == HEADER.split(",")
    assert {c["type"] for c in preview["columns"][1:]} == {"DOUBLE"}
    assert (preview["first_ts"], preview["last_ts"]) == (START, START + 47 * HOUR)
    assert preview["duplicate_timestamps"] == 0
    assert preview["nulls"] == dict.fromkeys(HEADER.split(","), 0)
    gaps = preview["gaps"]
    assert (gaps["interval_s"], gaps["count"], gaps["missing_bars"]) == (HOUR, 3, 6)
    assert gaps["largest"] == [
        {"after_ts": START + 29 * HOUR, "before_ts": START + 33 * HOUR, "missing_bars": 3},
        {"after_ts": START + 9 * HOUR, "before_ts": START + 12 * HOUR, "missing_bars": 2},
        {"after_ts": START + 4 * HOUR, "before_ts": START + 6 * HOUR, "missing_bars": 1},
    ]
    assert (preview["rejected_rows"], preview["rejected"]) == (0, [])
    assert (await client.get(f"/api/questdb/measurement/{measurement}")).status_code == 404


async def test_a_dry_run_counts_repeated_timestamps_and_nulls_and_leaves_an_existing_measurement_alone(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    assert (await post_csv(client, hourly_csv(10), measurement=measurement)).status_code == 200
    repeated = hourly_csv(4) + f"{START + HOUR},1,2,0.5,,7\n".encode()
    answer = await post_csv(client, repeated, measurement=measurement, dry_run="true", mode="replace")

    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert (preview["rows"], preview["duplicate_timestamps"], preview["nulls"]["close"]) == (5, 1, 1)
    assert preview["gaps"] is None  # no granularity given
    described = (await client.get(f"/api/questdb/measurement/{measurement}", params={"sample": 0})).json()
    assert described["row_count"] == 10


async def test_skipping_bad_rows_imports_the_good_ones_and_names_each_rejected_row_and_line(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    bad = {3: "1,2,3", 7: f"{START + 7 * HOUR},100,102,99,abc,5", 9: ",100,102,99,101,5"}
    body = hourly_csv(12, bad=bad)

    refused = await post_csv(client, body, measurement=measurement)
    assert refused.status_code == 400
    assert (await client.get(f"/api/questdb/measurement/{measurement}")).status_code == 404

    answer = await post_csv(client, body, measurement=measurement, on_error="skip")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows_written"], report["rejected_rows"]) == (9, 3)
    rejected = report["rejected"]
    assert [(r["row"], r["line"], r["column"]) for r in rejected] == [
        (4, 5, None),
        (8, 9, "close"),
        (10, 11, "timestamp"),
    ]
    assert rejected[0]["reason"] == "expected 6 fields, found 3"
    assert rejected[1]["value"] == "abc"
    described = (await client.get(f"/api/questdb/measurement/{measurement}", params={"sample": 0})).json()
    assert described["row_count"] == 9


async def test_an_import_whose_every_row_is_rejected_is_a_400_that_lists_them(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    measurement = fresh(client)
    body = hourly_csv(2, bad={0: f"{START},x,1,1,1,1", 1: f"{START + HOUR},1,1,1,1,y"})
    answer = await post_csv(client, body, measurement=measurement, on_error="skip")
    assert answer.status_code == 400
    details = answer.json()["details"]
    assert details["rejected_rows"] == 2
    assert [(r["line"], r["column"]) for r in details["rejected"]] == [(2, "open"), (3, "volume")]


async def test_a_dataset_dry_run_measures_gaps_against_the_dataset_granularity_and_saves_nothing(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    slug = f"pre_{uuid.uuid4().hex[:8]}"
    client.made.append(f"{slug}_ohlcv")  # type: ignore[attr-defined]
    with_holes = hourly_csv(24, holes={3, 4, 20}).decode()
    frame = {"dataset_slug": slug, "symbol": "PRE", "granularity": "1h", "record_questdb": True}

    previewed = await client.post("/api/datasets", params={"dry_run": "true"}, json={**frame, "ohlcv_csv": with_holes})
    assert previewed.status_code == 200, previewed.text
    ohlcv = previewed.json()["ohlcv"]
    assert (ohlcv["measurement"], ohlcv["rows"], ohlcv["gaps"]["count"]) == (f"{slug}_ohlcv", 21, 2)
    assert previewed.json()["indicators"] is None
    assert (await client.get(f"/api/datasets/{slug}")).status_code == 404

    assert (await client.post("/api/datasets", json={**frame, "ohlcv_csv": hourly_csv(4).decode()})).status_code == 201
    exported = await client.post(
        f"/api/datasets/{slug}/export", params={"dry_run": "true"}, json={"ohlcv_csv": with_holes}
    )
    assert exported.status_code == 200, exported.text
    gaps = exported.json()["ohlcv"]["gaps"]
    assert (gaps["interval_s"], gaps["missing_bars"]) == (HOUR, 3)  # the dataset's own 1h
    assert (await client.get(f"/api/datasets/{slug}")).json()["ohlcv_rows"] == 4
