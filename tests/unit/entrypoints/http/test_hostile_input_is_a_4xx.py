"""Bad input on write routes is a clear 4xx in the envelope, never a 500: deep nesting, bodies over the limits,
time bounds no store can hold, and form parts that are not UTF-8. Routes are read from the app itself, so a
new write route is covered the day it is added."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from entrypoints.http.auth import OPEN_BODY_BYTES
from entrypoints.http.inputs import time_param

pytestmark = pytest.mark.anyio


def write_operations(app: Litestar) -> list[tuple[str, str]]:
    operations = []
    for route in app.routes:
        if not route.path.startswith("/api"):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid4()), route.path)
        for method in sorted(route.methods & {"POST", "PUT", "PATCH"}):
            operations.append((method, path))
    return operations


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


async def test_json_nested_deeper_than_python_walks_is_a_400_on_every_write_route(world: Any) -> None:
    app = create_app(world.settings, world.container())
    answered: dict[tuple[str, str, int], int] = {}
    async with AsyncTestClient(app=app) as client:
        for method, path in write_operations(app):
            for depth in (1_000, 100_000):
                for body in (nested(depth), b"[" * depth + b"]" * depth):
                    response = await client.request(
                        method, path, content=body, headers={"content-type": "application/json"}
                    )
                    answered[(method, path, depth)] = response.status_code
                    assert response.status_code < 500, (method, path, depth, response.text)
                    assert set(response.json()) == {"error", "details"}
    assert len(write_operations(app)) >= 12
    assert answered[("POST", "/api/auth/token", 1_000)] == 400
    assert answered[("POST", "/api/questdb/query", 100_000)] == 400


async def test_a_json_body_over_the_upload_limit_is_a_413(world: Any) -> None:
    world.settings.max_upload_mb = 1
    app = create_app(world.settings, world.container())
    line = "1704067200,1\n"
    csv = "timestamp,x\n" + line * 100_000  # 1.4 MB of JSON once quoted: over 1 MiB, under 1 MiB + the old slack
    async with AsyncTestClient(app=app) as client:
        big = await client.post("/api/questdb/import", json={"measurement": "m", "data": csv})
        small = await client.post("/api/questdb/import", json={"measurement": "m", "data": csv[: 12 + len(line) * 50_000]})
    assert big.status_code == 413, big.text
    assert set(big.json()) == {"error", "details"}
    assert small.status_code == 200, small.text
    assert world.leftover_uploads() == []


@pytest.mark.parametrize("path", ["/api/auth/token"])
async def test_an_open_route_refuses_a_body_of_more_than_a_few_kilobytes(world: Any, path: str) -> None:
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        padded = {"secret": "x", "name": "n", "pad": "p" * OPEN_BODY_BYTES}
        response = await client.post(path, json=padded)
    assert response.status_code == 413, response.text
    assert set(response.json()) == {"error", "details"}


TIME_BOUNDS = ["1e30", "-1e30", "1e19", "99999999999999999999", "9.3e18"]


@pytest.mark.parametrize("bound", TIME_BOUNDS)
@pytest.mark.parametrize("name", ["from", "to"])
async def test_a_time_bound_no_store_can_hold_is_a_400(client: AsyncTestClient, bound: str, name: str) -> None:  # type: ignore[type-arg]
    csv = "timestamp,open,high,low,close,volume\n1704067200,1,2,0.5,1.5,10\n"
    created = await client.post("/api/datasets", json={
        "dataset_slug": "bounds", "symbol": "X", "granularity": "1h", "record_questdb": True, "ohlcv_csv": csv,
    })
    assert created.status_code in (200, 201), created.text
    response = await client.get("/api/datasets/bounds/ohlcv", params={name: bound})
    assert response.status_code == 400, response.text
    assert response.json()["details"] == {"field": name}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_every_epoch_bound_is_either_a_400_or_an_int64_of_nanoseconds(number: float) -> None:
    try:
        nanos = time_param(repr(number), "from")
    except Exception as exc:
        assert type(exc).__name__ == "InvalidInput"
        return
    assert nanos is not None and -(2**63) < nanos < 2**63


NOT_UTF8 = b'{"dataset_slug": "caf\xe9", "symbol": "X", "granularity": "1h"}'


@pytest.mark.parametrize(
    ("path", "part"),
    [("/api/datasets", "metadata"), ("/api/runs", "run"), ("/api/simulations", "simulation")],
)
async def test_a_form_part_that_is_not_utf8_is_a_400_naming_it(client: AsyncTestClient, path: str, part: str) -> None:  # type: ignore[type-arg]
    response = await client.post(path, files={part: (None, NOT_UTF8, "application/json")})
    assert response.status_code == 400, response.text
    assert response.json()["details"]["part"] == part


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"files": {"file": ("x.bin", b"\x00\x01\x02PK\x03\x04" * 100, "application/octet-stream")}},
        {"content": b"PK\x03\x04" + b"\x00" * 400, "headers": {"content-type": "application/octet-stream"}},
    ],
    ids=["multipart", "raw body"],
)
async def test_a_415_names_no_server_path(client: AsyncTestClient, world: Any, kwargs: dict[str, Any]) -> None:  # type: ignore[type-arg]
    response = await client.post("/api/questdb/import", params={"measurement": "m"}, **kwargs)
    assert response.status_code == 415, response.text
    assert str(world.uploads) not in response.text and str(world.settings.data_dir) not in response.text
    assert world.leftover_uploads() == []
