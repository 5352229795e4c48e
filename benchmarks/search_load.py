"""Stage1's side of the search benchmark's data: a database migrated by the real migrations, filled by COPY.

With `cache=True` the database has a name made of its sizes, seed and migration head, is kept at the end,
and a later run that finds it complete (the `searchbench_loaded` marker is written last) skips the load.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import search_data as data
from sqlalchemy.engine import make_url

from adapters.jobs.pg import asyncpg_dsn
from adapters.sql import migrate, tables
from adapters.sql.engine import async_url

MARKER = "searchbench_loaded"
CHUNK = 5_000


def database_name(prefix: str, runs: int, simulations: int, seed: int, cache: bool, tail: str = "") -> str:
    if not cache:
        return f"{prefix}_{uuid.uuid4().hex[:8]}"
    return f"{prefix}_r{runs}_s{simulations}_x{seed}{tail}"[:63]


async def is_loaded(url: str) -> bool:
    try:
        conn = await asyncpg.connect(asyncpg_dsn(url))
    except asyncpg.InvalidCatalogNameError:
        return False
    try:
        return bool(await conn.fetchval(f"SELECT to_regclass('{MARKER}') IS NOT NULL"))
    finally:
        await conn.close()


async def mark_loaded(url: str, seconds: float) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(f"CREATE TABLE {MARKER} (seconds double precision)")
        await conn.execute(f"INSERT INTO {MARKER} VALUES ($1)", seconds)
    finally:
        await conn.close()


def ensure_database(server: str, name: str) -> str:
    """The URL of database `name` on `server`, created (empty) when it does not exist yet."""
    url = make_url(async_url(server)).set(database=name).render_as_string(hide_password=False)
    if not asyncio.run(_exists(server, name)):
        migrate.create_database(server, name)
    return url


async def _exists(server: str, name: str) -> bool:
    conn = await asyncpg.connect(asyncpg_dsn(server))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def load_stage1(url: str, runs: int, simulations: int, seed: int) -> float:
    """Migrate `url` and fill it; answers the seconds the fill took."""
    migrate.upgrade(url)
    started = time.perf_counter()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        now = datetime.now(UTC)
        datasets = {symbol: uuid.uuid5(uuid.NAMESPACE_DNS, f"{symbol}.searchbench") for symbol in data.SYMBOLS}
        await _copy(
            conn,
            "stage1_datasets",
            (
                "dataset_id",
                "dataset_slug",
                "symbol",
                "granularity",
                "ohlcv_measurement",
                "indicator_measurement",
                "metadata",
                "created_at",
                "updated_at",
            ),
            [
                (ident, f"{s.lower()}_1h", s, "1h", f"{s.lower()}_1h_ohlcv", f"{s.lower()}_1h_ind", "{}", now, now)
                for s, ident in datasets.items()
            ],
        )
        for chunk in data.chunks(data.runs(seed, runs), CHUNK):
            await _copy_runs(conn, chunk, datasets)
        for chunk in data.chunks(data.simulations(seed, simulations, runs), CHUNK):
            await _copy_simulations(conn, chunk, datasets)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _copy(conn: asyncpg.Connection, table: str, columns: tuple[str, ...], records: list[Any]) -> None:
    await conn.copy_records_to_table(table, columns=list(columns), records=records)


async def _copy_runs(conn: asyncpg.Connection, chunk: list[data.Run], datasets: dict[str, uuid.UUID]) -> None:
    await _copy(
        conn,
        "walkforward_runs",
        (
            "run_id",
            "dataset_id",
            "dataset_slug",
            "prediction_measurement",
            "status",
            "feature_columns",
            "walk_config",
            "hyperparameters",
            "summary_metrics",
            "fold_count",
            "created_at",
            "tags",
        ),
        [
            (
                r.run_id,
                datasets[r.symbol],
                r.dataset_slug,
                f"{r.dataset_slug}_wf_{r.index}",
                r.status,
                json.dumps(["f1", "f2", "f3"]),
                json.dumps({"folds": data.FOLDS, "train_bars": 5000, "test_bars": 1000}),
                json.dumps(r.hyperparameters),
                json.dumps(r.summary_metrics),
                data.FOLDS,
                r.created_at,
                json.dumps(r.tags),
            )
            for r in chunk
        ],
    )
    await _copy(
        conn,
        "walkforward_folds",
        ("run_id", "fold_number", "train_start", "train_end", "test_start", "test_end", "thresholds", "metrics"),
        [
            (r.run_id, f, f * 1000, f * 1000 + 5000, f * 1000 + 5000, f * 1000 + 6000, "{}", json.dumps(m))
            for r in chunk
            for f, m in enumerate(r.fold_metrics)
        ],
    )
    await _copy(
        conn,
        "stage1_measurement_names",
        ("name", "owner_kind", "owner_id", "state", "created_at"),
        [(f"{r.dataset_slug}_wf_{r.index}", "run", r.run_id, "owned", r.created_at) for r in chunk],
    )


async def _copy_simulations(
    conn: asyncpg.Connection, chunk: list[data.Simulation], datasets: dict[str, uuid.UUID]
) -> None:
    await _copy(
        conn,
        "simulation_runs",
        (
            "simulation_id",
            "run_id",
            "dataset_id",
            "trades_measurement",
            "status",
            "config",
            "summary_metrics",
            "trade_count",
            "created_at",
            "tags",
        ),
        [
            (
                s.simulation_id,
                s.run.run_id,
                datasets[s.run.symbol],
                f"sim_trades_{s.index}",
                "COMPLETED",
                json.dumps(s.config),
                json.dumps(s.summary_metrics),
                s.buckets["all"][0],
                s.run.created_at,
                "{}",
            )
            for s in chunk
        ],
    )
    await _copy(
        conn,
        "simulation_trade_buckets",
        tuple(column.name for column in tables.trade_buckets.c),  # every column, in order
        [
            (s.simulation_id, name, n, wins, n - wins, pnl, pnl / n, pnl / n / 100, abs(pnl), -abs(pnl) / 2)
            for s in chunk
            for name, (n, wins, pnl) in s.buckets.items()
        ],
    )
    await _copy(
        conn,
        "stage1_measurement_names",
        ("name", "owner_kind", "owner_id", "state", "created_at"),
        [(f"sim_trades_{s.index}", "simulation", s.simulation_id, "owned", s.run.created_at) for s in chunk],
    )
