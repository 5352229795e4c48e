"""Every route that creates something, sent the same kind of request 8 times at once against a real embedded
server (SQLite + DuckDB): no answer is a 5xx and nothing is lost. The routes are read from the app, so a new
create route fails here until it has its row in the table (the races on two Postgres + QuestDB processes
are in test_concurrent_saves)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.served_app import serve

from entrypoints.http.app import create_app
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio

PARALLEL = 8
START = 1704067200
SECRET = "correct horse battery staple"
OHLCV = "timestamp,open,high,low,close,volume\n"
PREDICTIONS = "timestamp,bar_index,fold_number,prediction,target\n"
# Writes that create nothing: searches and read-only SQL, updates, job controls, deletes.
NOT_CREATING = {
    ("POST", "/api/runs/search"), ("POST", "/api/simulations/search"), ("POST", "/api/questdb/query"),
    ("POST", "/api/questdb/export"), ("PATCH", "/api/runs/{run_id:str}"),
    ("PATCH", "/api/simulations/{simulation_id:str}"), ("POST", "/api/jobs/{job_id:str}/cancel"),
    ("POST", "/api/jobs/{job_id:str}/retry"),
}


def bars(first: int, count: int) -> str:
    return OHLCV + "".join(f"{START + i * 3600},100,102,99,101,1\n" for i in range(first, first + count))


def predictions(first: int, count: int) -> str:
    return PREDICTIONS + "".join(f"{START + i * 3600},{i},1,0.5,1\n" for i in range(first, first + count))


def slug() -> str:
    return f"par_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(Path(tmp_path_factory.mktemp("parallel")), auth_secret=SECRET, auth_rate_limit_per_minute=1000) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=120) as client:
        yield client


async def rows_in(http: httpx.AsyncClient, measurement: str) -> int:
    answer = await http.get(f"/api/questdb/measurement/{measurement}", params={"sample": 0})
    return int(answer.json()["row_count"]) if answer.status_code == 200 else 0


async def dataset(http: httpx.AsyncClient, rows: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = {"dataset_slug": slug(), "granularity": "1h"}
    if rows:
        body |= {"record_questdb": True, "ohlcv_csv": bars(0, rows)}
    assert (await http.post("/api/datasets", json=body)).status_code == 201
    return dict((await http.get(f"/api/datasets/{body['dataset_slug']}")).json())


async def run(http: httpx.AsyncClient) -> dict[str, Any]:
    made = await http.post("/api/runs", json={"dataset_slug": (await dataset(http))["dataset_slug"], "status": "RUNNING"})
    assert made.status_code == 201, made.text
    return dict(made.json())


Send = Callable[[int], Awaitable[httpx.Response]]
Check = Callable[[list[httpx.Response]], Awaitable[None]]


async def datasets_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    name = slug()
    body = {"dataset_slug": name, "granularity": "1h", "record_questdb": True, "ohlcv_csv": bars(0, 50)}

    async def check(answers: list[httpx.Response]) -> None:
        assert sorted(a.status_code for a in answers) == [200] * (PARALLEL - 1) + [201]
        detail = (await http.get(f"/api/datasets/{name}")).json()
        assert detail["ohlcv_rows"] == 50 == await rows_in(http, detail["ohlcv_measurement"])

    return lambda i: http.post("/api/datasets", json=body), check


async def backfill_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    name = slug()
    for suffix, csv in (("o", bars(0, 20)), ("i", "timestamp,rsi\n" + f"{START},50\n")):
        imported = await http.post("/api/questdb/import", params={"measurement": f"{name}_{suffix}"}, content=csv)
        assert imported.status_code == 200, imported.text
    body = {"dataset_slug": name, "ohlcv_measurement": f"{name}_o", "indicator_measurement": f"{name}_i"}

    async def check(answers: list[httpx.Response]) -> None:
        assert all(a.status_code in (200, 201) for a in answers)
        assert (await http.get("/api/datasets", params={"search": name})).json()["total"] == 1
        assert (await http.get(f"/api/datasets/{name}")).json()["ohlcv_rows"] == 20

    return lambda i: http.post("/api/datasets/backfill", json=body), check


async def frames_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    made = await dataset(http, rows=10)

    async def check(answers: list[httpx.Response]) -> None:
        assert all(a.status_code == 200 for a in answers), [(a.status_code, a.text[:300]) for a in answers]
        detail = (await http.get(f"/api/datasets/{made['dataset_slug']}")).json()
        assert detail["ohlcv_rows"] == 10 + 5 * PARALLEL == await rows_in(http, detail["ohlcv_measurement"])

    async def send(i: int) -> httpx.Response:
        body = {"ohlcv_csv": bars(10 + 5 * i, 5)}
        return await http.post(f"/api/datasets/{made['dataset_slug']}/export", json=body)

    return send, check


async def runs_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    name = (await dataset(http))["dataset_slug"]
    body = {"dataset_slug": name, "predictions_csv": predictions(0, 30)}

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [201] * PARALLEL
        names = {a.json()["prediction_measurement"] for a in answers}
        assert len(names) == PARALLEL and all([await rows_in(http, n) == 30 for n in names])

    return lambda i: http.post("/api/runs", json=body), check


async def appended_predictions_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    made = await run(http)

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [201] * PARALLEL
        assert await rows_in(http, made["prediction_measurement"]) == 4 * PARALLEL

    async def send(i: int) -> httpx.Response:
        return await http.post(f"/api/runs/{made['run_id']}/predictions", json={"predictions_csv": predictions(4 * i, 4)})

    return send, check


async def folds_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    made = await run(http)

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [200] * PARALLEL
        folds = (await http.get(f"/api/runs/{made['run_id']}")).json()["folds"]
        assert sorted(f["fold_number"] for f in folds) == list(range(1, PARALLEL + 1))

    async def send(i: int) -> httpx.Response:
        return await http.post(f"/api/runs/{made['run_id']}/folds", json={"folds": [{"fold_number": i + 1}]})

    return send, check


async def simulations_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    made = await run(http)
    trades = "bar_timestamp,side,entry_price,exit_price,quantity,pnl\n" + f"{START},long,100,101,1,1\n"

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [201] * PARALLEL
        names = {a.json()["trades_measurement"] for a in answers}
        assert len(names) == PARALLEL and all([await rows_in(http, n) == 1 for n in names])

    return lambda i: http.post("/api/simulations", json={"run_id": made["run_id"], "trades_csv": trades}), check


async def import_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    measurement = slug()

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [200] * PARALLEL
        assert await rows_in(http, measurement) == 5 * PARALLEL

    async def send(i: int) -> httpx.Response:
        return await http.post("/api/questdb/import", params={"measurement": measurement, "kind": "ohlcv"}, content=bars(5 * i, 5))

    return send, check


async def queued_import_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    measurement = slug()

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [202] * PARALLEL
        for answer in answers:
            for _ in range(600):
                job = (await http.get(answer.json()["poll_url"])).json()
                if job["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                    break
                await asyncio.sleep(0.1)
            assert job["status"] == "COMPLETED", job
        assert await rows_in(http, measurement) == 5 * PARALLEL

    async def send(i: int) -> httpx.Response:
        params = {"measurement": measurement, "kind": "ohlcv"}
        return await http.post("/api/questdb/import/async", params=params, content=bars(5 * i, 5))

    return send, check


async def tokens_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [201] * PARALLEL
        assert len({a.json()["token_id"] for a in answers}) == PARALLEL

    return lambda i: http.post("/api/auth/token", json={"secret": SECRET, "name": f"parallel{i}"}), check


async def sessions_case(http: httpx.AsyncClient) -> tuple[Send, Check]:
    token = (await http.post("/api/auth/token", json={"secret": SECRET, "name": "for-sessions"})).json()["token"]

    async def check(answers: list[httpx.Response]) -> None:
        assert [a.status_code for a in answers] == [201] * PARALLEL
        assert len({a.json()["csrf_token"] for a in answers}) == PARALLEL

    return lambda i: http.post("/api/auth/session", json={"token": token}), check


CASES: dict[tuple[str, str], Callable[[httpx.AsyncClient], Awaitable[tuple[Send, Check]]]] = {
    ("POST", "/api/datasets"): datasets_case,
    ("POST", "/api/datasets/backfill"): backfill_case,
    ("POST", "/api/datasets/{ref:str}/export"): frames_case,
    ("POST", "/api/runs"): runs_case,
    ("POST", "/api/runs/{run_id:str}/predictions"): appended_predictions_case,
    ("POST", "/api/runs/{run_id:str}/folds"): folds_case,
    ("POST", "/api/simulations"): simulations_case,
    ("POST", "/api/questdb/import"): import_case,
    ("POST", "/api/questdb/import/async"): queued_import_case,
    ("POST", "/api/auth/token"): tokens_case,
    ("POST", "/api/auth/session"): sessions_case,
}


def test_every_create_route_has_its_parallel_case() -> None:
    app = create_app(Settings(_env_file=None))
    writes = {
        (method, re.sub(r"/$", "", route.path) or "/")
        for route in app.routes
        if route.path.startswith("/api")
        for method in route.methods & {"POST", "PUT", "PATCH"}
    }
    assert writes - NOT_CREATING == set(CASES)


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda route: " ".join(route))
async def test_parallel_requests_to_a_create_route_never_5xx_and_lose_nothing(
    http: httpx.AsyncClient, route: tuple[str, str]
) -> None:
    send, check = await CASES[route](http)
    answers = await asyncio.gather(*(send(i) for i in range(PARALLEL)))
    assert all(answer.status_code < 500 for answer in answers), [(a.status_code, a.text[:200]) for a in answers]
    await check(list(answers))
