"""Guessing credentials does not pay: made-up tokens share their address's bucket, failed secrets and tokens lock
the address out with a doubling wait, and token issuance has its own strict limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from entrypoints.http.app import create_app
from entrypoints.http.lockout import FailureLockout

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


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# failures sent in a row -> the lockout in force after the last one (locked at the 3rd, 10 s first lockout)
DOUBLING = [(1, 0.0), (2, 0.0), (3, 10.0), (4, 20.0), (5, 40.0), (6, 80.0), (12, 3600.0), (40, 3600.0)]


@pytest.mark.parametrize(("failures", "wait"), DOUBLING)
def test_each_failure_past_the_free_ones_doubles_the_lockout_up_to_an_hour(failures: int, wait: float) -> None:
    clock = Clock()
    lockout = FailureLockout(3, 10.0, clock=clock)
    for _ in range(failures):
        lockout.failed("addr")
    assert lockout.wait_seconds("addr") == wait
    assert lockout.wait_seconds("another") == 0.0


def test_a_lockout_ends_and_old_failures_are_forgotten() -> None:
    clock = Clock()
    lockout = FailureLockout(2, 10.0, clock=clock)
    lockout.failed("addr")
    lockout.failed("addr")
    clock.now += 10.0
    assert lockout.wait_seconds("addr") == 0.0
    assert lockout.failed("addr") == 20.0  # still remembered: the next lockout doubles
    clock.now += 20.0 + 901.0
    assert lockout.failed("addr") == 0.0  # forgotten: a free failure again


def test_the_lockout_table_stays_bounded() -> None:
    lockout = FailureLockout(1, 1.0, clock=Clock(), capacity=50)
    for i in range(60):
        lockout.failed(f"10.0.0.{i}")
    assert len(lockout._records) == 50
    assert lockout.wait_seconds("10.0.0.0") == 0.0  # the oldest went first
    assert lockout.wait_seconds("10.0.0.59") == 1.0


@given(lock_after=st.integers(1, 10), first=st.floats(0.1, 600), failures=st.integers(0, 60))
def test_the_wait_never_shrinks_and_never_passes_the_ceiling(lock_after: int, first: float, failures: int) -> None:
    lockout = FailureLockout(lock_after, first, clock=Clock())
    waits = [lockout.failed("a") for _ in range(failures)]
    assert waits == sorted(waits)
    assert all(0.0 <= wait <= max(3600.0, first) for wait in waits)
    assert sum(1 for wait in waits if wait == 0.0) == min(lock_after - 1, failures)
