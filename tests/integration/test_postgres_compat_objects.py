"""The views and functions desktops call directly keep working next to the service (Postgres only)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sql import SqlUnitOfWork, create_engine, migrate
from adapters.sql.tables import metadata
from domain.datasets import Dataset, DatasetChanges
from domain.errors import InvalidInput
from domain.lifecycle import RecordStatus
from domain.paging import PageRequest
from domain.runs import WalkforwardRun
from domain.simulations import Simulation
from domain.values import MeasurementName, Slug

pytestmark = [pytest.mark.postgres, pytest.mark.anyio]

POSTGRES_ENV = "STAGE1_TEST_POSTGRES_URL"
T0 = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)

UPSERT = text(
    "SELECT upsert_stage1_dataset(:slug, :symbol, :granularity, :source, :ohlcv_m, :ind_m, "
    ":ohlcv_rows, :ind_rows, :ohlcv_first, :ohlcv_last, :ind_first, :ind_last, CAST(:meta AS jsonb))"
)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.fail(f"{POSTGRES_ENV} is not set: run scripts/services.sh up and source .testenv/env.sh")
    name = f"stage1_compat_{uuid4().hex[:12]}"
    url = migrate.create_database(server, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        migrate.drop_database(server, name)


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    try:
        yield engine
    finally:
        names = ", ".join(table.name for table in metadata.sorted_tables)
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()


def upsert_args(slug: str, **given: Any) -> dict[str, Any]:
    names = "symbol granularity source ohlcv_m ind_m ohlcv_rows ind_rows ohlcv_first ohlcv_last ind_first ind_last meta"
    args: dict[str, Any] = dict.fromkeys(names.split())
    args.update(slug=slug, **given)
    if args["meta"] is not None:
        args["meta"] = json.dumps(args["meta"])
    return args


async def test_upsert_stage1_dataset_creates_then_updates_by_slug_and_mirrors_the_legacy_row(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        created = (
            await connection.execute(
                UPSERT,
                upsert_args(
                    "btc_4h",
                    symbol="BTCUSD",
                    granularity="4h",
                    source="desktop",
                    ind_rows=100,
                    ind_first=1_700_000_000,
                    ind_last=1_700_356_400,
                    meta={"from": "desktop"},
                ),
            )
        ).scalar_one()
    async with engine.begin() as connection:
        again = (await connection.execute(UPSERT, upsert_args("btc_4h", ohlcv_rows=100, granularity="1h"))).scalar_one()

    assert isinstance(created, UUID) and again == created
    async with SqlUnitOfWork(engine) as uow:
        dataset = await uow.datasets.get_by_slug("btc_4h")
    assert dataset is not None and dataset.dataset_id == created
    # NULL arguments leave stored values alone; the defaults named the measurements on insert.
    assert (dataset.symbol, dataset.granularity, dataset.source) == ("BTCUSD", "1h", "desktop")
    assert (dataset.ohlcv_measurement, dataset.indicator_measurement) == ("btc_4h_ohlcv", "btc_4h_ind")
    assert (dataset.ohlcv_rows, dataset.indicator_rows, dataset.indicator_last_ts) == (100, 100, 1_700_356_400)
    assert dataset.metadata == {"from": "desktop"}
    assert dataset.created_at.tzinfo is not None and dataset.updated_at >= dataset.created_at

    async with engine.connect() as connection:
        legacy = (await connection.execute(text("SELECT * FROM indicator_datasets"))).mappings().all()
    assert [dict(row) | {"created_at": None, "updated_at": None} for row in legacy] == [
        {
            "dataset_id": created,
            "dataset_slug": "btc_4h",
            "symbol": "BTCUSD",
            "granularity": "1h",
            "measurement": "btc_4h_ind",
            "ohlcv_measurement": "btc_4h_ohlcv",
            "row_count": 100,
            "first_ts": 1_700_000_000,
            "last_ts": 1_700_356_400,
            "created_at": None,
            "updated_at": None,
        }
    ]


async def test_a_dataset_the_service_stored_is_updated_in_place_by_the_desktop_function(
    engine: AsyncEngine,
) -> None:
    dataset = Dataset.register(uuid4(), Slug("eth_1h"), DatasetChanges(symbol="ETHUSD"), T0)
    async with SqlUnitOfWork(engine) as uow:
        await uow.datasets.add(dataset)
        await uow.commit()

    async with engine.begin() as connection:
        returned = (await connection.execute(UPSERT, upsert_args("eth_1h", ind_rows=7))).scalar_one()

    async with SqlUnitOfWork(engine) as uow:
        stored = await uow.datasets.get(dataset.dataset_id)
    assert returned == dataset.dataset_id
    assert stored is not None and stored.indicator_rows == 7 and stored.symbol == "ETHUSD"
    assert stored.created_at == T0


async def test_upsert_stage1_dataset_records_a_version_when_counts_or_bounds_change(engine: AsyncEngine) -> None:
    rows = {"ohlcv_rows": 10, "ohlcv_first": 1_700_000_000, "ohlcv_last": 1_700_032_400}
    for given in ({"symbol": "SOL"}, rows, rows, {**rows, "ohlcv_rows": 11, "ohlcv_last": 1_700_036_000}):
        async with engine.begin() as connection:
            await connection.execute(UPSERT, upsert_args("sol_1h", **given))

    async with SqlUnitOfWork(engine) as uow:
        dataset = await uow.datasets.get_by_slug("sol_1h")
        assert dataset is not None
        versions = await uow.versions.newest_first(dataset.dataset_id, PageRequest.of(10))
    # No rows: no version; the same counts again: no new one; without the rows, where they changed is unknown.
    assert dataset.version == 2
    assert [(v.version, v.ohlcv_rows, v.ohlcv_last_ts, v.changed_from_ts) for v in versions.items] == [
        (2, 11, 1_700_036_000, None),
        (1, 10, 1_700_032_400, None),
    ]


async def seed_tree(engine: AsyncEngine) -> tuple[Dataset, Dataset, list[WalkforwardRun], Simulation]:
    used = Dataset.register(uuid4(), Slug("btc_4h"), DatasetChanges(symbol="BTCUSD"), T0)
    idle = Dataset.register(uuid4(), Slug("eth_1h"), DatasetChanges(symbol="ETHUSD"), T0 + timedelta(hours=1))
    runs = [
        WalkforwardRun(
            run_id=uuid4(),
            dataset_id=used.dataset_id,
            dataset_slug=used.dataset_slug,
            prediction_measurement=MeasurementName(f"btc_4h_wf_{n}"),
            status=RecordStatus.COMPLETED,
            created_at=T0 + timedelta(minutes=n),
            summary_metrics={"hit_rate": 0.5 + n / 10},
            declared_fold_count=3,
        )
        for n in range(2)
    ]
    simulation = Simulation(
        simulation_id=uuid4(),
        run_id=runs[1].run_id,
        dataset_id=used.dataset_id,
        trades_measurement=MeasurementName("btc_4h_sim_1"),
        status=RecordStatus.COMPLETED,
        created_at=T0 + timedelta(minutes=5),
        trade_count=12,
    )
    async with SqlUnitOfWork(engine) as uow:
        await uow.datasets.add(used)
        await uow.datasets.add(idle)
        for run in runs:
            await uow.runs.add(run)
        await uow.simulations.add(simulation, [])
        await uow.commit()
    return used, idle, runs, simulation


async def test_the_catalog_view_and_fn_list_datasets_count_related_runs_and_simulations(
    engine: AsyncEngine,
) -> None:
    used, idle, _, _ = await seed_tree(engine)

    async with engine.connect() as connection:
        listed = (
            await connection.execute(
                text("SELECT dataset_slug, related_runs, related_simulations FROM fn_list_datasets()")
            )
        ).all()
        catalog = (
            await connection.execute(
                text("SELECT dataset_id, related_runs, last_run_at FROM dataset_catalog ORDER BY dataset_slug")
            )
        ).all()

    assert [tuple(row) for row in listed] == [("eth_1h", 0, 0), ("btc_4h", 2, 1)]
    assert [(row.dataset_id, row.related_runs) for row in catalog] == [(used.dataset_id, 2), (idle.dataset_id, 0)]
    assert catalog[0].last_run_at == T0 + timedelta(minutes=1) and catalog[1].last_run_at is None


async def test_fn_list_runs_and_fn_list_simulations_filter_by_their_parent_or_list_all(
    engine: AsyncEngine,
) -> None:
    used, idle, runs, simulation = await seed_tree(engine)

    async with engine.connect() as connection:

        async def run_ids(sql: str, **params: Any) -> list[UUID]:
            return list((await connection.execute(text(sql), params)).scalars())

        every_run = await run_ids("SELECT run_id FROM fn_list_runs()")
        used_runs = await run_ids("SELECT run_id FROM fn_list_runs(:d)", d=used.dataset_id)
        idle_runs = await run_ids("SELECT run_id FROM fn_list_runs(:d)", d=idle.dataset_id)
        sims = await run_ids("SELECT simulation_id FROM fn_list_simulations(:r)", r=runs[1].run_id)
        no_sims = await run_ids("SELECT simulation_id FROM fn_list_simulations(:r)", r=runs[0].run_id)
        every_sim = await run_ids("SELECT simulation_id FROM fn_list_simulations()")

    newest_first = [runs[1].run_id, runs[0].run_id]
    assert every_run == newest_first and used_runs == newest_first and idle_runs == []
    assert sims == [simulation.simulation_id] and no_sims == [] and every_sim == sims


async def test_the_hierarchy_view_has_one_row_per_dataset_run_and_simulation_path(engine: AsyncEngine) -> None:
    _, _, runs, simulation = await seed_tree(engine)

    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT dataset_slug, run_id, run_status, simulation_id, simulation_status, trade_count "
                    "FROM dataset_hierarchy ORDER BY dataset_slug, run_created_at"
                )
            )
        ).all()

    assert [tuple(row) for row in rows] == [
        ("btc_4h", runs[0].run_id, "COMPLETED", None, None, None),
        ("btc_4h", runs[1].run_id, "COMPLETED", simulation.simulation_id, "COMPLETED", 12),
        ("eth_1h", None, None, None, None, None),
    ]


async def test_a_value_too_long_for_its_column_is_invalid_input_not_a_server_error(engine: AsyncEngine) -> None:
    # SQLite ignores VARCHAR lengths; Postgres enforces them and the adapter reports a 400, not a 500.
    dataset = Dataset.register(uuid4(), Slug("btc_4h"), DatasetChanges(), T0)
    dataset.symbol = "x" * 300

    with pytest.raises(InvalidInput):
        async with SqlUnitOfWork(engine) as uow:
            await uow.datasets.add(dataset)
