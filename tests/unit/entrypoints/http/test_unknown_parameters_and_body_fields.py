"""Strict input without breaking old clients: unknown query parameters are refused on every route, unknown
body fields are named (or refused under STAGE1_STRICT_BODIES) while the desktop's payloads answer as before."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
OHLCV_CSV = "timestamp,open,high,low,close,volume\n" + "".join(
    f"{1704067200 + i * 3600},{100 + i},{101 + i},{99 + i},{100.5 + i},{10 + i}\n" for i in range(4)
)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def ignored(response: Any) -> list[str]:
    header = response.headers.get("stage1-ignored-fields")
    return header.split(",") if header else []


async def post_desktop_triplet(client: AsyncTestClient) -> tuple[Any, Any, Any]:  # type: ignore[type-arg]
    dataset = await client.post("/api/datasets", json={**fixture("desktop_dataset.json"), "ohlcv_csv": OHLCV_CSV})
    run = await client.post("/api/runs", json=fixture("desktop_run.json"))
    run_id = run.json().get("run_id")
    simulation = await client.post("/api/simulations", json={**fixture("desktop_simulation.json"), "run_id": run_id})
    return dataset, run, simulation


async def test_the_desktops_payloads_answer_as_before_and_only_truly_unknown_fields_are_named(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    dataset, run, simulation = await post_desktop_triplet(client)

    assert dataset.status_code == 201, dataset.text
    assert dataset.json()["dataset_slug"] == "btc_desktop_1"
    assert ignored(dataset) == ["ui_selected"]  # related_runs, links, questdb_state, created_at: returned ones
    assert run.status_code == 201, run.text
    assert ignored(run) == ["ui_row_color"]
    assert simulation.status_code == 201, simulation.text
    assert ignored(simulation) == ["ui_pinned"]
    detail = await client.get(f"/api/runs/{run.json()['run_id']}")
    assert detail.json()["target_column"] == "close"


async def test_a_body_with_only_known_fields_carries_no_ignored_fields_header(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/api/datasets", json={"dataset_slug": "plain", "symbol": "ETH"})

    assert response.status_code == 201, response.text
    assert "stage1-ignored-fields" not in response.headers


@pytest.fixture
async def strict_client(world: Any) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    world.settings = world.settings.model_copy(update={"strict_bodies": True})
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as test_client:
        yield test_client


async def test_under_strict_bodies_an_unknown_field_is_a_400_naming_it_and_returned_fields_still_pass(
    strict_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    dataset, run, _ = await post_desktop_triplet(strict_client)
    echoed = {k: v for k, v in fixture("desktop_dataset.json").items() if k != "ui_selected"}
    clean = await strict_client.post("/api/datasets", json=echoed)

    assert dataset.status_code == 400
    assert dataset.json()["details"] == {"unknown_fields": ["ui_selected"]}
    assert run.status_code == 400
    assert run.json()["details"] == {"unknown_fields": ["ui_row_color"]}
    assert clean.status_code == 201, clean.text
    assert (await strict_client.get("/api/datasets")).json()["total"] == 1


def get_routes() -> list[str]:
    """Every GET route of the API, with path parameters filled in."""
    app = create_app()
    paths = sorted(
        {
            route.path
            for route in app.routes
            if isinstance(route, HTTPRoute) and "GET" in route.methods and route.path.startswith(("/api/", "/healthz"))
        }
    )
    return [re.sub(r"\{[^}]+\}", "nope", path) for path in paths]


async def test_every_get_route_refuses_a_query_parameter_it_does_not_know(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    # One app for the whole table: a client per route would cost a lifespan each.
    answers = {path: await client.get(path, params={"ordr_by": "name"}) for path in get_routes()}

    assert len(answers) > 20
    assert {path: r.status_code for path, r in answers.items() if r.status_code != 400} == {}
    assert {path for path, r in answers.items() if r.json()["details"]["unknown_parameters"] != ["ordr_by"]} == set()


async def test_known_parameters_and_their_aliases_still_answer(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    await client.post("/api/datasets", json={"dataset_slug": "d1", "record_questdb": True, "ohlcv_csv": OHLCV_CSV})

    listed = await client.get("/api/runs", params={"order_by": "created_at desc", "limit": "5"})
    frame = await client.get("/api/datasets/d1/ohlcv", params={"from": "1704067200", "format": "json"})
    typo = await client.get("/api/datasets/d1/ohlcv", params={"form": "1704067200"})

    assert listed.status_code == 200, listed.text
    assert frame.status_code == 200, frame.text
    assert typo.status_code == 400
    assert typo.json()["details"]["unknown_parameters"] == ["form"]


async def test_a_post_route_refuses_an_unknown_query_parameter_too(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/api/datasets?mdoe=append", json={"dataset_slug": "d2"})

    assert response.status_code == 400
    assert response.json()["details"]["unknown_parameters"] == ["mdoe"]
    assert (await client.get("/api/datasets")).json()["total"] == 0


async def test_a_search_body_names_a_misspelt_field_instead_of_silently_answering_everything(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/api/runs/search", json={"ordr_by": "created_at desc", "limit": 5})

    assert response.status_code == 200, response.text
    assert ignored(response) == ["ordr_by"]


async def test_under_strict_bodies_a_search_body_with_an_unknown_field_is_a_400(
    strict_client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await strict_client.post("/api/simulations/search", json={"filtr": "status = 'FAILED'"})

    assert response.status_code == 400
    assert response.json()["details"] == {"unknown_fields": ["filtr"]}


async def test_pages_a_browser_loads_take_cache_busting_parameters(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    for path in ("/", "/schema/openapi.json", "/metrics"):
        response = await client.get(path, params={"v": "123"})

        assert response.status_code == 200, (path, response.text)


async def test_ignored_field_names_a_header_cannot_carry_are_percent_encoded(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    response = await client.post("/api/runs/search", json={"\U0001dea8a,b": 1, "x\r\ny": 2})

    assert response.status_code == 200, response.text
    assert response.headers["stage1-ignored-fields"] == "%F0%9D%BA%A8a%2Cb,x%0D%0Ay"


async def test_a_single_valued_query_parameter_sent_twice_is_a_400_naming_it(client: Any) -> None:
    response = await client.get("/api/datasets?search=a&search=b&limit=5")
    assert response.status_code == 400
    assert response.json()["details"] == {"repeated_parameters": ["search"]}
    assert (await client.get("/api/datasets?search=a&limit=5")).status_code == 200


async def test_a_search_body_value_of_the_wrong_type_is_a_400_not_a_lenient_guess(client: Any) -> None:
    response = await client.post("/api/runs/search", json={"count": 0})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "details"}
    assert (await client.post("/api/runs/search", json={"count": False})).status_code == 200


async def test_a_search_body_that_is_not_json_is_a_400(client: Any) -> None:
    response = await client.post("/api/runs/search", content=b"\x00{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert set(response.json()) == {"error", "details"}
