"""Bad input gets a 4xx in the contract's envelope, never a 500, and leaves nothing behind."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio

RUN_ID = "8b0f4c1e-1111-4111-8111-111111111111"


def assert_envelope(response, status: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "details"} and isinstance(body["error"], str) and body["error"]
    return body  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/api/datasets", {"json": {"dataset_slug": "Bad Slug"}}, 400),
        ("post", "/api/datasets", {"json": {"dataset_slug": 5}}, 400),
        ("post", "/api/datasets", {"json": {"symbol": "BTC"}}, 400),
        ("post", "/api/datasets", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("post", "/api/datasets", {"json": {"dataset_slug": "ok", "ohlcv_rows": 2**70}}, 400),
        ("post", "/api/datasets", {"json": {"dataset_slug": "ok", "ohlcv_rows": -1}}, 400),
        ("post", "/api/datasets", {"json": {"dataset_slug": "ok", "granularity": "soon"}}, 400),
        ("post", "/api/datasets", {"json": {"dataset_slug": "ok", "ohlcv_measurement": "x; drop table y"}}, 400),
        ("post", "/api/datasets", {"content": b"abc", "headers": {"content-type": "image/png"}}, 415),
        ("get", "/api/datasets", {"params": {"limit": 0}}, 400),
        ("get", "/api/datasets", {"params": {"limit": "many"}}, 400),
        ("get", "/api/datasets", {"params": {"limit": 10**30}}, 400),
        ("get", "/api/datasets", {"params": {"after": "not-a-cursor"}}, 400),
        ("get", "/api/datasets/nope", {}, 404),
        ("get", "/api/datasets/" + "x" * 5000, {}, 404),
        ("get", f"/api/datasets/{RUN_ID}", {}, 404),
        ("get", "/api/runs/not-a-uuid", {}, 404),
        ("get", f"/api/runs/{RUN_ID}", {}, 404),
        ("get", "/api/runs", {"params": {"dataset_id": "zzz", "dataset_slug": "yyy"}}, 400),
        ("post", "/api/runs", {"json": {"dataset_id": RUN_ID}}, 409),
        ("post", "/api/runs", {"json": {}}, 400),
        ("post", "/api/runs", {"json": {"dataset_slug": "x", "folds": [{"fold_number": "one"}]}}, 400),
        ("post", "/api/runs", {"json": {"dataset_slug": "x", "status": "DONE"}}, 400),
        ("post", "/api/simulations", {"json": {"run_id": RUN_ID}}, 409),
        ("post", "/api/simulations", {"json": {"run_id": "garbage"}}, 409),
        ("get", f"/api/simulations/{RUN_ID}/trades", {}, 404),
        ("get", f"/api/simulations/{RUN_ID}/equity", {"params": {"ts_unit": "fortnight"}}, 400),
        ("get", "/api/questdb/measurement/Bad-Name", {}, 400),
        ("get", "/api/questdb/measurement/missing_table", {}, 404),
        ("post", "/api/questdb/query", {"json": {"sql": "DROP TABLE x"}}, 403),
        ("post", "/api/questdb/query", {"json": {"sql": "select 1; select 2"}}, 403),
        ("post", "/api/questdb/query", {"json": {"sql": ""}}, 400),
        ("post", "/api/questdb/export", {"json": {"sql": "insert into t values(1)"}}, 403),
        ("post", "/api/questdb/export", {"json": {"sql": "select 1", "format": "xml"}}, 400),
        ("post", "/api/questdb/import", {"json": {"measurement": "m", "data": ""}}, 400),
        ("post", "/api/questdb/import", {"json": {"measurement": "Bad", "data": "timestamp,x\n1,2\n"}}, 400),
        (
            "post",
            "/api/questdb/import",
            {
                "content": b"\x89PNG\r\n\x1a\n0000",
                "params": {"measurement": "m"},
                "headers": {"content-type": "image/png"},
            },
            415,
        ),
        ("get", "/api/jobs/not-a-job", {}, 404),
        ("post", f"/api/jobs/{RUN_ID}/cancel", {}, 404),
        ("get", "/api/jobs", {"params": {"offset": -1}}, 400),
        ("get", "/api/events", {"params": {"types": "nonsense"}}, 400),
        ("get", "/api/nowhere", {}, 404),
        ("delete", "/api/datasets", {}, 405),
    ],
)
async def test_malformed_requests_get_the_error_envelope(
    client: AsyncTestClient,
    method: str,
    path: str,
    kwargs: dict,
    status: int,  # type: ignore[type-arg]
) -> None:
    response = await getattr(client, method)(path, **kwargs)
    assert_envelope(response, status)


async def test_an_ohlcv_upload_missing_columns_names_them_and_writes_nothing(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    response = await client.post(
        "/api/datasets",
        json={
            "dataset_slug": "eth",
            "record_questdb": True,
            "ohlcv_csv": "timestamp,open,close\n1704067200,1,2\n",
        },
    )
    body = assert_envelope(response, 400)
    assert body["details"]["missing_columns"] == ["high", "low", "volume"]
    assert body["details"]["found_columns"] == ["timestamp", "open", "close"]
    assert (await client.get("/api/datasets")).json()["total"] == 0
    assert await world.store.list_measurements() == []
    assert world.leftover_uploads() == []


async def test_a_malformed_row_is_answered_with_its_line_number(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    csv = "timestamp,open,high,low,close,volume\n1704067200,1,2,0.5,1.5,10\n1704070800,1,2,abc,1.5,10\n"
    response = await client.post("/api/questdb/import", json={"measurement": "m1", "data": csv, "kind": "ohlcv"})
    body = assert_envelope(response, 400)
    assert body["details"]["line"] == 3
    assert world.leftover_uploads() == []


async def test_a_failed_prediction_write_leaves_no_run_behind(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "sol"})
    response = await client.post(
        "/api/runs",
        json={
            "dataset_slug": "sol",
            "predictions_csv": "timestamp,bar_index,prediction\n1704067200,0,0.5\n",
        },
    )
    body = assert_envelope(response, 400)
    assert "fold_number" in body["details"]["missing_columns"]
    assert (await client.get("/api/runs")).json()["total"] == 0
    assert await world.store.list_measurements() == []


async def test_a_csv_whose_header_is_not_utf8_is_a_400(client: AsyncTestClient, world) -> None:  # type: ignore[no-untyped-def, type-arg]
    body = b"\xb1\xff,open\n1704067200,1\n"
    response = await client.post("/api/questdb/import", params={"measurement": "m"}, content=body,
                                 headers={"content-type": "text/csv"})
    assert_envelope(response, 400)
    assert world.leftover_uploads() == []
