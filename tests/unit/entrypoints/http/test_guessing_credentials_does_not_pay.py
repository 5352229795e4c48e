"""Guessing credentials does not pay: made-up tokens share their address's bucket, failed secrets and tokens lock
the address out with a doubling wait, and token issuance has its own strict limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from entrypoints.http.app import create_app

pytestmark = pytest.mark.anyio

SECRET = "correct horse battery staple"


def secured_app(world: Any, **settings: Any) -> Litestar:
    world.settings.auth_enabled = True
    world.settings.auth_secret = SecretStr(SECRET)
    for name, value in settings.items():
        setattr(world.settings, name, value)
    return create_app(world.settings, world.container())


@pytest.fixture
async def locked(world: Any) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    app = secured_app(world, auth_lockout_after=3, auth_lockout_seconds=30.0, auth_rate_limit_per_minute=1000)
    async with AsyncTestClient(app=app) as client:
        yield client


# Each way of presenting a wrong credential, and the right credential sent once the address is locked out.
GUESSES = {
    "header token": ("GET", "/api/datasets", {"headers": {"X-Stage1-Token": "s1_guess"}}),
    "bearer token": ("GET", "/api/runs", {"headers": {"Authorization": "Bearer s1_guess"}}),
    "wrong secret": ("POST", "/api/auth/token", {"json": {"secret": "guess", "name": "x"}}),
}


async def test_requests_without_any_token_are_401s_that_never_lock_the_address_out(
    locked: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    statuses = {(await locked.get("/api/jobs")).status_code for _ in range(6)}
    assert statuses == {401}
    issued = await locked.post("/api/auth/token", json={"secret": SECRET, "name": "after-asking"})
    assert issued.status_code == 201


@pytest.mark.parametrize("way", sorted(GUESSES))
async def test_repeated_failures_lock_the_address_out_even_for_the_right_secret(
    locked: AsyncTestClient, way: str  # type: ignore[type-arg]
) -> None:
    method, path, kwargs = GUESSES[way]
    statuses = [(await locked.request(method, path, **kwargs)).status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]  # the third failure starts the lockout
    refused = await locked.post("/api/auth/token", json={"secret": SECRET, "name": "late"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    assert set(refused.json()) == {"error", "details"}


async def test_a_hundred_guessed_tokens_are_mostly_refused_with_429(world: Any) -> None:
    app = secured_app(world)  # the defaults: locked out at the 5th failure
    async with AsyncTestClient(app=app) as client:
        statuses = [
            (await client.get("/api/datasets", headers={"X-Stage1-Token": f"s1_guess{i}"})).status_code
            for i in range(100)
        ]
    assert statuses.count(401) == 5 and statuses.count(429) == 95


async def test_made_up_tokens_share_the_address_bucket_when_auth_is_off(world: Any) -> None:
    world.settings.rate_limit_per_minute = 5
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        statuses = [
            (await client.get("/api/datasets", headers={"X-Stage1-Token": f"s1_fresh{i}"})).status_code
            for i in range(7)
        ]
    assert statuses == [200] * 5 + [429, 429]


async def test_a_validated_token_has_its_own_bucket(world: Any) -> None:
    app = secured_app(world, rate_limit_per_minute=3)
    async with AsyncTestClient(app=app) as client:
        first = (await client.post("/api/auth/token", json={"secret": SECRET, "name": "a"})).json()["token"]
        second = (await client.post("/api/auth/token", json={"secret": SECRET, "name": "b"})).json()["token"]
        spent = [(await client.get("/api/datasets", headers={"X-Stage1-Token": first})).status_code for _ in range(4)]
        other = await client.get("/api/datasets", headers={"X-Stage1-Token": second})
    assert spent == [200, 200, 200, 429]
    assert other.status_code == 200


async def test_token_issuance_has_its_own_strict_limit_per_address(world: Any) -> None:
    app = secured_app(world, auth_rate_limit_per_minute=4)
    async with AsyncTestClient(app=app) as client:
        statuses = [
            (await client.post("/api/auth/token", json={"secret": SECRET, "name": f"t{i}"})).status_code
            for i in range(6)
        ]
        assert (await client.get("/api/health")).status_code == 200
    assert statuses == [201] * 4 + [429, 429]
