"""Saves that race each other on the real stores (SQLite + DuckDB embedded, Postgres + QuestDB production):
parallel creates of one slug, parallel runs and simulations on one dataset. Nobody gets a spurious 409 and
no save loses another's rows."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from tests.integration.serve_processes import production, started
from tests.jobs_support import fresh_postgres_database as postgres_database

pytestmark = pytest.mark.anyio

BARS = 100
START = 1704067200


def ohlcv_csv(bars: int = BARS) -> str:
    rows = "".join(f"{START + i * 3600},{100 + i % 7},{102 + i % 7},{99 + i % 7},{101 + i % 7},1\n" for i in range(bars))
    return "timestamp,open,high,low,close,volume\n" + rows


def predictions_csv(bars: int = BARS) -> str:
    header = "timestamp,bar_index,fold_number,prediction,target\n"
    return header + "".join(f"{START + i * 3600},{i},1,{(i % 10) / 10},{i % 2}\n" for i in range(bars))


def trades_csv(count: int = 20) -> str:
    header = "bar_timestamp,side,entry_price,exit_price,quantity,pnl,return_pct,fees,fold_number\n"
    return header + "".join(f"{START + i * 7200},long,100,101,1,1,1,0.1,1\n" for i in range(count))


@pytest.fixture(scope="module", params=["embedded", "production"])
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Real `stage1 serve` processes: one on SQLite + DuckDB (embedded is one process by design), two
    sharing Postgres + QuestDB as production runs them."""
    root = tmp_path_factory.mktemp(request.param)
    with ExitStack() as stack:
        if request.param == "embedded":
            settings: list[dict[str, str]] = [{}]
        else:
            options = production(stack.enter_context(postgres_database("stage1_races")))
            settings = [options, options]
        urls = stack.enter_context(started(root, settings))
        yield urls


class Servers:
    """Spreads requests over every server in turn, as a load balancer in front of the workers would."""

    def __init__(self, urls: list[str], http: httpx.AsyncClient) -> None:
        self._urls = urls
        self._http = http
        self._next = 0

    def _url(self, path: str) -> str:
        url = self._urls[self._next % len(self._urls)]
        self._next += 1
        return url + path

    async def post(self, path: str, **options: Any) -> httpx.Response:
        return await self._http.post(self._url(path), **options)

    async def get(self, path: str, **options: Any) -> httpx.Response:
        return await self._http.get(self._url(path), **options)


@pytest.fixture
async def client(servers: list[str]) -> AsyncIterator[Servers]:
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        yield Servers(servers, http)


def new_slug(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


async def in_parallel(count: int, send: Any) -> list[Any]:
    return list(await asyncio.gather(*(send() for _ in range(count))))


def outcome(answers: list[httpx.Response]) -> str:
    """Statuses counted, then each distinct error once: what a failed race assertion should show."""
    counts = Counter(answer.status_code for answer in answers)
    errors = {answer.text[:160] for answer in answers if answer.status_code >= 400}
    return f"statuses {dict(sorted(counts.items()))}; errors {sorted(errors)}"


async def row_count(client: Servers, measurement: str) -> int | None:
    described = await client.get(f"/api/questdb/measurement/{measurement}")
    return described.json()["row_count"] if described.status_code == 200 else None


@pytest.mark.parametrize("count", [2, 20])
async def test_parallel_creates_of_one_new_slug_with_rows_answer_201_once_then_200_and_keep_the_rows(
    client: Servers, count: int
) -> None:
    slug = new_slug("race")
    body = {"dataset_slug": slug, "symbol": "BTC", "granularity": "1h", "record_questdb": True, "ohlcv_csv": ohlcv_csv()}

    answers = await in_parallel(count, lambda: client.post("/api/datasets", json=body))

    assert sorted(answer.status_code for answer in answers) == [200] * (count - 1) + [201], outcome(answers)
    detail = (await client.get(f"/api/datasets/{slug}")).json()
    assert detail["ohlcv_rows"] == BARS and detail["ohlcv_measurement"] == f"{slug}_ohlcv"
    assert detail["questdb_state"]["ohlcv"]["exists"] and detail["questdb_state"]["ohlcv"]["in_sync"]
    assert await row_count(client, f"{slug}_ohlcv") == BARS
    assert {answer.json()["dataset_id"] for answer in answers} == {detail["dataset_id"]}


async def test_parallel_creates_of_one_new_slug_without_rows_answer_201_then_200(
    client: Servers,
) -> None:
    slug = new_slug("bare")
    body = {"dataset_slug": slug, "symbol": "ETH", "granularity": "4h"}

    answers = await in_parallel(2, lambda: client.post("/api/datasets", json=body))

    assert sorted(answer.status_code for answer in answers) == [200, 201], outcome(answers)
    listed = (await client.get("/api/datasets", params={"search": slug})).json()
    assert listed["total"] == 1


async def dataset_with_a_run(client: Servers) -> tuple[str, str]:
    slug = new_slug("runs")
    created = await client.post("/api/datasets", json={"dataset_slug": slug, "symbol": "BTC", "granularity": "1h"})
    assert created.status_code == 201, created.text
    run = await client.post("/api/runs", json={"dataset_slug": slug, "predictions_csv": predictions_csv(10)})
    assert run.status_code == 201, run.text
    return slug, run.json()["run_id"]


async def test_parallel_run_saves_on_one_dataset_all_land_under_names_of_their_own(
    client: Servers,
) -> None:
    slug, _ = await dataset_with_a_run(client)
    body = {"dataset_slug": slug, "target_column": "target", "predictions_csv": predictions_csv()}

    answers = await in_parallel(12, lambda: client.post("/api/runs", json=body))

    assert [answer.status_code for answer in answers] == [201] * 12, outcome(answers)
    names = [answer.json()["prediction_measurement"] for answer in answers]
    assert len(set(names)) == 12
    assert all(name.startswith(f"{slug}_wf_") for name in names)
    for name in names:
        assert await row_count(client, name) == BARS, name


async def test_parallel_simulation_saves_on_one_run_all_land_under_names_of_their_own(
    client: Servers,
) -> None:
    slug, run_id = await dataset_with_a_run(client)
    body = {"run_id": run_id, "trades_csv": trades_csv()}

    answers = await in_parallel(8, lambda: client.post("/api/simulations", json=body))

    assert [answer.status_code for answer in answers] == [201] * 8, outcome(answers)
    names = [answer.json()["trades_measurement"] for answer in answers]
    assert len(set(names)) == 8 and all(name.startswith(f"{slug}_sim_") for name in names)
    for name in names:
        assert await row_count(client, name) == 20, name


async def test_an_explicit_measurement_name_that_is_taken_stays_a_conflict(
    client: Servers,
) -> None:
    slug, _ = await dataset_with_a_run(client)
    name = f"{slug}_mine"
    body = {"dataset_slug": slug, "prediction_measurement": name, "predictions_csv": predictions_csv()}

    answers = await in_parallel(3, lambda: client.post("/api/runs", json=body))

    assert sorted(answer.status_code for answer in answers) == [201, 409, 409], outcome(answers)
    assert await row_count(client, name) == BARS
    again = await client.post("/api/runs", json=body)
    assert again.status_code == 409 and again.json()["details"]["field"] == "prediction_measurement"
