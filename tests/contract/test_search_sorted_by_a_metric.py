"""A search sorted by a summary metric reads the metric's side table on SQL stores (migration 0013): its
pages by offset cross from the numbers to the other values exactly, and the side table follows every
save and delete of a run or simulation, in every store alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest
from tests.contract.test_metadata_repositories import at, make_dataset, make_run, make_simulation

from domain.search.fields import RUNS, SIMULATIONS, Catalog
from domain.search.ordering import parse_order_by
from domain.search.parser import parse_filter
from domain.search.query import SearchQuery

if TYPE_CHECKING:
    from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio

# Numbers, then text, then booleans, then missing: the sort's four ranks, with a tie among the numbers.
SHARPES: dict[str, Any] = {"a": 3, "b": 1.5, "c": "x", "d": None, "e": 2, "f": 1.5, "g": True}


def query(catalog: Catalog, order_by: str, limit: int, offset: int = 0, filter: str | None = None) -> SearchQuery:
    expr = parse_filter(filter, catalog) if filter else None
    return SearchQuery(expr, parse_order_by(order_by, catalog), None, False, limit, offset)


async def run_names(store: Store, search: SearchQuery) -> list[str | None]:
    async with store() as uow:
        found = await uow.run_search.search(search)
    return [record.run.name for record in found.items]


async def seed_runs(store: Store) -> dict[str, Any]:
    dataset = make_dataset()
    runs = {}
    async with store() as uow:
        await uow.datasets.add(dataset)
        for n, (name, sharpe) in enumerate(SHARPES.items()):
            metrics = {} if sharpe is None else {"sharpe": sharpe}
            runs[name] = make_run(dataset, at(n), name=name, summary_metrics={**metrics, "auc": n})
            await uow.runs.add(runs[name])
        await uow.commit()
    return runs


async def test_pages_by_offset_cross_from_metric_numbers_to_the_other_values_exactly(uow_factory: Store) -> None:
    await seed_runs(uow_factory)
    whole = ["a", "e", "f", "b", "c", "g", "d"]  # ties (b, f) newest first
    for limit in (1, 2, 3, 7):
        for offset in range(8):
            names = await run_names(uow_factory, query(RUNS, "metrics.sharpe desc", limit, offset))
            assert (limit, offset, names) == (limit, offset, whole[offset : offset + limit])
    ascending = await run_names(uow_factory, query(RUNS, "metrics.sharpe asc, metrics.auc desc", 10))
    assert ascending == ["f", "b", "e", "a", "c", "g", "d"]
    filtered = query(RUNS, "metrics.sharpe desc", 2, 1, "metrics.sharpe >= 1.5 or metrics.sharpe is null")
    assert await run_names(uow_factory, filtered) == ["e", "f"]
    filtered = query(RUNS, "metrics.sharpe desc", 5, 2, "metrics.sharpe >= 1.5 or metrics.sharpe is null")
    assert await run_names(uow_factory, filtered) == ["f", "b", "d"]


async def test_a_changed_or_deleted_run_moves_in_a_search_sorted_by_its_metric(uow_factory: Store) -> None:
    runs = await seed_runs(uow_factory)
    async with uow_factory() as uow:
        runs["b"].summary_metrics = {"sharpe": 9}
        await uow.runs.save(runs["b"])
        runs["a"].summary_metrics = {"sharpe": "high"}
        await uow.runs.save(runs["a"])
        runs["d"].summary_metrics = {"sharpe": -1}
        await uow.runs.save(runs["d"])
        await uow.runs.delete(runs["e"].run_id)
        await uow.commit()

    names = await run_names(uow_factory, query(RUNS, "metrics.sharpe desc", 10))

    assert names == ["b", "f", "d", "c", "a", "g"]


async def test_simulations_sort_by_their_metric_after_a_save_as_well(uow_factory: Store) -> None:
    runs = await seed_runs(uow_factory)
    sims = {}
    async with uow_factory() as uow:
        for n, pnl in enumerate([1, "x", 3, None, 2]):
            metrics = {} if pnl is None else {"pnl": pnl}
            sims[n] = make_simulation(runs["a"], at(n), summary_metrics=metrics)
            await uow.simulations.add(sims[n], [])
        await uow.commit()
    async with uow_factory() as uow:
        sims[0].summary_metrics = {"pnl": 5}
        await uow.simulations.save(sims[0])
        await uow.commit()

    async with uow_factory() as uow:
        found = await uow.simulation_search.search(query(SIMULATIONS, "metrics.pnl desc", 3, 1))
    ids: list[UUID] = [record.simulation.simulation_id for record in found.items]

    assert ids == [sims[2].simulation_id, sims[4].simulation_id, sims[1].simulation_id]
