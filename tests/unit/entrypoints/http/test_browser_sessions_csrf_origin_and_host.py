"""Browser sessions and cross-origin writes: the session cookie is HttpOnly and strict, a write carried by it
needs the CSRF header, ending it ends it everywhere; a foreign `Origin` on a write and an unknown `Host` on
any request are refused, auth or no auth."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from entrypoints.http.app import create_app

pytestmark = pytest.mark.anyio

SECRET = "correct horse battery staple"
DATASET = {"dataset_slug": "from_browser", "symbol": "BTC", "granularity": "1h"}


def secured(world: Any, **settings: Any) -> Litestar:
    world.settings.auth_enabled = True
    world.settings.auth_secret = SecretStr(SECRET)
    for name, value in settings.items():
        setattr(world.settings, name, value)
    return create_app(world.settings, world.container())


def set_cookies(response: Any) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


@pytest.mark.parametrize("login", ["secret", "token"])
async def test_a_session_cookie_is_httponly_strict_and_carries_reads(world: Any, login: str) -> None:
    async with AsyncTestClient(app=secured(world)) as client:
        body: dict[str, Any] = {"secret": SECRET, "name": "alice"}
        if login == "token":
            issued = await client.post("/api/auth/token", json={"secret": SECRET, "name": "desk"})
            body = {"token": issued.json()["token"]}
        opened = await client.post("/api/auth/session", json=body)
        assert opened.status_code == 201, opened.text
        cookies = set_cookies(opened)
        session, csrf = cookies["stage1_session"].lower(), cookies["stage1_csrf"].lower()
        assert "httponly" in session and "samesite=strict" in session and "secure" not in session
        assert "httponly" not in csrf and "samesite=strict" in csrf
        assert "token" not in opened.json() and opened.json()["csrf_token"] == client.cookies["stage1_csrf"]
        assert (await client.get("/api/datasets")).status_code == 200  # the cookie alone reads


async def test_a_session_opened_over_tls_has_secure_cookies(world: Any) -> None:
    async with AsyncTestClient(app=secured(world), base_url="https://testserver.local") as client:
        opened = await client.post("/api/auth/session", json={"secret": SECRET, "name": "alice"})
    assert opened.status_code == 201
    assert all("secure" in line.lower() for line in set_cookies(opened).values())


CSRF_CASES = {
    "no header": ({}, 403),
    "wrong header": ({"X-CSRF-Token": "0" * 64}, 403),
    "right header": (None, 201),
}


@pytest.mark.parametrize("case", sorted(CSRF_CASES))
async def test_a_write_carried_by_the_cookie_needs_the_csrf_header(world: Any, case: str) -> None:
    headers, status = CSRF_CASES[case]
    async with AsyncTestClient(app=secured(world)) as client:
        await client.post("/api/auth/session", json={"secret": SECRET, "name": "alice"})
        sent = {"X-CSRF-Token": client.cookies["stage1_csrf"]} if headers is None else headers
        response = await client.post("/api/datasets", json=DATASET, headers=sent)
        listed = (await client.get("/api/datasets")).json()
    assert response.status_code == status, response.text
    assert listed["total"] == (1 if status == 201 else 0)
    if status == 403:
        assert set(response.json()) == {"error", "details"}


async def test_the_header_token_writes_without_csrf_as_before(world: Any) -> None:
    async with AsyncTestClient(app=secured(world)) as client:
        token = (await client.post("/api/auth/token", json={"secret": SECRET, "name": "desk"})).json()["token"]
        response = await client.post("/api/datasets", json=DATASET, headers={"X-Stage1-Token": token})
    assert response.status_code == 201, response.text


async def test_ending_a_session_ends_it_everywhere(world: Any) -> None:
    async with AsyncTestClient(app=secured(world)) as client:
        await client.post("/api/auth/session", json={"secret": SECRET, "name": "alice"})
        stolen = client.cookies["stage1_session"]
        assert (await client.delete("/api/auth/session")).status_code == 204
        assert "stage1_session" not in client.cookies
        replayed = await client.get("/api/datasets", cookies={"stage1_session": stolen})
    assert replayed.status_code == 401


@pytest.mark.parametrize("path", ["/api/auth/session", "/api/auth/token"])
async def test_session_and_token_issuance_share_the_lockout(world: Any, path: str) -> None:
    async with AsyncTestClient(app=secured(world, auth_lockout_after=2)) as client:
        statuses = [(await client.post(path, json={"secret": "guess", "name": "x"})).status_code for _ in range(3)]
        other = "/api/auth/token" if path == "/api/auth/session" else "/api/auth/session"
        late = await client.post(other, json={"secret": SECRET, "name": "x"})
    assert statuses == [401, 401, 429]
    assert late.status_code == 429


async def test_session_and_token_issuance_share_the_strict_limit(world: Any) -> None:
    async with AsyncTestClient(app=secured(world, auth_rate_limit_per_minute=3)) as client:
        statuses = [
            (await client.post(path, json={"secret": SECRET, "name": "x"})).status_code
            for path in ["/api/auth/token", "/api/auth/session", "/api/auth/token", "/api/auth/session"]
        ]
    assert statuses == [201, 201, 201, 429]


# Origin on a write (auth off, loopback): the served origin and configured ones pass, anything else is a 403.
ORIGINS = {
    "served origin": ("http://testserver.local", 200),
    "configured origin": ("https://dash.example", 200),
    "other site": ("https://evil.example", 403),
    "same host, other port": ("http://testserver.local:8080", 403),
    "opaque origin": ("null", 403),
}


@pytest.mark.parametrize("case", sorted(ORIGINS))
async def test_a_write_from_another_origin_is_refused(world: Any, case: str) -> None:
    origin, status = ORIGINS[case]
    world.settings.cors_origins = ["https://dash.example"]
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        write = await client.post(
            "/api/questdb/import", params={"mode": "replace", "measurement": "victim"},
            files={"file": ("x.csv", b"timestamp,x\n1704067200,1\n", "text/csv")}, headers={"Origin": origin},
        )
        read = await client.get("/api/datasets", headers={"Origin": origin})
        measurements = (await client.get("/api/questdb/measurements")).json()["measurements"]
    assert write.status_code == status, write.text
    assert [m["name"] for m in measurements] == ([] if status == 403 else ["victim"])
    assert read.status_code == 200  # reads are CORS's business: the browser keeps the answer from the page
    if status == 403:
        assert set(write.json()) == {"error", "details"}


# Host on any request to a loopback-bound server with no extra names: loopback names pass, others are a 421.
HOSTS = {
    "localhost": ("localhost:8000", 200),
    "ipv4 loopback": ("127.0.0.1:8000", 200),
    "ipv6 loopback": ("[::1]:8000", 200),
    "rebound name": ("attacker.example:8000", 421),
    "rebound name, no port": ("attacker.example", 421),
    "loopback-looking suffix": ("localhost.attacker.example", 421),
}


@pytest.mark.parametrize("case", sorted(HOSTS))
async def test_a_request_for_a_name_the_server_does_not_answer_to_is_a_421(world: Any, case: str) -> None:
    host, status = HOSTS[case]
    world.settings.allowed_hosts = []
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        response = await client.get("/api/datasets", headers={"Host": host})
    assert response.status_code == status, response.text
    if status == 421:
        assert set(response.json()) == {"error", "details"}
