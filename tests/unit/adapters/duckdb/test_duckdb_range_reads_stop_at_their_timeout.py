"""A DuckDB range read that outlives its timeout is stopped and answered as a store timeout; the store reads
on afterwards, and a read within its timeout is whole."""

from __future__ import annotations

from pathlib import Path

import anyio
import duckdb
import pytest
from tests.contract.timeseries_fixtures import read_all

from adapters.duckdb import DuckDBTimeSeriesStore
from application.series_ports import RangeQuery
from domain.errors import StoreTimeout
from domain.values import MeasurementName

pytestmark = pytest.mark.anyio

ROWS = 300_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def shuffled(tmp_path: Path) -> tuple[Path, MeasurementName]:
    """A table the store does not know to be in time order, stored shuffled: every range read sorts it all."""
    path, name = tmp_path / "series.duckdb", MeasurementName("bars_shuffled")
    with duckdb.connect(str(path)) as raw:
        raw.execute(
            f"CREATE TABLE {name} AS SELECT TIMESTAMP '2024-01-01' + to_seconds(i) AS timestamp, "
            f"i::DOUBLE AS close FROM range({ROWS}) r(i) ORDER BY hash(i)"
        )
    return path, name


async def test_a_range_read_past_its_timeout_is_a_store_timeout_and_the_store_reads_on(
    shuffled: tuple[Path, MeasurementName],
) -> None:
    path, name = shuffled
    store = DuckDBTimeSeriesStore(path)
    try:
        with anyio.fail_after(30), pytest.raises(StoreTimeout) as stopped:
            await read_all(store, RangeQuery(name, timeout=0.001))
        assert stopped.value.details == {"timeout": 0.001}

        table, _ = await read_all(store, RangeQuery(name, limit=3, timeout=60))
    finally:
        await store.close()
    assert table.column("close").to_pylist() == [0.0, 1.0, 2.0]
