"""Search routes over the in-memory app: what the client gets for bad input."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("params", "position"),
    [
        ({"filter": "metrics.sharpe >"}, 16),
        ({"filter": "colour = 'red'"}, 0),
        ({"order_by": "metrics.sharpe upward"}, 15),
        ({"fields": "metrics.sharpe,,"}, 15),
    ],
)
async def test_a_malformed_expression_is_a_400_naming_the_position(
    client: AsyncTestClient,
    params: dict[str, str],
    position: int,  # type: ignore[type-arg]
) -> None:
    answer = await client.get("/api/runs", params=params)
    assert answer.status_code == 400, answer.text
    details = answer.json()["details"]
    assert details["position"] == position and details["expected"]
    assert details["field"] == next(iter(params))


async def test_search_does_not_combine_with_filter_and_ids_must_be_two_to_twenty(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    both = await client.get("/api/runs", params={"search": "btc", "filter": "status = 'FAILED'"})
    assert both.status_code == 400 and both.json()["details"] == {"field": "search"}
    for ids in ("", "a", ",".join(["00000000-0000-0000-0000-000000000001"] * 2)):
        answer = await client.get("/api/simulations/compare", params={"ids": ids})
        assert answer.status_code == 400 and answer.json()["details"]["field"] == "ids"


async def test_a_cursor_from_another_order_is_refused(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "btc_1h"})
    for _ in range(3):
        await client.post("/api/runs", json={"dataset_slug": "btc_1h"})
    first = (await client.get("/api/runs", params={"order_by": "created_at", "limit": 1})).json()
    other = await client.get("/api/runs", params={"order_by": "status", "after": first["next_cursor"]})
    assert other.status_code == 400 and other.json()["details"] == {"field": "after"}


async def test_simulations_are_found_by_their_buckets_and_compared_bucket_by_bucket(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    await client.post("/api/datasets", json={"dataset_slug": "btc_1h"})
    run = (await client.post("/api/runs", json={"dataset_slug": "btc_1h", "summary_metrics": {"sharpe": 2}})).json()

    def buckets(long_pnl: float, short_pnl: float) -> list[dict[str, object]]:
        return [{"bucket": "long", "total_pnl": long_pnl}, {"bucket": "short", "total_pnl": short_pnl}]

    ids = []
    for long_pnl, short_pnl in ((5.0, -2.0), (-1.0, 3.0), (2.0, -0.5)):
        body = {"run_id": run["run_id"], "trade_buckets": buckets(long_pnl, short_pnl), "config": {"fee": 0.001}}
        ids.append((await client.post("/api/simulations", json=body)).json()["simulation_id"])
    found = await client.get(
        "/api/simulations",
        params={
            "filter": "buckets.short.total_pnl < 0 AND buckets.long.total_pnl > 0 AND run.metrics.sharpe >= 2",
            "order_by": "buckets.long.total_pnl desc",
            "fields": "buckets.long.total_pnl",
        },
    )
    assert found.status_code == 200, found.text
    items = found.json()["simulations"]
    assert [item["simulation_id"] for item in items] == [ids[0], ids[2]]
    assert items[0]["trade_buckets"] == [{"bucket": "long", "total_pnl": 5.0}]
    compared = (await client.get("/api/simulations/compare", params={"ids": f"{ids[1]},{ids[0]}"})).json()
    assert [s["simulation_id"] for s in compared["simulations"]] == [ids[1], ids[0]]
    assert compared["buckets"]["long"]["total_pnl"] == [-1.0, 5.0]
    assert compared["buckets"]["all"] == {}
    assert compared["config"] == {"fee": [0.001, 0.001]} and compared["config_differ"] == []
