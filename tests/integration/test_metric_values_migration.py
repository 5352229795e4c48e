"""Migration 0013 fills the metric side tables from the runs and simulations already stored, keeps them in
step with later writes made straight in SQL, and its down step removes them, on SQLite and Postgres."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import inspect, text

from adapters.sql import create_engine, migrate

BEFORE = "0012_dataset_versions"
NOW = "2025-01-01 00:00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/metric_values.db"
        return
    server = os.environ.get("STAGE1_TEST_POSTGRES_URL")
    if not server:
        pytest.fail("STAGE1_TEST_POSTGRES_URL is not set: run scripts/services.sh up and source .testenv/env.sh")
    name = f"stage1_metric_values_{uuid4().hex[:12]}"
    url = migrate.create_database(server, name)
    try:
        yield url
    finally:
        migrate.drop_database(server, name)


def run_sql(url: str, statements: list[str]) -> list[Any]:
    async def go() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.begin() as connection:
                results = []
                for statement in statements:
                    result = await connection.execute(text(statement))
                    results.append(sorted(tuple(row) for row in result.all()) if result.returns_rows else [])
                return results
        finally:
            await engine.dispose()

    return migrate.run_coroutine(go)


def test_existing_and_later_metrics_are_rows_of_the_side_table_until_the_down_step(database: str) -> None:
    migrate.upgrade(database, BEFORE)
    ident = (lambda value: value.hex) if database.startswith("sqlite") else str
    dataset, old_run, new_run = uuid4(), uuid4(), uuid4()
    run_columns = (
        "run_id, dataset_id, dataset_slug, prediction_measurement, status, feature_columns, walk_config, "
        "hyperparameters, summary_metrics, created_at"
    )

    def insert_run(run: Any, metrics: str) -> str:
        return (
            f"INSERT INTO walkforward_runs ({run_columns}) VALUES ('{ident(run)}', '{ident(dataset)}', 'd', "
            f"'p_{run.hex[:6]}', 'COMPLETED', '[]', '{{}}', '{{}}', '{metrics}', '{NOW}')"
        )

    run_sql(
        database,
        [
            "INSERT INTO stage1_datasets (dataset_id, dataset_slug, ohlcv_measurement, indicator_measurement, "
            f"metadata, created_at, updated_at) VALUES ('{ident(dataset)}', 'd', 'o', 'i', '{{}}', '{NOW}', '{NOW}')",
            insert_run(old_run, '{"sharpe": 1.5, "name": "x", "ok": true, "none": null, "n": 2}'),
        ],
    )

    migrate.upgrade(database, "0013_metric_values")
    (backfilled,) = run_sql(database, ["SELECT key, value FROM walkforward_run_metric_values"])
    run_sql(
        database,
        [
            insert_run(new_run, '{"sharpe": -1, "list": [1]}'),
            f"UPDATE walkforward_runs SET summary_metrics = '{{\"n\": 3}}' WHERE run_id = '{ident(old_run)}'",
        ],
    )
    (after_writes,) = run_sql(database, ["SELECT key, value FROM walkforward_run_metric_values"])
    run_sql(database, [f"DELETE FROM walkforward_runs WHERE run_id = '{ident(new_run)}'"])
    (after_delete,) = run_sql(database, ["SELECT key, value FROM walkforward_run_metric_values"])
    migrate.downgrade(database, 1)
    tables = migrate.run_coroutine(lambda: _tables(database))

    assert backfilled == [("n", 2.0), ("sharpe", 1.5)]
    assert after_writes == [("n", 3.0), ("sharpe", -1.0)]
    assert after_delete == [("n", 3.0)]
    assert "walkforward_run_metric_values" not in tables and "simulation_run_metric_values" not in tables


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names: set[str] = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
            return names
    finally:
        await engine.dispose()
