"""Nothing under /api but health, token issuance and the docs answers without a valid token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from domain.tokens import ApiToken, token_hash
from entrypoints.http.app import create_app

pytestmark = pytest.mark.anyio

SECRET = "correct horse battery staple"
OPEN = {"/api/health", "/healthz", "/api/auth/token", "/api/auth/session", "/metrics"}


@pytest.fixture
def secured_app(world) -> Litestar:  # type: ignore[no-untyped-def]
    world.settings.auth_enabled = True
    world.settings.auth_secret = SecretStr(SECRET)
    # These tests send many bad tokens on purpose; the lockout that stops a guesser has tests of its own.
    world.settings.auth_lockout_after = 10**6
    world.settings.auth_rate_limit_per_minute = 10**6
    return create_app(world.settings, world.container())


@pytest.fixture
async def secured(secured_app: Litestar) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    async with AsyncTestClient(app=secured_app) as client:
        yield client


def api_operations(app: Litestar) -> list[tuple[str, str]]:
    operations = []
    for route in app.routes:
        if not route.path.startswith("/api") or route.path in OPEN:
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid4()), route.path)
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            operations.append((method, path))
    return operations


async def issue(client: AsyncTestClient, name: str = "desk") -> dict:  # type: ignore[type-arg]
    response = await client.post("/api/auth/token", json={"secret": SECRET, "name": name, "ttl_days": 30})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_every_api_route_refuses_missing_malformed_wrong_expired_and_revoked_tokens(
    secured: AsyncTestClient,
    secured_app: Litestar,
    world,  # type: ignore[no-untyped-def, type-arg]
) -> None:
    revoked = await issue(secured, "to-revoke")
    assert (
        await secured.delete(
            f"/api/auth/tokens/{revoked['token_id']}", headers={"X-Stage1-Token": (await issue(secured))["token"]}
        )
    ).status_code == 204
    expired_plain = "s1_expired-token-for-the-matrix"
    world.metadata.tokens[uuid4()] = ApiToken(
        uuid4(),
        "old",
        token_hash(expired_plain),
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime.now(UTC) - timedelta(days=1),
    )
    variants = {
        "none": {},
        "malformed": {"Authorization": "Token abc"},
        "empty bearer": {"Authorization": "Bearer "},
        "wrong": {"X-Stage1-Token": "s1_not-a-real-token"},
        "oversized": {"X-Stage1-Token": "x" * 4000},
        "expired": {"X-Stage1-Token": expired_plain},
        "revoked": {"Authorization": f"Bearer {revoked['token']}"},
    }
    operations = api_operations(secured_app)
    assert len(operations) >= 25
    checked = 0
    for method, path in operations:
        for name, headers in variants.items():
            response = await secured.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, name, response.text)
            assert set(response.json()) == {"error", "details"}
            checked += 1
    assert checked == len(operations) * len(variants)


async def test_a_valid_token_opens_the_api_in_either_header_and_is_never_listed(secured: AsyncTestClient) -> None:  # type: ignore[type-arg]
    issued = await issue(secured)
    assert issued["token"].startswith("s1_")
    by_header = await secured.get("/api/datasets", headers={"X-Stage1-Token": issued["token"]})
    by_bearer = await secured.get("/api/datasets", headers={"Authorization": f"Bearer {issued['token']}"})
    assert by_header.status_code == by_bearer.status_code == 200
    listed = (await secured.get("/api/auth/tokens", headers={"X-Stage1-Token": issued["token"]})).json()
    assert [t["name"] for t in listed["tokens"]] == ["desk"]
    assert "token" not in listed["tokens"][0] and issued["token"] not in str(listed)
    assert listed["tokens"][0]["last_used_at"] is not None


async def test_a_wrong_secret_gets_no_token(secured: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await secured.post("/api/auth/token", json={"secret": "guess", "name": "x"})
    assert response.status_code == 401 and response.json()["error"]


async def test_health_and_the_docs_stay_open(secured: AsyncTestClient) -> None:  # type: ignore[type-arg]
    assert (await secured.get("/api/health")).status_code == 200
    assert (await secured.get("/schema/openapi.json")).status_code == 200


async def test_every_answer_carries_the_security_headers(secured: AsyncTestClient) -> None:  # type: ignore[type-arg]
    response = await secured.get("/api/datasets")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
