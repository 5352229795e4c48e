"""One meaning, three evaluators: random filters over random runs give the same ids, in the same order,
page by page, in memory, in SQLite and in Postgres.

The runs of each seed are inserted once and then searched by many drawn expressions, so the examples
cost a query each, not an insert.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect
from tests.contract.conftest import Store
from tests.search_strategies import RUN_FIELDS, expressions

from adapters.memory import InMemoryMetadata
from adapters.sql import create_engine
from domain.datasets import Dataset, DatasetChanges
from domain.lifecycle import RecordStatus
from domain.runs import WalkforwardRun
from domain.search.fields import RUNS, SIMULATIONS, FieldRef
from domain.search.ordering import OrderKey
from domain.search.parser import parse_filter
from domain.search.query import SearchQuery, decode_cursor
from domain.search.tree import Expr
from domain.simulations import Simulation, TradeBucket
from domain.values import MeasurementName, Slug
from domain.versions import DatasetVersion

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
RUN_SEEDS = (11, 12, 13)
RUN_COUNT = 24
EXAMPLES_PER_SEED = 100  # 300 per store in all
SIM_FIELDS: list[FieldRef | None] = [
    SIMULATIONS.resolve(name)
    for name in (
        "metrics.a",
        "config.a",
        "run.metrics.a",
        "run.params.b",
        "buckets.long.total_pnl",
        "buckets.short.trade_count",
        "status",
        "trade_count",
        "created_at",
        "dataset.symbol",
        "stale",
    )
]


def json_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            rng.randint(-3, 3),
            rng.randint(-6, 6) / 2,
            rng.choice(["a", "A", "b", "a%", "it's", "é", "", "_b"]),
            rng.choice([True, False]),
            None,
            {"nested": 1},
        ]
    )


def json_object(rng: random.Random) -> dict[str, Any]:
    return {key: json_value(rng) for key in ("a", "b") if rng.random() < 0.8}


def versions_of(dataset: Dataset, rng: random.Random) -> list[DatasetVersion]:
    """0 to 3 versions; each ends at a bar and changed bars from a point before or after the last one."""
    made, last = [], 1000
    for number in range(1, rng.randint(0, 3) + 1):
        changed = rng.choice([None, last - 10, last, last + 1])
        last = last + rng.choice([0, 10])
        made.append(DatasetVersion(dataset.dataset_id, number, T0, ohlcv_rows=1, ohlcv_last_ts=last,
                                   indicator_last_ts=rng.choice([None, last + 5]), changed_from_ts=changed))
    return made


def world(seed: int) -> tuple[list[Dataset], list[WalkforwardRun], list[Simulation], list[DatasetVersion]]:
    rng = random.Random(seed)
    datasets = [
        Dataset.register(
            UUID(int=seed * 1000 + i), Slug(f"ds_{i}"), DatasetChanges(symbol=symbol, granularity="1h"), T0
        )
        for i, symbol in enumerate(["BTC", "eth", None])
    ]
    runs = []
    for i in range(RUN_COUNT):
        dataset = rng.choice(datasets)
        runs.append(
            WalkforwardRun(
                run_id=UUID(int=seed * 100_000 + rng.randrange(10_000) * 10 + i % 10),
                dataset_id=dataset.dataset_id,
                dataset_slug=dataset.dataset_slug,
                prediction_measurement=MeasurementName(f"m_{seed}_{i}"),
                status=rng.choice(list(RecordStatus)),
                created_at=T0 + timedelta(seconds=rng.randint(0, 3)),  # ties on purpose
                target_column=rng.choice([None, "ret", "Ret", "r%"]),
                hyperparameters=json_object(rng),
                summary_metrics=json_object(rng),
                walk_config=json_object(rng),
                completed_at=rng.choice([None, T0 + timedelta(hours=rng.randint(-2, 2))]),
                declared_fold_count=rng.randint(0, 3),
                name=rng.choice([None, "a", "B", "a%b"]),
                tags={key: rng.choice(["a", "A", "it's", ""]) for key in ("a", "b") if rng.random() < 0.5},
                dataset_version=rng.choice([None, 0, 1, 2, 3]),
            )
        )
    simulations = []
    for i in range(25):
        run = rng.choice(runs)
        buckets = [
            TradeBucket(name, rng.randint(0, 2), 0, 0, rng.randint(-4, 4) / 2, 0.0, 0.0, 0.0, 0.0)
            for name in ("all", "long", "short")
            if rng.random() < 0.7
        ]
        simulations.append(
            Simulation(
                simulation_id=uuid4(),
                run_id=run.run_id,
                dataset_id=run.dataset_id,
                trades_measurement=MeasurementName(f"s_{seed}_{i}"),
                status=rng.choice(list(RecordStatus)),
                created_at=T0 + timedelta(seconds=rng.randint(0, 2)),
                config=json_object(rng),
                summary_metrics=json_object(rng),
                trade_count=rng.randint(0, 3),
                trade_buckets=buckets,
                dataset_version=rng.choice([None, 0, 1, 2, 3]),
            )
        )
    versions = [version for dataset in datasets for version in versions_of(dataset, rng)]
    return datasets, runs, simulations, versions


@dataclass
class Stores:
    stores: list[Store]
    seed: int | None = None
    examples: int = 0
    seconds: float = 0.0

    async def load(self, seed: int) -> None:
        if self.seed == seed:
            return
        datasets, runs, simulations, versions = world(seed)
        for store in self.stores:
            await store.clear()
            async with store() as uow:
                for dataset in datasets:
                    await uow.datasets.add(dataset)
                for run in runs:
                    await uow.runs.add(run)
                for simulation in simulations:
                    await uow.simulations.add(simulation, [])
                for version in versions:
                    await uow.versions.add(version)
                await uow.commit()
        self.seed = seed


@pytest.fixture
async def stores(metadata_sqlite_url: str, metadata_postgres_url: str) -> AsyncIterator[Stores]:
    engines = [create_engine(metadata_sqlite_url), create_engine(metadata_postgres_url)]
    made = Stores([Store("memory", state=InMemoryMetadata()), *(Store(e.dialect.name, engine=e) for e in engines)])
    try:
        yield made
    finally:
        print(f"\nsearch differential: {made.examples} examples per store, {made.seconds:.1f} s of searching")
        for store in made.stores:
            await store.clear()
        for engine in engines:
            await engine.dispose()


async def walk(store: Store, entity: str, query: SearchQuery) -> tuple[list[UUID], int | None]:
    """Every page of the result, following next_cursor; the ids in order and the total of the first page."""
    ids: list[UUID] = []
    total = None
    after = None
    async with store() as uow:
        search = uow.run_search if entity == "runs" else uow.simulation_search
        for page in range(100):
            found = await search.search(SearchQuery(query.filter, query.order, None, page == 0, query.limit, 0, after))
            ids.extend(record.ident for record in found.items)
            total = found.total if page == 0 else total
            if found.next_cursor is None:
                return ids, total
            after = decode_cursor(found.next_cursor, query)
    raise AssertionError("paging did not end")


def orders(fields: list[FieldRef | None]) -> st.SearchStrategy[tuple[OrderKey, ...]]:
    key = st.builds(OrderKey, st.sampled_from([f for f in fields if f is not None]), st.booleans())
    return st.lists(key, max_size=2).map(tuple)


async def check_same(stores: Stores, entity: str, expr: Expr | None, order: tuple[OrderKey, ...], limit: int) -> None:
    started = time.perf_counter()
    query = SearchQuery(expr, order, limit=limit)
    answers = [await walk(store, entity, query) for store in stores.stores]
    stores.seconds += time.perf_counter() - started
    stores.examples += 1
    (memory_ids, memory_total), *others = answers
    assert len(memory_ids) == len(set(memory_ids)) == memory_total
    for store, (ids, total) in zip(stores.stores[1:], others, strict=True):
        assert (store.kind, ids, total) == (store.kind, memory_ids, memory_total)


@pytest.mark.postgres
@pytest.mark.parametrize("seed", RUN_SEEDS)
@settings(
    max_examples=EXAMPLES_PER_SEED,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(expr=st.one_of(st.none(), expressions(RUN_FIELDS)), order=orders(RUN_FIELDS), limit=st.integers(8, 25))
async def test_runs_found_by_any_filter_and_order_are_the_same_in_every_store(
    stores: Stores, seed: int, expr: Expr | None, order: tuple[OrderKey, ...], limit: int
) -> None:
    await stores.load(seed)
    await check_same(stores, "runs", expr, order, limit)


@pytest.mark.postgres
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(expr=st.one_of(st.none(), expressions(SIM_FIELDS)), order=orders(SIM_FIELDS), limit=st.integers(8, 25))
async def test_simulations_found_by_any_filter_and_order_are_the_same_in_every_store(
    stores: Stores, expr: Expr | None, order: tuple[OrderKey, ...], limit: int
) -> None:
    await stores.load(RUN_SEEDS[0])
    await check_same(stores, "simulations", expr, order, limit)


@pytest.mark.postgres
async def test_literals_are_bound_so_a_quote_cannot_end_the_statement(stores: Stores) -> None:
    await stores.load(RUN_SEEDS[0])
    hostile = [
        "metrics.a = 'x''; DROP TABLE walkforward_runs; --'",
        "status LIKE '%''); DELETE FROM walkforward_runs; --'",
        "target_column IN ('a'' OR ''1''=''1', '\\')",
    ]
    for text in hostile:
        query = SearchQuery(parse_filter(text, RUNS), (), limit=50)
        for store in stores.stores:
            ids, total = await walk(store, "runs", query)
            assert (store.kind, ids, total) == (store.kind, [], 0)
    for store in stores.stores[1:]:
        assert store.engine is not None
        async with store.engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
        assert "walkforward_runs" in names
        async with store() as uow:
            everything = await uow.run_search.search(SearchQuery(limit=100))
        assert everything.total == RUN_COUNT
