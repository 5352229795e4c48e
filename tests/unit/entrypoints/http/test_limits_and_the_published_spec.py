"""Limits a public deployment relies on: body size, rate, CORS, the loopback rule, the checked-in spec."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from litestar.testing import AsyncTestClient

from entrypoints.http.app import create_app
from entrypoints.http.openapi_document import openapi_json
from entrypoints.security import check_bind_policy
from entrypoints.settings import Settings

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[4]


async def test_a_body_over_the_upload_limit_is_a_413_and_leaves_no_file(world) -> None:  # type: ignore[no-untyped-def]
    world.settings.max_upload_mb = 1
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        big = b"timestamp,x\n" + b"1704067200,1\n" * 200_000
        response = await client.post("/api/questdb/import", params={"measurement": "m"}, content=big,
                                     headers={"content-type": "text/csv"})
        assert response.status_code == 413, response.text
        assert set(response.json()) == {"error", "details"}
        multipart = await client.post("/api/questdb/import", params={"measurement": "m"},
                                      files={"file": ("big.csv", big, "text/csv")})
        assert multipart.status_code == 413
    assert world.leftover_uploads() == []


async def test_too_many_requests_get_a_429_with_retry_after(world) -> None:  # type: ignore[no-untyped-def]
    world.settings.rate_limit_per_minute = 5
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        statuses = [(await client.get("/api/datasets")).status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        limited = await client.get("/api/datasets")
        assert int(limited.headers["retry-after"]) > 0
        assert limited.json()["error"]
        assert (await client.get("/api/health")).status_code == 200


async def test_cors_allows_the_configured_origin_only(world) -> None:  # type: ignore[no-untyped-def]
    world.settings.cors_origins = ["https://agenticresearch.info"]
    async with AsyncTestClient(app=create_app(world.settings, world.container())) as client:
        allowed = await client.options("/api/datasets", headers={
            "Origin": "https://agenticresearch.info", "Access-Control-Request-Method": "GET"})
        assert allowed.headers.get("access-control-allow-origin") == "https://agenticresearch.info"
        other = await client.get("/api/datasets", headers={"Origin": "https://evil.example"})
        assert other.headers.get("access-control-allow-origin") is None


def test_auth_can_be_off_only_on_loopback() -> None:
    check_bind_policy(Settings(host="127.0.0.1", auth_enabled=False, _env_file=None))
    check_bind_policy(Settings(host="::1", auth_enabled=False, _env_file=None))
    with pytest.raises(click.UsageError):
        check_bind_policy(Settings(host="0.0.0.0", auth_enabled=False, _env_file=None))
    assert Settings(host="0.0.0.0", _env_file=None).auth_required
    assert not Settings(host="127.0.0.1", _env_file=None).auth_required


def test_the_checked_in_openapi_document_matches_the_app() -> None:
    checked_in = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert checked_in == json.loads(openapi_json()), "run `stage1 openapi -o docs/openapi.json`"


async def test_metrics_count_requests_rows_imported_and_the_queue(client) -> None:  # type: ignore[no-untyped-def]
    csv = "timestamp,x\n" + "".join(f"{1704067200 + i},{i}\n" for i in range(7))
    assert (await client.post("/api/questdb/import", json={"measurement": "metered", "data": csv})).status_code == 200
    text = (await client.get("/metrics")).text
    assert 'stage1_rows_imported_total{route="questdb.import"}' in text
    imported = [line for line in text.splitlines() if line.startswith('stage1_rows_imported_total{route="questdb.import"}')]
    assert float(imported[0].split()[-1]) >= 7
    assert "stage1_http_requests_total" in text
    assert 'stage1_jobs_queue{status="pending"} 0.0' in text
