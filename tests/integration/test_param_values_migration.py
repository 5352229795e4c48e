"""Migration 0015 fills the hyperparameter side table from the runs already stored, keeps it in step with
later writes made straight in SQL, and its down step removes it and the (status, run_id) index, on SQLite
and Postgres."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy import inspect
from tests.integration.test_metric_values_migration import NOW, database, run_sql

from adapters.sql import create_engine, migrate

__all__ = ["database"]  # the fixture, one database per store

BEFORE = "0014_job_partial_indexes"
THIS = "0015_param_values"  # not head: later revisions must not change what its down step is tested on
SIDE = "walkforward_run_param_values"


def test_existing_and_later_numeric_hyperparameters_are_rows_of_the_side_table_until_the_down_step(
    database: str,
) -> None:
    migrate.upgrade(database, BEFORE)
    ident = (lambda value: value.hex) if database.startswith("sqlite") else str
    dataset, old_run, new_run = uuid4(), uuid4(), uuid4()
    columns = (
        "run_id, dataset_id, dataset_slug, prediction_measurement, status, feature_columns, walk_config, "
        "hyperparameters, summary_metrics, created_at"
    )

    def insert_run(run: Any, params: str) -> str:
        return (
            f"INSERT INTO walkforward_runs ({columns}) VALUES ('{ident(run)}', '{ident(dataset)}', 'd', "
            f"'p_{run.hex[:6]}', 'FAILED', '[]', '{{}}', '{params}', '{{}}', '{NOW}')"
        )

    run_sql(
        database,
        [
            "INSERT INTO stage1_datasets (dataset_id, dataset_slug, ohlcv_measurement, indicator_measurement, "
            f"metadata, created_at, updated_at) VALUES ('{ident(dataset)}', 'd', 'o', 'i', '{{}}', '{NOW}', '{NOW}')",
            insert_run(old_run, '{"eta": 0.05, "policy": "depthwise", "ok": true, "none": null, "depth": 2}'),
        ],
    )

    migrate.upgrade(database, THIS)
    read = f"SELECT key, value FROM {SIDE}"
    (backfilled,) = run_sql(database, [read])
    run_sql(
        database,
        [
            insert_run(new_run, '{"eta": 0.2, "list": [1]}'),
            f"UPDATE walkforward_runs SET hyperparameters = '{{\"depth\": 3}}' WHERE run_id = '{ident(old_run)}'",
        ],
    )
    (after_writes,) = run_sql(database, [read])
    run_sql(database, [f"DELETE FROM walkforward_runs WHERE run_id = '{ident(new_run)}'"])
    (after_delete,) = run_sql(database, [read])
    migrate.downgrade(database, 1)
    tables, indexes = migrate.run_coroutine(lambda: _schema(database))

    assert backfilled == [("depth", 2.0), ("eta", 0.05)]
    assert after_writes == [("depth", 3.0), ("eta", 0.2)]
    assert after_delete == [("depth", 3.0)]
    assert SIDE not in tables and "walkforward_run_metric_values" in tables
    assert "ix_walkforward_runs_status_run_id" not in indexes


async def _schema(url: str) -> tuple[set[str], set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:

            def read(sync: Any) -> tuple[set[str], set[str]]:
                inspector = inspect(sync)
                return set(inspector.get_table_names()), {i["name"] for i in inspector.get_indexes("walkforward_runs")}

            schema: tuple[set[str], set[str]] = await connection.run_sync(read)
            return schema
    finally:
        await engine.dispose()
