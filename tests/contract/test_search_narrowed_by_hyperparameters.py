"""A numeric hyperparameter range ANDed with a status or a metric range is answered ids-first on SQL stores
(migration 0015's side table and (status, run_id) index): the same runs as the plain filter, in every store,
and a run whose hyperparameters change moves in and out of the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from tests.contract.test_metadata_repositories import at, make_dataset, make_run
from tests.contract.test_search_sorted_by_a_metric import query, run_names

from adapters.sql import search_walk
from domain.lifecycle import RecordStatus
from domain.search.fields import RUNS

if TYPE_CHECKING:
    from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio

# name: (status, eta, drawdown, calmar). Only numbers compare with numbers: "0.05" and true never match.
RUNS_SEEDED: dict[str, tuple[RecordStatus, Any, float, float]] = {
    "a": (RecordStatus.FAILED, 0.05, 0.1, 3.0),
    "b": (RecordStatus.FAILED, 0.5, 0.1, 1.0),
    "c": (RecordStatus.FAILED, "0.05", 0.1, 2.0),
    "d": (RecordStatus.COMPLETED, 0.01, 0.1, 0.5),
    "e": (RecordStatus.FAILED, 0.099, -0.3, 0.2),
    "f": (RecordStatus.FAILED, None, 0.1, 0.1),
    "g": (RecordStatus.FAILED, True, 0.1, 0.3),
    "h": (RecordStatus.FAILED, -7, 0.2, 2.0),
}
FILTER = "status = 'FAILED' AND params.eta < 0.1 AND metrics.max_drawdown > -0.2"


async def seed(store: Store) -> dict[str, Any]:
    dataset = make_dataset()
    runs = {}
    async with store() as uow:
        await uow.datasets.add(dataset)
        for n, (name, (status, eta, drawdown, calmar)) in enumerate(RUNS_SEEDED.items()):
            params = {} if eta is None else {"eta": eta, "max_depth": 4}
            metrics = {"max_drawdown": drawdown, "calmar": calmar}
            runs[name] = make_run(
                dataset, at(n), name=name, status=status, hyperparameters=params, summary_metrics=metrics
            )
            await uow.runs.add(runs[name])
        await uow.commit()
    return runs


async def test_a_hyperparameter_range_with_a_status_and_a_metric_range_finds_the_same_runs_in_every_store(
    uow_factory: Store,
) -> None:
    await seed(uow_factory)

    assert await run_names(uow_factory, query(RUNS, "metrics.calmar asc", 10, filter=FILTER)) == ["h", "a"]
    assert await run_names(uow_factory, query(RUNS, "created_at asc", 10, filter=FILTER)) == ["a", "h"]
    two_ranges = "params.eta >= -7 AND params.max_depth = 4 AND metrics.calmar <= 2"
    assert await run_names(uow_factory, query(RUNS, "metrics.calmar desc", 10, filter=two_ranges)) == [
        "h", "b", "d", "e",
    ]
    negated = f"NOT ({FILTER})"
    assert await run_names(uow_factory, query(RUNS, "created_at asc", 10, filter=negated)) == [
        "b", "c", "d", "e", "f", "g",
    ]


async def test_a_run_whose_hyperparameters_change_moves_in_and_out_of_a_narrowed_search(uow_factory: Store) -> None:
    runs = await seed(uow_factory)
    async with uow_factory() as uow:
        runs["b"].hyperparameters = {"eta": 0.01}
        await uow.runs.save(runs["b"])
        runs["a"].hyperparameters = {"eta": "low"}
        await uow.runs.save(runs["a"])
        await uow.runs.delete(runs["h"].run_id)
        await uow.commit()

    assert await run_names(uow_factory, query(RUNS, "metrics.calmar asc", 10, filter=FILTER)) == ["b"]


@pytest.mark.parametrize("walk", ["always", "never"])
async def test_a_narrowed_search_sorted_by_a_metric_pages_the_same_runs_whether_it_walks_the_index_or_sorts(
    uow_factory: Store, monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    # Postgres walks the sort metric's index when the planner's estimates say it pays (search_walk); here
    # the choice is forced both ways, and each page, by offset or whole, must be the same.
    bound = 10**9 if walk == "always" else 0
    monkeypatch.setattr(search_walk, "SET_MAX", bound)
    monkeypatch.setattr(search_walk, "WALK_MAX", bound)
    await seed(uow_factory)
    wide = "status = 'FAILED' AND params.eta < 1 AND metrics.max_drawdown > -0.2"
    expected = ["b", "h", "a"]

    assert await run_names(uow_factory, query(RUNS, "metrics.calmar desc", 10, filter=wide)) == ["a", "h", "b"]
    assert await run_names(uow_factory, query(RUNS, "metrics.calmar asc", 10, filter=wide)) == expected
    for offset, name in enumerate([*expected, None]):
        page = await run_names(uow_factory, query(RUNS, "metrics.calmar asc", 1, offset, filter=wide))
        assert page == ([] if name is None else [name])
    assert await run_names(uow_factory, query(RUNS, "metrics.calmar asc", 10, filter=f"{wide} AND name != 'h'")) == [
        "b", "a",
    ]
