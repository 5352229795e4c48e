"""Fixtures and frame builders for the time-series store contract suite (memory, DuckDB, QuestDB)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import pyarrow as pa
import pytest

from adapters.duckdb import DuckDBTimeSeriesStore
from adapters.memory.timeseries import InMemoryTimeSeriesStore
from adapters.questdb import QuestDBTimeSeriesStore
from application.series_ports import RangeQuery, TimeSeriesStore
from domain.values import MeasurementName

QUESTDB_HTTP_ENV = "STAGE1_TEST_QUESTDB_HTTP"
QUESTDB_PG_ENV = "STAGE1_TEST_QUESTDB_PG"

HOUR_NS = 3_600 * 10**9
MINUTE_NS = 60 * 10**9
# 2024-01-01T00:00:00Z
START_NS = 1_704_067_200 * 10**9

STORE_KINDS = ["memory", "duckdb", pytest.param("questdb", marks=pytest.mark.questdb)]


def questdb_urls() -> tuple[str, str]:
    http, pg = os.environ.get(QUESTDB_HTTP_ENV), os.environ.get(QUESTDB_PG_ENV)
    if not http or not pg:
        pytest.fail(
            f"{QUESTDB_HTTP_ENV} and {QUESTDB_PG_ENV} must be set: run scripts/services.sh up and "
            "source .testenv/env.sh"
        )
    return http, pg


def make_store(kind: str, folder: Path) -> TimeSeriesStore:
    if kind == "memory":
        return InMemoryTimeSeriesStore()
    if kind == "duckdb":
        return DuckDBTimeSeriesStore(folder / "series.duckdb")
    http, pg = questdb_urls()
    return QuestDBTimeSeriesStore(http, pg_url=pg, request_timeout=30.0)


@dataclass
class Harness:
    """A store under test plus the measurement names a test made, dropped afterwards."""

    kind: str
    store: TimeSeriesStore
    made: list[str] = field(default_factory=list)

    def name(self, stem: str = "m", prefix: str | None = None) -> MeasurementName:
        name = f"{prefix or 'ct_'}{stem}_{uuid4().hex[:10]}"
        self.made.append(name)
        return MeasurementName(name)

    async def cleanup(self) -> None:
        for name in self.made:
            await self.store.drop(MeasurementName(name))
        await self.store.close()


def ohlcv(rows: int, start_ns: int = START_NS, step_ns: int = MINUTE_NS, seed: float = 0.0) -> pa.Table:
    """A deterministic OHLCV frame: bar i opens at 100 + i (+ seed)."""
    opens = [100.0 + index + seed for index in range(rows)]
    return pa.table(
        {
            "timestamp": pa.array([start_ns + index * step_ns for index in range(rows)], pa.timestamp("ns")),
            "open": opens,
            "high": [value + 2.0 for value in opens],
            "low": [value - 1.0 for value in opens],
            "close": [value + 0.5 for value in opens],
            "volume": [float(10 + index % 7) for index in range(rows)],
        }
    )


async def stream(table: pa.Table, rows_per_batch: int = 1_000) -> AsyncIterator[pa.RecordBatch]:
    for batch in table.to_batches(max_chunksize=rows_per_batch):
        yield batch


async def stream_batches(batches: Iterable[pa.RecordBatch]) -> AsyncIterator[pa.RecordBatch]:
    for batch in batches:
        yield batch


async def read_all(store: TimeSeriesStore, query: RangeQuery) -> tuple[pa.Table, int]:
    """Every row a read yields, and how many non-empty batches it came in."""
    batches = [batch async for batch in store.read(query)]
    return pa.Table.from_batches(batches), sum(1 for batch in batches if batch.num_rows)


async def export_text(store: TimeSeriesStore, query: RangeQuery, ts_unit: str) -> str:
    return b"".join([chunk async for chunk in store.export_csv(query, ts_unit)]).decode("utf-8")
