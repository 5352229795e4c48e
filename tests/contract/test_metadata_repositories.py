"""One behaviour for every metadata store: the in-memory fakes, SQLite and Postgres run the same tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.sql import SqlUnitOfWork, create_engine, tables
from application.ports import ApiToken, DatasetFilter, IdempotencyRecord, JobFilter, RunFilter, SimulationFilter
from domain.datasets import Dataset, DatasetChanges
from domain.errors import Conflict, InvalidInput, NotFound, StoreUnavailable
from domain.jobs import Job, JobStatus
from domain.lifecycle import RecordStatus
from domain.paging import Cursor, Page, PageRequest
from domain.runs import Fold, WalkforwardRun
from domain.simulations import Side, Simulation, Trade, aggregate_buckets
from domain.values import MeasurementName, Slug

if TYPE_CHECKING:
    from tests.contract.conftest import Store

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 11, 10, 12, 0, 0, 123456, tzinfo=UTC)

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_dataset(slug: str = "btc_4h", created: datetime = T0, **changes: Any) -> Dataset:
    fields = {"symbol": "BTCUSD", "granularity": "4h", **changes}
    dataset = Dataset.register(uuid4(), Slug(slug), DatasetChanges(**fields), created)
    return dataset


def make_run(dataset: Dataset, created: datetime = T0, **fields: Any) -> WalkforwardRun:
    values: dict[str, Any] = {
        "run_id": uuid4(),
        "dataset_id": dataset.dataset_id,
        "dataset_slug": dataset.dataset_slug,
        "prediction_measurement": MeasurementName(f"{dataset.dataset_slug}_wf_{uuid4().hex[:8]}"),
        "status": RecordStatus.COMPLETED,
        "created_at": created,
        "target_column": "ret_fwd_1",
    }
    values.update(fields)
    return WalkforwardRun(**values)


def make_simulation(run: WalkforwardRun, created: datetime = T0, **fields: Any) -> Simulation:
    values: dict[str, Any] = {
        "simulation_id": uuid4(),
        "run_id": run.run_id,
        "dataset_id": run.dataset_id,
        "trades_measurement": MeasurementName(f"{run.dataset_slug}_sim_{uuid4().hex[:8]}"),
        "status": RecordStatus.COMPLETED,
        "created_at": created,
    }
    values.update(fields)
    return Simulation(**values)


def make_trades(count: int, bars_per_ts: int = 1) -> list[Trade]:
    """Trades whose bar times repeat `bars_per_ts` times, listed out of order on purpose."""
    trades = [
        Trade(
            trade_id=i,
            bar_timestamp=1_700_000_000_000_000_000 + (i // bars_per_ts) * 3_600_000_000_000 + 7,
            side=Side.LONG if i % 3 else Side.SHORT,
            entry_price=100.0 + i,
            exit_price=None if i % 5 == 0 else 101.5 + i,
            quantity=0.25,
            pnl=None if i % 5 == 0 else (i % 7) - 3.5,
            return_pct=0.01 * (i % 4),
            fees=0.001,
            fold_number=i % 3,
            entry_timestamp=1_700_000_000_000_000_001 + i,
            exit_timestamp=None if i % 5 == 0 else 1_700_000_000_999_999_999 + i,
        )
        for i in range(count)
    ]
    return list(reversed(trades))


def make_job(created: datetime = T0, type: str = "noop", **fields: Any) -> Job:
    job = Job.submit(uuid4(), type, {"path": "/tmp/x.csv", "rows": [1, 2, None]}, created, priority=2)
    for name, value in fields.items():
        setattr(job, name, value)
    return job


async def add_dataset(store: Store, dataset: Dataset) -> Dataset:
    async with store() as uow:
        await uow.datasets.add(dataset)
        await uow.commit()
    return dataset


async def add_run(store: Store, run: WalkforwardRun) -> WalkforwardRun:
    async with store() as uow:
        await uow.runs.add(run)
        await uow.commit()
    return run


async def add_simulation(store: Store, simulation: Simulation, trades: list[Trade] | None = None) -> Simulation:
    async with store() as uow:
        await uow.simulations.add(simulation, trades or [])
        await uow.commit()
    return simulation


# ---------------------------------------------------------------- datasets


async def test_a_committed_dataset_reads_back_equal_by_id_and_by_slug(uow_factory: Store) -> None:
    dataset = make_dataset(
        source="kraken",
        ohlcv_rows=1200,
        ohlcv_first_ts=1_700_000_000,
        ohlcv_last_ts=1_704_000_000,
        metadata={"exchange": "kraken", "nested": {"a": [1, 2.5, None]}, "flag": True},
    )
    await add_dataset(uow_factory, dataset)

    async with uow_factory() as uow:
        by_id = await uow.datasets.get(dataset.dataset_id)
        by_slug = await uow.datasets.get_by_slug("btc_4h")
        missing = await uow.datasets.get(uuid4())

    assert by_id == dataset
    assert by_slug == dataset
    assert missing is None
    assert by_id is not None and by_id.indicator_first_ts is None and by_id.indicator_rows == 0


async def test_saving_a_dataset_replaces_its_fields(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    dataset.revise(DatasetChanges(symbol="XBTUSD", indicator_rows=42, metadata={"v": 2}), at(60))

    async with uow_factory() as uow:
        await uow.datasets.save(dataset)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.datasets.get(dataset.dataset_id)

    assert stored == dataset
    assert stored is not None and stored.updated_at == at(60) and stored.created_at == T0


async def test_a_second_dataset_with_a_taken_slug_is_a_conflict(uow_factory: Store) -> None:
    await add_dataset(uow_factory, make_dataset("eth_1h"))

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.datasets.add(make_dataset("eth_1h"))
            await uow.commit()

    async with uow_factory() as uow:
        page = await uow.datasets.list(DatasetFilter(), PageRequest())
    assert page.total == 1


async def test_saving_a_dataset_that_was_never_added_is_not_found(uow_factory: Store) -> None:
    with pytest.raises(NotFound):
        async with uow_factory() as uow:
            await uow.datasets.save(make_dataset())


async def test_the_legacy_indicator_datasets_row_follows_every_add_and_save(sql_uow_factory: Store) -> None:
    uow_factory = sql_uow_factory
    assert uow_factory.engine is not None
    dataset = make_dataset(indicator_rows=10, indicator_first_ts=1_700_000_000, indicator_last_ts=1_700_036_000)
    await add_dataset(uow_factory, dataset)
    dataset.revise(DatasetChanges(indicator_rows=20, indicator_last_ts=1_700_072_000, granularity="1h"), at(5))
    async with uow_factory() as uow:
        await uow.datasets.save(dataset)
        await uow.commit()

    async with uow_factory.engine.connect() as connection:
        rows = (await connection.execute(select(tables.legacy_datasets))).all()

    assert len(rows) == 1
    row = rows[0]
    assert row.dataset_id == dataset.dataset_id
    assert (row.dataset_slug, row.symbol, row.granularity) == ("btc_4h", "BTCUSD", "1h")
    assert (row.measurement, row.ohlcv_measurement) == ("btc_4h_ind", "btc_4h_ohlcv")
    assert (row.row_count, row.first_ts, row.last_ts) == (20, 1_700_000_000, 1_700_072_000)
    assert row.updated_at == at(5)


async def test_datasets_filter_by_symbol_granularity_and_a_case_blind_search(uow_factory: Store) -> None:
    await add_dataset(uow_factory, make_dataset("btc_4h", symbol="BTCUSD", granularity="4h"))
    await add_dataset(uow_factory, make_dataset("btc_1h", symbol="BTCUSD", granularity="1h", created=at(1)))
    await add_dataset(uow_factory, make_dataset("eth_1h", symbol="ETHUSD", granularity="1h", created=at(2)))
    await add_dataset(uow_factory, make_dataset("sol1h", symbol="SOL_USD", granularity="1h", created=at(3)))

    async def slugs(filters: DatasetFilter) -> list[str]:
        async with uow_factory() as uow:
            page = await uow.datasets.list(filters, PageRequest())
        assert page.total == len(page.items)
        return [listing.dataset.dataset_slug for listing in page.items]

    assert await slugs(DatasetFilter()) == ["sol1h", "eth_1h", "btc_1h", "btc_4h"]
    assert await slugs(DatasetFilter(symbol="BTCUSD")) == ["btc_1h", "btc_4h"]
    assert await slugs(DatasetFilter(granularity="1h")) == ["sol1h", "eth_1h", "btc_1h"]
    assert await slugs(DatasetFilter(symbol="BTCUSD", granularity="4h")) == ["btc_4h"]
    assert await slugs(DatasetFilter(search="ETH")) == ["eth_1h"]
    assert await slugs(DatasetFilter(search="usd")) == ["sol1h", "eth_1h", "btc_1h", "btc_4h"]
    # `_` is a LIKE wildcard; a search treats it as the character itself.
    assert await slugs(DatasetFilter(search="_1h")) == ["eth_1h", "btc_1h"]
    assert await slugs(DatasetFilter(search="nothing")) == []


async def test_dataset_listings_count_the_runs_and_simulations_that_use_them(uow_factory: Store) -> None:
    used = await add_dataset(uow_factory, make_dataset("btc_4h"))
    idle = await add_dataset(uow_factory, make_dataset("eth_1h", created=at(1)))
    first = await add_run(uow_factory, make_run(used))
    await add_run(uow_factory, make_run(used, created=at(1)))
    await add_simulation(uow_factory, make_simulation(first))

    async with uow_factory() as uow:
        page = await uow.datasets.list(DatasetFilter(), PageRequest())
        counts = await uow.datasets.related_counts(used.dataset_id)
        none = await uow.datasets.related_counts(idle.dataset_id)

    assert [(x.dataset.dataset_slug, x.related_runs, x.related_simulations) for x in page.items] == [
        ("eth_1h", 0, 0),
        ("btc_4h", 2, 1),
    ]
    assert counts == (2, 1)
    assert none == (0, 0)


async def walk_by_offset(fetch: Any, limit: int) -> list[Any]:
    seen: list[Any] = []
    offset = 0
    while True:
        page: Page[Any] = await fetch(PageRequest(limit=limit, offset=offset))
        seen.extend(page.items)
        offset += limit
        if offset >= page.total:
            return seen


async def walk_by_cursor(fetch: Any, limit: int) -> list[Any]:
    seen: list[Any] = []
    after: Cursor | None = None
    for _ in range(1000):
        page: Page[Any] = await fetch(PageRequest(limit=limit, after=after))
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        after = Cursor.decode(page.next_cursor)
    raise AssertionError("the cursor never ran out")


@given(
    created=st.lists(st.integers(min_value=0, max_value=4), max_size=12),
    limit=st.integers(min_value=1, max_value=5),
)
@EXAMPLES
async def test_walking_datasets_by_offset_or_cursor_yields_each_once_newest_first(
    uow_factory: Store, created: list[int], limit: int
) -> None:
    await uow_factory.clear()
    # Few distinct times, so many rows tie on created_at and the id decides their order.
    datasets = [make_dataset(f"ds_{i}", created=at(seconds)) for i, seconds in enumerate(created)]
    async with uow_factory() as uow:
        for dataset in datasets:
            await uow.datasets.add(dataset)
        await uow.commit()
    expected = [d.dataset_id for d in sorted(datasets, key=lambda d: (d.created_at, d.dataset_id), reverse=True)]

    async def fetch(page: PageRequest) -> Page[Any]:
        async with uow_factory() as uow:
            result = await uow.datasets.list(DatasetFilter(), page)
        assert result.total == len(datasets)
        return result

    by_offset = [listing.dataset.dataset_id for listing in await walk_by_offset(fetch, limit)]
    by_cursor = [listing.dataset.dataset_id for listing in await walk_by_cursor(fetch, limit)]
    assert by_offset == expected
    assert by_cursor == expected


async def test_the_last_page_has_no_next_cursor_and_a_full_one_has(uow_factory: Store) -> None:
    for i in range(3):
        await add_dataset(uow_factory, make_dataset(f"ds_{i}", created=at(i)))
    async with uow_factory() as uow:
        first = await uow.datasets.list(DatasetFilter(), PageRequest(limit=2))
        rest = await uow.datasets.list(
            DatasetFilter(), PageRequest(limit=2, after=Cursor.decode(first.next_cursor or ""))
        )
        exact = await uow.datasets.list(DatasetFilter(), PageRequest(limit=3))

    assert (first.total, len(first.items), first.next_cursor is not None) == (3, 2, True)
    assert (rest.total, [x.dataset.dataset_slug for x in rest.items], rest.next_cursor) == (3, ["ds_0"], None)
    assert exact.next_cursor is None


async def test_a_cursor_that_names_no_row_id_is_invalid_input(uow_factory: Store) -> None:
    with pytest.raises(InvalidInput):
        async with uow_factory() as uow:
            await uow.datasets.list(DatasetFilter(), PageRequest(after=Cursor(T0, "not-a-uuid")))


# ---------------------------------------------------------------- runs


def full_run(dataset: Dataset) -> WalkforwardRun:
    return make_run(
        dataset,
        feature_columns=["rsi_14", "macd", "vol_z"],
        walk_config={"train_bars": 5000, "test_bars": 500, "step": 500, "purge": None},
        hyperparameters={"max_depth": 6, "eta": 0.05, "objective": "reg:squarederror"},
        summary_metrics={"hit_rate": 0.54, "sharpe": 1.31, "by_fold": [0.5, 0.6]},
        clipboard_text="walk-forward summary\nline two",
        started_at=at(-600),
        completed_at=at(-5),
        folds=[
            Fold(
                fold_number=number,
                train_start=number * 500,
                train_end=number * 500 + 4999,
                test_start=number * 500 + 5000,
                test_end=number * 500 + 5499,
                train_start_ts=1_700_000_000 + number,
                train_end_ts=1_700_100_000 + number,
                test_start_ts=1_700_100_001 + number,
                test_end_ts=1_700_200_000 + number,
                thresholds={"long": 0.0015, "short": -0.002},
                metrics={"hit_rate": 0.5 + number / 100, "note": None},
            )
            for number in (2, 0, 1)
        ]
        + [Fold(fold_number=3)],
    )


async def test_a_run_reads_back_with_its_folds_in_fold_order(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, full_run(dataset))

    async with uow_factory() as uow:
        stored = await uow.runs.get(run.run_id)
        missing = await uow.runs.get(uuid4())

    assert stored is not None and missing is None
    assert [fold.fold_number for fold in stored.folds] == [0, 1, 2, 3]
    assert stored.folds == sorted(run.folds, key=lambda fold: fold.fold_number)
    assert stored.folds[3] == Fold(fold_number=3)
    assert stored.fold_count == 4
    for name in (
        "run_id", "dataset_id", "dataset_slug", "prediction_measurement", "status", "created_at",
        "target_column", "feature_columns", "walk_config", "hyperparameters", "summary_metrics",
        "clipboard_text", "started_at", "completed_at",
    ):  # fmt: skip
        assert getattr(stored, name) == getattr(run, name), name


async def test_a_runs_prediction_measurement_is_read_on_its_own_and_none_for_an_unknown_run(
    uow_factory: Store,
) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, full_run(dataset))

    async with uow_factory.reading() as uow:
        found = await uow.runs.prediction_measurement(run.run_id)
        missing = await uow.runs.prediction_measurement(uuid4())

    assert found == run.prediction_measurement
    assert missing is None


async def test_a_run_sent_without_folds_keeps_its_declared_fold_count(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset, declared_fold_count=7, status=RecordStatus.RUNNING, dataset_version=3))

    async with uow_factory() as uow:
        stored = await uow.runs.get(run.run_id)

    assert stored == run
    assert stored is not None and stored.fold_count == 7 and stored.folds == []
    assert stored.target_column == "ret_fwd_1" and stored.completed_at is None
    assert stored.dataset_version == 3


async def test_a_run_for_an_unknown_dataset_is_a_conflict_and_stores_nothing(uow_factory: Store) -> None:
    orphan = make_run(make_dataset())

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.runs.add(orphan)
            await uow.commit()

    async with uow_factory() as uow:
        assert await uow.runs.get(orphan.run_id) is None


async def test_runs_filter_by_dataset_slug_status_measurement_and_search(uow_factory: Store) -> None:
    btc = await add_dataset(uow_factory, make_dataset("btc_4h"))
    eth = await add_dataset(uow_factory, make_dataset("eth_1h"))
    a = await add_run(uow_factory, full_run(btc))
    b = await add_run(uow_factory, make_run(btc, created=at(1), status=RecordStatus.FAILED, target_column="Close_Ret"))
    c = await add_run(uow_factory, make_run(eth, created=at(2), prediction_measurement=MeasurementName("eth_preds")))

    async def ids(filters: RunFilter) -> list[UUID]:
        async with uow_factory() as uow:
            page = await uow.runs.list(filters, PageRequest())
        assert page.total == len(page.items)
        return [run.run_id for run in page.items]

    assert await ids(RunFilter()) == [c.run_id, b.run_id, a.run_id]
    assert await ids(RunFilter(dataset_id=btc.dataset_id)) == [b.run_id, a.run_id]
    assert await ids(RunFilter(dataset_slug="eth_1h")) == [c.run_id]
    assert await ids(RunFilter(status="FAILED")) == [b.run_id]
    assert await ids(RunFilter(measurement="eth_preds")) == [c.run_id]
    assert await ids(RunFilter(measurement="eth_pred")) == []
    assert await ids(RunFilter(search="PREDS")) == [c.run_id]
    assert await ids(RunFilter(search="close_")) == [b.run_id]
    assert await ids(RunFilter(search="btc")) == [b.run_id, a.run_id]
    assert await ids(RunFilter(dataset_id=btc.dataset_id, status="COMPLETED")) == [a.run_id]


async def test_listed_runs_carry_their_fold_count_but_not_the_folds(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    await add_run(uow_factory, full_run(dataset))

    async with uow_factory() as uow:
        page = await uow.runs.list(RunFilter(), PageRequest())

    assert [(run.fold_count, run.folds) for run in page.items] == [(4, [])]
    assert page.items[0].summary_metrics == {"hit_rate": 0.54, "sharpe": 1.31, "by_fold": [0.5, 0.6]}


@given(
    created=st.lists(st.integers(min_value=0, max_value=3), max_size=10),
    limit=st.integers(min_value=1, max_value=4),
)
@EXAMPLES
async def test_walking_runs_by_offset_or_cursor_yields_each_once_newest_first(
    uow_factory: Store, created: list[int], limit: int
) -> None:
    await uow_factory.clear()
    dataset = make_dataset()
    runs = [make_run(dataset, created=at(seconds)) for seconds in created]
    async with uow_factory() as uow:
        await uow.datasets.add(dataset)
        for run in runs:
            await uow.runs.add(run)
        await uow.commit()
    expected = [r.run_id for r in sorted(runs, key=lambda r: (r.created_at, r.run_id), reverse=True)]

    async def fetch(page: PageRequest) -> Page[WalkforwardRun]:
        async with uow_factory() as uow:
            return await uow.runs.list(RunFilter(dataset_id=dataset.dataset_id), page)

    assert [r.run_id for r in await walk_by_offset(fetch, limit)] == expected
    assert [r.run_id for r in await walk_by_cursor(fetch, limit)] == expected


async def test_a_measurement_is_taken_once_a_run_simulation_or_dataset_uses_it(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset, prediction_measurement=MeasurementName("wf_one")))
    await add_simulation(uow_factory, make_simulation(run, trades_measurement=MeasurementName("sim_one")))

    async with uow_factory() as uow:
        for repository in (uow.runs, uow.simulations):
            assert await repository.measurement_taken("wf_one")
            assert await repository.measurement_taken("sim_one")
            assert await repository.measurement_taken("btc_4h_ohlcv")
            assert await repository.measurement_taken("btc_4h_ind")
            assert not await repository.measurement_taken("wf_two")


# ---------------------------------------------------------------- simulations


async def test_a_simulation_reads_back_with_its_buckets_and_trades_in_bar_order(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset))
    trades = make_trades(25, bars_per_ts=3)
    simulation = make_simulation(
        run,
        config={"initial_capital": 10_000, "fee_bps": 2.5, "sizing": {"mode": "fixed"}},
        summary_metrics={"total_pnl": -3.5, "max_drawdown": None},
        trade_count=len(trades),
        trade_buckets=aggregate_buckets(trades),
        started_at=at(-30),
        completed_at=at(-1),
        dataset_version=2,
    )
    await add_simulation(uow_factory, simulation, trades)

    async with uow_factory() as uow:
        stored = await uow.simulations.get(simulation.simulation_id)
        every = await uow.simulations.all_trades(simulation.simulation_id)
        missing = await uow.simulations.get(uuid4())

    assert missing is None
    assert stored is not None
    assert sorted(stored.trade_buckets, key=lambda b: b.bucket) == sorted(
        simulation.trade_buckets, key=lambda b: b.bucket
    )
    assert {b.bucket for b in stored.trade_buckets} == {"all", "long", "short"}
    stored.trade_buckets = simulation.trade_buckets
    assert stored == simulation
    assert every == sorted(trades, key=lambda t: (t.bar_timestamp, t.trade_id))
    assert every[0].exit_timestamp is None and every[1].exit_timestamp == 1_700_000_001_000_000_000


async def test_replacing_a_simulations_trades_replaces_its_trades_buckets_and_count(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset))
    before = make_trades(4)
    simulation = make_simulation(run, trade_count=4, trade_buckets=aggregate_buckets(before))
    await add_simulation(uow_factory, simulation, before)
    after = make_trades(9, bars_per_ts=3)
    simulation.trade_count, simulation.trade_buckets = len(after), aggregate_buckets(after)

    async with uow_factory() as uow:
        await uow.simulations.replace_trades(simulation, after)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.simulations.get(simulation.simulation_id)
        every = await uow.simulations.all_trades(simulation.simulation_id)

    assert stored is not None and stored.trade_count == 9
    assert {b.bucket: b.trade_count for b in stored.trade_buckets} == {
        b.bucket: b.trade_count for b in aggregate_buckets(after)
    }
    assert every == sorted(after, key=lambda t: (t.bar_timestamp, t.trade_id))


async def test_a_simulation_for_an_unknown_run_is_a_conflict(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    orphan = make_simulation(make_run(dataset))

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.simulations.add(orphan, make_trades(2))
            await uow.commit()


async def test_trade_pages_by_offset_and_by_cursor_follow_bar_time_then_trade_id(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset))
    trades = make_trades(23, bars_per_ts=4)
    simulation = await add_simulation(uow_factory, make_simulation(run, trade_count=23), trades)
    expected = sorted(trades, key=lambda t: (t.bar_timestamp, t.trade_id))

    async def fetch(page: PageRequest) -> Page[Trade]:
        async with uow_factory() as uow:
            result = await uow.simulations.trades(simulation.simulation_id, page)
        assert result.total == 23
        return result

    for limit in (1, 4, 5, 23, 100):
        assert await walk_by_offset(fetch, limit) == expected
        assert await walk_by_cursor(fetch, limit) == expected
    async with uow_factory() as uow:
        none = await uow.simulations.trades(uuid4(), PageRequest())
    assert (none.items, none.total, none.next_cursor) == ([], 0, None)


async def test_tens_of_thousands_of_trades_are_stored_in_one_go(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset())
    run = await add_run(uow_factory, make_run(dataset))
    trades = make_trades(30_000)
    simulation = make_simulation(run, trade_count=len(trades))

    started = time.perf_counter()
    await add_simulation(uow_factory, simulation, trades)
    elapsed = time.perf_counter() - started

    async with uow_factory() as uow:
        page = await uow.simulations.trades(simulation.simulation_id, PageRequest(limit=1000, offset=29_500))
        every = await uow.simulations.all_trades(simulation.simulation_id)
    assert page.total == 30_000 and len(page.items) == 500 and page.next_cursor is None
    assert len(every) == 30_000 and every[-1].trade_id == 29_999
    # Row-at-a-time inserts take minutes here; a batched insert takes seconds even on a busy machine.
    assert elapsed < 60, f"storing 30k trades took {elapsed:.1f}s"


async def test_simulations_filter_by_run_dataset_and_status(uow_factory: Store) -> None:
    btc = await add_dataset(uow_factory, make_dataset("btc_4h"))
    eth = await add_dataset(uow_factory, make_dataset("eth_1h"))
    btc_run = await add_run(uow_factory, make_run(btc))
    eth_run = await add_run(uow_factory, make_run(eth))
    a = await add_simulation(uow_factory, make_simulation(btc_run, trade_buckets=aggregate_buckets([])))
    b = await add_simulation(uow_factory, make_simulation(btc_run, created=at(1), status=RecordStatus.FAILED))
    c = await add_simulation(uow_factory, make_simulation(eth_run, created=at(2)))

    async def ids(filters: SimulationFilter) -> list[UUID]:
        async with uow_factory() as uow:
            page = await uow.simulations.list(filters, PageRequest())
        assert page.total == len(page.items)
        assert all(sim.trade_buckets == [] for sim in page.items)
        return [sim.simulation_id for sim in page.items]

    assert await ids(SimulationFilter()) == [c.simulation_id, b.simulation_id, a.simulation_id]
    assert await ids(SimulationFilter(run_id=btc_run.run_id)) == [b.simulation_id, a.simulation_id]
    assert await ids(SimulationFilter(dataset_id=eth.dataset_id)) == [c.simulation_id]
    assert await ids(SimulationFilter(status="FAILED")) == [b.simulation_id]
    assert await ids(SimulationFilter(run_id=btc_run.run_id, status="COMPLETED")) == [a.simulation_id]


# ---------------------------------------------------------------- jobs


async def test_a_job_reads_back_equal_after_add_and_after_each_save(uow_factory: Store) -> None:
    job = make_job()
    async with uow_factory() as uow:
        await uow.jobs.add(job)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.jobs.get(job.job_id) == job

    job.claim("worker-1", at(1), timedelta(seconds=30))
    job.report_progress(5, 10, "halfway", at(2))
    async with uow_factory() as uow:
        await uow.jobs.save(job)
        await uow.commit()
    async with uow_factory() as uow:
        running = await uow.jobs.get(job.job_id)
    assert running == job
    assert running is not None and running.lease_expires_at == at(31) and running.result is None

    job.complete({"rows_written": 10, "measurement": "m", "extra": None}, at(3))
    async with uow_factory() as uow:
        await uow.jobs.save(job)
        await uow.commit()
    async with uow_factory() as uow:
        done = await uow.jobs.get(job.job_id)
        missing = await uow.jobs.get(uuid4())
    assert done == job and missing is None
    assert done is not None and done.status is JobStatus.COMPLETED and done.worker_id is None


async def test_saving_an_unknown_job_is_not_found(uow_factory: Store) -> None:
    with pytest.raises(NotFound):
        async with uow_factory() as uow:
            await uow.jobs.save(make_job())


async def test_jobs_list_by_status_and_type_and_are_counted_by_status(uow_factory: Store) -> None:
    pending = make_job(at(0), "questdb_import")
    failed = make_job(at(1), "questdb_import", status=JobStatus.FAILED, error="boom", cancel_requested=True)
    running = make_job(at(2), "dataset_export", status=JobStatus.RUNNING, worker_id="w", attempts=1)
    async with uow_factory() as uow:
        for job in (pending, failed, running):
            await uow.jobs.add(job)
        await uow.commit()

    async def ids(filters: JobFilter, page: PageRequest | None = None) -> list[UUID]:
        async with uow_factory() as uow:
            result = await uow.jobs.list(filters, page or PageRequest())
        return [job.job_id for job in result.items]

    assert await ids(JobFilter()) == [running.job_id, failed.job_id, pending.job_id]
    assert await ids(JobFilter(type="questdb_import")) == [failed.job_id, pending.job_id]
    assert await ids(JobFilter(status="RUNNING")) == [running.job_id]
    assert await ids(JobFilter(status="FAILED", type="dataset_export")) == []
    assert await ids(JobFilter(), PageRequest(limit=1, offset=1)) == [failed.job_id]
    async with uow_factory() as uow:
        counts = await uow.jobs.count_by_status()
        listed = await uow.jobs.list(JobFilter(status="FAILED"), PageRequest())
    assert counts == {
        JobStatus.PENDING: 1,
        JobStatus.RUNNING: 1,
        JobStatus.COMPLETED: 0,
        JobStatus.FAILED: 1,
        JobStatus.CANCELLED: 0,
    }
    assert listed.items == [failed]


# ---------------------------------------------------------------- idempotency and tokens


async def test_an_idempotency_record_is_found_by_key_and_scope_only(uow_factory: Store) -> None:
    record = IdempotencyRecord("key-1", "runs", "sha256:abc", True, {"run_id": str(uuid4()), "rows": [1, None]}, T0)
    async with uow_factory() as uow:
        await uow.idempotency.add(record)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.idempotency.get("key-1", "runs") == record
        assert await uow.idempotency.get("key-1", "simulations") is None
        assert await uow.idempotency.get("key-2", "runs") is None


async def test_a_repeated_idempotency_key_in_the_same_scope_is_a_conflict(uow_factory: Store) -> None:
    first = IdempotencyRecord("key-1", "runs", "h1", True, {"a": 1}, T0)
    async with uow_factory() as uow:
        await uow.idempotency.add(first)
        await uow.idempotency.add(IdempotencyRecord("key-1", "simulations", "h1", True, {"b": 2}, T0))
        await uow.commit()

    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.idempotency.add(IdempotencyRecord("key-1", "runs", "h2", False, {}, at(1)))
            await uow.commit()
    async with uow_factory() as uow:
        assert await uow.idempotency.get("key-1", "runs") == first


async def test_tokens_are_found_by_id_and_hash_saved_and_listed_newest_first(uow_factory: Store) -> None:
    old = ApiToken(uuid4(), "desktop", "h" * 64, T0, expires_at=at(86_400))
    new = ApiToken(uuid4(), "web", "g" * 64, at(10))
    async with uow_factory() as uow:
        await uow.tokens.add(old)
        await uow.tokens.add(new)
        await uow.commit()

    old.last_used_at, old.revoked_at = at(20), at(30)
    async with uow_factory() as uow:
        await uow.tokens.save(old)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.tokens.get(old.token_id) == old
        assert await uow.tokens.get_by_hash("g" * 64) == new
        assert await uow.tokens.get_by_hash("x" * 64) is None
        page = await uow.tokens.list(PageRequest(limit=1))
        rest = await uow.tokens.list(PageRequest(limit=1, after=Cursor.decode(page.next_cursor or "")))
    assert (page.items, page.total) == ([new], 2)
    assert (rest.items, rest.next_cursor) == ([old], None)


async def test_a_token_hash_is_unique(uow_factory: Store) -> None:
    async with uow_factory() as uow:
        await uow.tokens.add(ApiToken(uuid4(), "a", "same", T0))
        await uow.commit()
    with pytest.raises(Conflict):
        async with uow_factory() as uow:
            await uow.tokens.add(ApiToken(uuid4(), "b", "same", T0))
            await uow.commit()


# ---------------------------------------------------------------- the unit of work


async def test_leaving_the_block_without_commit_stores_nothing(uow_factory: Store) -> None:
    dataset = make_dataset()
    job = make_job()
    async with uow_factory() as uow:
        await uow.datasets.add(dataset)
        await uow.runs.add(make_run(dataset))
        await uow.jobs.add(job)
        await uow.tokens.add(ApiToken(uuid4(), "t", "hash", T0))
        assert await uow.datasets.get(dataset.dataset_id) == dataset

    async with uow_factory() as uow:
        assert await uow.datasets.get(dataset.dataset_id) is None
        assert await uow.jobs.get(job.job_id) is None
        assert (await uow.runs.list(RunFilter(), PageRequest())).total == 0
        assert await uow.tokens.get_by_hash("hash") is None


async def test_an_error_inside_the_block_rolls_back_even_after_writes(uow_factory: Store) -> None:
    dataset = make_dataset()
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await uow.datasets.add(dataset)
            raise RuntimeError("use case failed")

    async with uow_factory() as uow:
        assert await uow.datasets.get(dataset.dataset_id) is None


async def test_an_explicit_rollback_discards_only_what_came_after_the_last_commit(uow_factory: Store) -> None:
    kept, dropped = make_dataset("kept"), make_dataset("dropped")
    async with uow_factory() as uow:
        await uow.datasets.add(kept)
        await uow.commit()
        await uow.datasets.add(dropped)
        await uow.rollback()
        assert await uow.datasets.get(dropped.dataset_id) is None
        await uow.datasets.add(make_dataset("after_rollback"))
        await uow.commit()

    async with uow_factory() as uow:
        page = await uow.datasets.list(DatasetFilter(), PageRequest())
    assert sorted(x.dataset.dataset_slug for x in page.items) == ["after_rollback", "kept"]


async def test_other_units_see_writes_only_once_committed(uow_factory: Store) -> None:
    dataset = make_dataset()
    async with uow_factory() as writer:
        await writer.datasets.add(dataset)
        async with uow_factory() as reader:
            assert await reader.datasets.get(dataset.dataset_id) is None
        await writer.commit()
    async with uow_factory() as reader:
        assert await reader.datasets.get(dataset.dataset_id) == dataset


async def test_changing_a_returned_entity_changes_nothing_stored(uow_factory: Store) -> None:
    dataset = await add_dataset(uow_factory, make_dataset(metadata={"a": {"b": 1}}))
    async with uow_factory() as uow:
        loaded = await uow.datasets.get(dataset.dataset_id)
        assert loaded is not None
        loaded.metadata["a"]["b"] = 2
        loaded.symbol = "CHANGED"
        again = await uow.datasets.get(dataset.dataset_id)
    dataset.metadata["a"]["b"] = 3
    async with uow_factory() as uow:
        stored = await uow.datasets.get(dataset.dataset_id)
    assert again is not None and again.symbol == "BTCUSD" and again.metadata == {"a": {"b": 1}}
    assert stored is not None and stored.metadata == {"a": {"b": 1}}


async def test_times_come_back_tz_aware_as_the_same_instant(uow_factory: Store) -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2025, 11, 10, 17, 30, 0, 999, tzinfo=east)
    dataset = await add_dataset(uow_factory, make_dataset(created=local))
    job = make_job(local, run_after=local + timedelta(minutes=1))
    async with uow_factory() as uow:
        await uow.jobs.add(job)
        await uow.commit()

    async with uow_factory() as uow:
        stored = await uow.datasets.get(dataset.dataset_id)
        stored_job = await uow.jobs.get(job.job_id)
    assert stored is not None and stored_job is not None
    for moment in (stored.created_at, stored.updated_at, stored_job.created_at, stored_job.run_after):
        assert moment is not None and moment.tzinfo is not None
        if uow_factory.is_sql:
            assert moment.utcoffset() == timedelta(0)
    assert stored.created_at == datetime(2025, 11, 10, 12, 0, 0, 999, tzinfo=UTC)
    assert stored_job.run_after == datetime(2025, 11, 10, 12, 1, 0, 999, tzinfo=UTC)


async def test_non_finite_metrics_are_stored_as_null_by_the_sql_stores(sql_uow_factory: Store) -> None:
    dataset = await add_dataset(sql_uow_factory, make_dataset())
    run = make_run(dataset, summary_metrics={"sharpe": float("nan"), "by_fold": [1.5, float("inf")], "n": 3})
    await add_run(sql_uow_factory, run)

    async with sql_uow_factory() as uow:
        stored = await uow.runs.get(run.run_id)

    assert stored is not None and stored.summary_metrics == {"sharpe": None, "by_fold": [1.5, None], "n": 3}


# ---------------------------------------------------------------- driver errors


async def test_an_unreachable_postgres_is_reported_as_store_unavailable() -> None:
    engine = create_engine("postgresql+asyncpg://stage1:stage1@127.0.0.1:1/stage1", connect_timeout=2)
    try:
        with pytest.raises(StoreUnavailable):
            async with SqlUnitOfWork(engine) as uow:
                await uow.datasets.get_by_slug("btc_4h")
    finally:
        await engine.dispose()


async def test_a_sqlite_file_that_cannot_be_opened_is_store_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/stage1.db")
    try:
        with pytest.raises(StoreUnavailable):
            async with SqlUnitOfWork(engine) as uow:
                await uow.datasets.get_by_slug("btc_4h")
    finally:
        await engine.dispose()
        # aiosqlite stops the worker thread of a failed connect without waiting for it; let it finish
        # while this loop is open, or it reports "Event loop is closed" during a later test.
        for thread in threading.enumerate():
            if "_connection_worker_thread" in thread.name:
                thread.join(timeout=2)


async def test_a_database_that_was_never_migrated_is_store_unavailable_with_a_hint(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    try:
        with pytest.raises(StoreUnavailable, match="migrate"):
            async with SqlUnitOfWork(engine) as uow:
                await uow.jobs.count_by_status()
    finally:
        await engine.dispose()


async def test_a_conflict_names_the_constraint_that_refused_the_write(sql_uow_factory: Store) -> None:
    await add_dataset(sql_uow_factory, make_dataset("btc_4h"))
    with pytest.raises(Conflict) as caught:
        async with sql_uow_factory() as uow:
            await uow.datasets.add(make_dataset("btc_4h"))
    assert "dataset_slug" in str(caught.value.details)
