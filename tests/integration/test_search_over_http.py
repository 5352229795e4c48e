"""Find and compare over HTTP on the real stores: embedded (SQLite) and production (Postgres)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from tests.integration import test_http_on_real_stores as real_stores

pytestmark = pytest.mark.anyio

# The same two apps as the desktop flows: embedded (SQLite + DuckDB) and production (Postgres + QuestDB).
settings = real_stores.settings
client = real_stores.client

DONE_WHEN = "metrics.sharpe > 1.2 and (params.max_depth in (3, 5) or tags.owner = 'ana')"


async def make_runs(client: AsyncTestClient, runs: list[dict[str, Any]]) -> list[str]:  # type: ignore[type-arg]
    made = await client.post("/api/datasets", json={"dataset_slug": "btc_1h", "symbol": "BTC", "granularity": "1h"})
    assert made.status_code in (200, 201), made.text
    ids = []
    for body in runs:
        answer = await client.post("/api/runs", json={"dataset_slug": "btc_1h", **body})
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["run_id"])
    return ids


def run(sharpe: Any, depth: Any, **extra: Any) -> dict[str, Any]:
    return {"summary_metrics": {"sharpe": sharpe}, "hyperparameters": {"max_depth": depth}, **extra}


async def test_the_issue_expression_finds_the_right_runs_best_first(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    ids = await make_runs(
        client,
        [
            run(1.5, 3),  # 0: yes
            run(1.3, 4),  # 1: depth 4 and no owner: no
            run(0.9, 5),  # 2: sharpe too low
            run(2.0, 5),  # 3: yes, best
            run("2.5", 3),  # 4: sharpe is text, not a number: no
            run(1.25, 7, tags={"owner": "ana"}),  # 5: yes through the owner
            {"hyperparameters": {"max_depth": 3}},  # 6: no sharpe at all
        ],
    )
    answer = await client.get("/api/runs", params={"filter": DONE_WHEN, "order_by": "metrics.sharpe desc"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [item["run_id"] for item in body["runs"]] == [ids[3], ids[0], ids[5]]
    assert body["total"] is None
    assert body["runs"][2]["tags"] == {"owner": "ana"}
    counted = await client.post("/api/runs/search", json={"filter": DONE_WHEN, "count": True, "limit": 1})
    assert counted.json()["total"] == 3


async def test_a_cursor_walks_the_sorted_result_and_fields_project_under_wire_names(
    client: AsyncTestClient,  # type: ignore[type-arg]
) -> None:
    ids = await make_runs(client, [run(v, 3) for v in (0.5, 3, 1, None, 2, 1)] + [run(True, 3)])
    seen, after = [], None
    while True:
        params = {
            "order_by": "metrics.sharpe desc",
            "fields": "metrics.sharpe,params.max_depth,dataset.symbol",
            "limit": 2,
        }
        answer = (await client.get("/api/runs", params={**params, **({"after": after} if after else {})})).json()
        seen.extend(answer["runs"])
        after = answer["next_cursor"]
        if after is None:
            break
    assert [item["summary_metrics"]["sharpe"] for item in seen] == [3, 2, 1, 1, 0.5, True, None]
    assert set(seen[0]) == {"run_id", "summary_metrics", "hyperparameters", "dataset"}
    assert seen[0]["dataset"] == {"symbol": "BTC"} and seen[0]["hyperparameters"] == {"max_depth": 3}
    assert sorted(item["run_id"] for item in seen) == sorted(ids)


async def test_comparing_runs_lines_up_params_and_metrics_in_the_order_asked(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    ids = await make_runs(client, [run(1.0, 3, hyperparameters={"max_depth": 3, "eta": 0.1}), run(2.0, 3)])
    answer = await client.get("/api/runs/compare", params={"ids": f"{ids[1]},{ids[0]}"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["run_id"] for r in body["runs"]] == [ids[1], ids[0]]
    assert body["params"] == {"eta": [None, 0.1], "max_depth": [3, 3]}
    assert body["params_differ"] == ["eta"]
    assert body["metrics"] == {"sharpe": [2.0, 1.0]}
    missing = await client.get("/api/runs/compare", params={"ids": f"{ids[0]},00000000-0000-0000-0000-000000000001"})
    assert missing.status_code == 404
    assert (await client.get("/api/runs/compare", params={"ids": ids[0]})).status_code == 400


async def test_an_open_run_takes_folds_and_a_patch_closes_it(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    (run_id,) = await make_runs(client, [{"status": "RUNNING", "folds": [{"fold_number": 1, "metrics": {"auc": 0.5}}]}])
    added = await client.post(
        f"/api/runs/{run_id}/folds", json={"folds": [{"fold_number": 1, "metrics": {"auc": 0.7}}, {"fold_number": 2}]}
    )
    assert added.status_code == 200, added.text
    closed = await client.patch(
        f"/api/runs/{run_id}", json={"status": "COMPLETED", "tags": {"owner": "ana"}, "name": "final"}
    )
    assert closed.status_code == 200, closed.text
    detail = (await client.get(f"/api/runs/{run_id}")).json()
    assert [(f["fold_number"], f["metrics"].get("auc")) for f in detail["folds"]] == [(1, 0.7), (2, None)]
    assert (detail["status"], detail["name"], detail["tags"], detail["fold_count"]) == (
        "COMPLETED",
        "final",
        {"owner": "ana"},
        2,
    )
    assert detail["completed_at"] is not None
    assert (await client.patch(f"/api/runs/{run_id}", json={"status": "RUNNING"})).status_code == 409
    found = await client.get("/api/runs", params={"filter": "tags.owner = 'ana' AND name = 'final' AND fold_count = 2"})
    assert [r["run_id"] for r in found.json()["runs"]] == [run_id]
