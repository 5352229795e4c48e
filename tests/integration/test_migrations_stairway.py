"""Every migration goes up, down and up again on SQLite and Postgres, and head matches the table definitions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from adapters.sql import create_engine, migrate
from adapters.sql.tables import metadata

POSTGRES_ENV = "STAGE1_TEST_POSTGRES_URL"


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/stairway.db"


@pytest.fixture
def postgres_database() -> Iterator[str]:
    server = os.environ.get(POSTGRES_ENV)
    if not server:
        pytest.fail(f"{POSTGRES_ENV} is not set: run scripts/services.sh up and source .testenv/env.sh")
    name = f"stage1_stairway_{uuid4().hex[:12]}"
    url = migrate.create_database(server, name)
    try:
        yield url
    finally:
        migrate.drop_database(server, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_database")
    return url


def _inspect(url: str, reader: object) -> object:
    async def run() -> object:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(reader)  # type: ignore[arg-type]
        finally:
            await engine.dispose()

    return migrate.run_coroutine(run)


def table_names(url: str) -> set[str]:
    names = _inspect(url, lambda connection: set(inspect(connection).get_table_names()))
    assert isinstance(names, set)
    return names - {migrate.VERSION_TABLE}


def schema_differences(url: str) -> list[object]:
    def compare(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"version_table": migrate.VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    differences = _inspect(url, compare)
    assert isinstance(differences, list)
    return differences


def test_each_revision_goes_up_down_and_up_again(database: str) -> None:
    order = migrate.revisions()
    assert len(order) >= 3
    previous: str | None = None
    seen_tables: list[set[str]] = []
    for revision in order:
        migrate.upgrade(database, revision)
        assert migrate.current(database) == revision
        after_up = table_names(database)

        migrate.downgrade(database, 1)
        assert migrate.current(database) == previous
        assert table_names(database) == (seen_tables[-1] if seen_tables else set())

        migrate.upgrade(database, revision)
        assert migrate.current(database) == revision
        assert table_names(database) == after_up
        seen_tables.append(after_up)
        previous = revision

    assert seen_tables[-1] == set(metadata.tables)
    migrate.downgrade(database, "base")
    assert migrate.current(database) is None
    assert table_names(database) == set()
    migrate.upgrade(database)
    assert migrate.current(database) == migrate.head()


def test_the_schema_at_head_is_exactly_the_table_definitions(database: str) -> None:
    migrate.upgrade(database)
    assert schema_differences(database) == []


def test_reset_leaves_an_up_to_date_schema(database: str) -> None:
    migrate.upgrade(database, migrate.revisions()[0])
    assert "pending" in migrate.status(database)

    migrate.reset(database)

    assert migrate.current(database) == migrate.head()
    assert migrate.status(database).endswith("up to date")


def test_status_of_an_empty_database_lists_every_revision_as_pending(sqlite_database: str) -> None:
    text = migrate.status(sqlite_database)
    assert text.startswith("current: base")
    assert all(revision in text for revision in migrate.revisions())


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_offline_upgrade_prints_the_create_statements_without_a_database(dialect: str) -> None:
    sql = migrate.upgrade_sql(dialect)

    for table in metadata.tables:
        assert f"CREATE TABLE {table} (" in sql
    assert migrate.VERSION_TABLE in sql
    postgres_only = ("CREATE VIEW dataset_catalog", "CREATE FUNCTION upsert_stage1_dataset")
    assert all((marker in sql) == (dialect == "postgresql") for marker in postgres_only)


def test_the_offline_upgrade_takes_a_url_too() -> None:
    sql = migrate.upgrade_sql("postgresql://user:secret@db.invalid:5432/stage1")
    assert "JSONB" in sql and "BIGSERIAL" in sql
    assert "WHERE status = 'PENDING'" in sql


def test_migrating_from_inside_an_event_loop_works(sqlite_database: str) -> None:
    import asyncio

    async def from_async_code() -> None:
        migrate.upgrade(sqlite_database)

    asyncio.run(from_async_code())
    assert migrate.current(sqlite_database) == migrate.head()


def test_existing_datasets_get_version_1_and_their_runs_and_simulations_that_version(database: str) -> None:
    migrate.upgrade(database, "0008_dataset_version_field")
    full, empty, run, simulation = uuid4(), uuid4(), uuid4(), uuid4()
    now = "2025-01-01 00:00:00"

    async def seed_and_read(statements: list[str]) -> list[Any]:
        engine = create_engine(database)
        try:
            async with engine.begin() as connection:
                results = []
                for statement in statements:
                    result = await connection.execute(text(statement))
                    results.append(result.all() if result.returns_rows else [])
        finally:
            await engine.dispose()
        return results

    def ident(value: Any) -> str:
        return value.hex if database.startswith("sqlite") else str(value)

    dataset_columns = "dataset_id, dataset_slug, ohlcv_measurement, indicator_measurement, metadata, created_at, updated_at"
    migrate.run_coroutine(
        lambda: seed_and_read(
            [
                f"INSERT INTO stage1_datasets ({dataset_columns}, ohlcv_rows, ohlcv_first_ts, ohlcv_last_ts) "
                f"VALUES ('{ident(full)}', 'full', 'full_ohlcv', 'full_ind', '{{}}', '{now}', '{now}', 3, 10, 30)",
                f"INSERT INTO stage1_datasets ({dataset_columns}) "
                f"VALUES ('{ident(empty)}', 'empty', 'empty_ohlcv', 'empty_ind', '{{}}', '{now}', '{now}')",
                "INSERT INTO walkforward_runs (run_id, dataset_id, dataset_slug, prediction_measurement, status, "
                "feature_columns, walk_config, hyperparameters, summary_metrics, created_at) "
                f"VALUES ('{ident(run)}', '{ident(full)}', 'full', 'p', 'COMPLETED', '[]', '{{}}', '{{}}', '{{}}', '{now}')",
                "INSERT INTO simulation_runs (simulation_id, run_id, dataset_id, trades_measurement, status, config, "
                f"summary_metrics, created_at) VALUES ('{ident(simulation)}', '{ident(run)}', '{ident(full)}', 't', "
                f"'COMPLETED', '{{}}', '{{}}', '{now}')",
            ]
        )
    )
    migrate.upgrade(database)
    datasets, versions, runs, simulations = migrate.run_coroutine(
        lambda: seed_and_read(
            [
                "SELECT dataset_slug, version FROM stage1_datasets ORDER BY dataset_slug",
                "SELECT version, ohlcv_rows, ohlcv_first_ts, ohlcv_last_ts FROM stage1_dataset_versions",
                "SELECT dataset_version FROM walkforward_runs",
                "SELECT dataset_version FROM simulation_runs",
            ]
        )
    )
    assert [tuple(row) for row in datasets] == [("empty", 0), ("full", 1)]
    assert [tuple(row) for row in versions] == [(1, 3, 10, 30)]
    assert [tuple(row) for row in runs] == [(1,)] and [tuple(row) for row in simulations] == [(1,)]
